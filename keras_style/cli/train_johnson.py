"""`keras-style train johnson` / `train johnson-sr` (`keras-style upscale` runs the result,
keras_style/cli/upscale_cmds.py).

```
keras-style train johnson --style starry.jpg --data coco/ --epochs 2 -o starry.keras
keras-style train johnson-sr --data photos/ --scale 4 --loss feature --steps 200000 -o sr.keras
keras-style upscale small.png --model sr.keras -o big.png
```
"""

from __future__ import annotations

from keras_style.errors import ConfigError
from keras_style.saving import check_keras_path, save_model_atomic

_NET = ("normalization", "upsampling", "padding", "output")


def _net_options(p, layout=True):
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (paper 1.0)")
    p.add_argument("--normalization", choices=["batch", "instance"], default=None,
                   help="paper: batch; Lua train.lua default: instance")
    p.add_argument("--upsampling", choices=["transposed", "resize_conv"], default=None)
    p.add_argument("--padding", choices=["zero", "reflect"], default=None)
    p.add_argument("--output-activation", dest="output_act", choices=["tanh", "linear"], default=None)
    if layout:
        p.add_argument("--layout", choices=["paper", "padded", "pytorch_examples"], default=None)


def _common(p):
    p.add_argument("--data", required=True, help="folder of training photos (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="output .keras model")
    p.add_argument("--epochs", type=int, default=None, help="passes over the data")
    p.add_argument("--steps", type=int, default=None, help="total training steps (repeats the data)")
    p.add_argument("--batch-size", type=int, default=4, help="paper: 4")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="paper: Adam 1e-3")
    p.add_argument("--weights", default="vgg16_imagenet",
                   help="loss network weights (vgg16_imagenet = paper; vgg16_hed_bsds500 offline; none = random)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--save-every", type=int, default=500,
                   help="with --steps: back up every SAVE_EVERY steps (default 500); with --epochs: "
                   "every epoch. A rerun of the same command resumes from the last backup "
                   "(OUTPUT.backup/, removed when training finishes)")
    p.add_argument("--jit", action="store_true", help="XLA-compile the training step (faster on CPU)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")


def add_train_parser(sub):
    p = sub.add_parser(
        "johnson",
        help="train a Johnson et al. (2016) fast style-transfer network",
        description="Train a transform network for one style with perceptual losses (VGG-16 "
        "relu2_2 content, Gram style at relu1_2/2_2/3_3/4_3, TV), Adam 1e-3, batch 4, 256 px.",
    )
    p.add_argument("--style", required=True, help="the style image")
    p.add_argument("--image-size", type=int, default=256, help="training crop (paper: 256)")
    p.add_argument("--style-size", type=int, default=256, help="style image longer side (Lua: 256)")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=5.0)
    p.add_argument("--tv-weight", type=float, default=1e-6)
    p.add_argument("--preview", nargs="*", default=None, help="images for stylized_preview grids")
    p.add_argument("--preview-every", type=int, default=500)
    _common(p)
    _net_options(p)
    p.set_defaults(func=_train_style)

    q = sub.add_parser(
        "johnson-sr",
        help="train a Johnson et al. (2016) super-resolution network",
        description="x4/x8 super-resolution: 288 px patches, Gaussian blur sigma 1 + bicubic "
        "downsampling, relu2_2 feature loss (or pixel loss), Adam 1e-3, batch 4.",
    )
    q.add_argument("--scale", type=int, choices=[4, 8], default=4)
    q.add_argument("--loss", choices=["feature", "pixel"], default="feature")
    q.add_argument("--patch-size", type=int, default=288, help="paper: 288")
    _common(q)
    _net_options(q, layout=False)
    q.set_defaults(func=_train_sr)


def _check_out(args):
    out = check_keras_path(args.output, overwrite=args.overwrite)
    if args.epochs is None and args.steps is None:
        raise ConfigError("Give --epochs or --steps.")
    for flag, v in (("--epochs", args.epochs), ("--steps", args.steps), ("--save-every", args.save_every)):
        if v is not None and v < 1:
            raise ConfigError(f"{flag} must be a positive integer, got {v}.")
    return out


def _weights(args):
    return None if str(args.weights).lower() == "none" else args.weights


def _net_kwargs(args):
    kw = {"width": args.width}
    for k in _NET:
        v = getattr(args, "output_act" if k == "output" else k)
        if v is not None:
            kw[k] = v
    if getattr(args, "layout", None):
        kw["layout"] = args.layout
    return kw


def _fit(model, data, args, out, callbacks=()):
    import keras

    from keras_style.callbacks import ResumableBackup

    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), jit_compile=args.jit)
    kw = {"epochs": args.epochs or 1}
    if args.steps:
        # whole chunks of --save-every steps, each backed up: a killed run loses one chunk
        chunks = -(-args.steps // min(args.save_every, args.steps))
        kw = {"epochs": chunks, "steps_per_epoch": -(-args.steps // chunks)}
    backup = ResumableBackup(str(out.with_suffix("")) + ".backup", verbose=0 if args.quiet else 1)
    model.fit(data, callbacks=[backup, *callbacks], verbose=0 if args.quiet else 1, **kw)


def _save(model, out):
    save_model_atomic(model, out)
    print(f"wrote {out}")


def _train_style(args):
    import keras

    import keras_style as ks

    out = _check_out(args)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    model = ks.get(
        "johnson", style_image=args.style, style_size=args.style_size, backbone_weights=_weights(args),
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        **_net_kwargs(args),
    )
    data = ks.data.image_folder(args.data, image_size=args.image_size, batch_size=args.batch_size,
                                seed=args.seed, repeat=bool(args.steps))
    cbs = []
    if args.preview:
        cbs.append(ks.get("stylized_preview", images=args.preview, every_n_steps=args.preview_every,
                          directory=str(out.with_suffix("")) + "_previews"))
    _fit(model, data, args, out, cbs)
    _save(model, out)
    return 0


def _train_sr(args):
    import keras

    import keras_style as ks

    out = _check_out(args)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    model = ks.get("johnson_sr", scale=args.scale, loss=args.loss, backbone_weights=_weights(args), **_net_kwargs(args))
    data = ks.data.super_resolution_pairs(args.data, patch_size=args.patch_size, scale=args.scale,
                                          batch_size=args.batch_size, seed=args.seed, repeat=bool(args.steps))
    _fit(model, data, args, out)
    _save(model, out)
    return 0
