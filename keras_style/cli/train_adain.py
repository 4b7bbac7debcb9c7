"""`keras-style train adain`: train an AdaIN decoder with model.fit.

```
keras-style train adain --content coco/ --style wikiart/ --vgg vgg_normalised.pth \\
    --steps 160000 -o adain.keras
keras-style train adain --content photos/ --style paintings/ --encoder vgg16 \\
    --encoder-weights vgg16_hed_bsds500 --image-size 64 --load-size 96 --steps 200 -o demo.keras
```
"""

from __future__ import annotations

from keras_style.errors import ConfigError
from keras_style.saving import check_keras_path, save_model_atomic


def add_train_parser(sub):
    p = sub.add_parser(
        "adain",
        help="train an AdaIN decoder (Huang & Belongie 2017) on content x style folders",
        description=(
            "Train the AdaIN decoder with the official defaults (Adam 1e-4, inverse-time decay "
            "5e-5, batch 8, shorter side 512 then random 256 crops, style weight 10 with the "
            "PyTorch-port losses). The encoder is frozen: give its weights."
        ),
    )
    p.add_argument("--content", required=True, help="folder of content photos (MS-COCO)")
    p.add_argument("--style", required=True, help="folder of style images (WikiArt)")
    p.add_argument(
        "--steps", type=int, required=True, help="training iterations (official: 160000)"
    )
    p.add_argument("-o", "--output", required=True, help="output .keras model")
    p.add_argument(
        "--encoder", default="vgg19_normalised", choices=["vgg19_normalised", "vgg19", "vgg16"]
    )
    p.add_argument("--vgg", help="vgg_normalised.pth for the vgg19_normalised encoder")
    p.add_argument(
        "--encoder-weights", help="backbone weights for vgg16/vgg19, e.g. vgg16_hed_bsds500"
    )
    p.add_argument("--init", help="start from a model: weights name or .keras/.weights.h5 path")
    p.add_argument("--image-size", type=int, default=256, help="crop size (default 256)")
    p.add_argument("--load-size", type=int, default=512, help="shorter side before cropping (512)")
    p.add_argument("--resize", choices=["shorter", "square"], default="shorter")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--lr-decay", type=float, default=5e-5)
    p.add_argument("--decoder-width", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--checkpoint-every", type=int, default=0, help="save every N steps (0: end only)"
    )
    p.add_argument(
        "--preview-every", type=int, default=0, help="save a preview grid every N steps (0: never)"
    )
    p.add_argument("--preview-dir", default=None, help="default: <output>_previews/")
    p.add_argument("--preview-size", type=int, default=128)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=train_cli)
    return p


def train_cli(args):
    import keras

    import keras_style as ks
    from keras_style.methods.adain.adain import adain_learning_rate

    out = check_keras_path(args.output, overwrite=args.overwrite)
    if args.steps < 1:
        raise ConfigError("--steps must be >= 1.")
    if args.encoder == "vgg19_normalised":
        if args.encoder_weights:
            raise ConfigError(
                "--encoder-weights is for vgg16/vgg19; use --vgg for vgg19_normalised."
            )
        if not args.vgg and not args.init:
            raise ConfigError(
                "The vgg19_normalised encoder needs its weights: --vgg vgg_normalised.pth "
                "(pytorch-AdaIN release) or --init adain_vgg19_coco_wikiart. For an offline "
                "demo use --encoder vgg16 --encoder-weights vgg16_hed_bsds500."
            )
    elif args.vgg:
        raise ConfigError("--vgg is for --encoder vgg19_normalised.")
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    preview_styles = None
    if args.preview_every > 0:
        from keras_style.data.folders import list_image_files

        preview_styles = list_image_files(args.style)[:2]
    model = ks.get(
        "adain",
        preview_styles=preview_styles,
        encoder=args.encoder,
        encoder_weights=args.encoder_weights,
        weights=args.init,
        decoder_width=args.decoder_width,
        style_weight=args.style_weight,
        content_weight=args.content_weight,
    )
    if args.vgg:
        from keras_style.convert.adain import load_vgg_normalised

        load_vgg_normalised(model.encoder, args.vgg)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=adain_learning_rate(args.learning_rate, args.lr_decay), epsilon=1e-8
        )
    )
    ds = ks.data.content_style_pairs(
        args.content,
        args.style,
        image_size=args.image_size,
        batch_size=args.batch_size,
        load_size=args.load_size,
        resize=args.resize,
        seed=args.seed,
        repeat=True,
    )
    chunk = args.checkpoint_every if args.checkpoint_every > 0 else args.steps
    epochs = -(-args.steps // chunk)
    from keras_style.callbacks import ResumableBackup

    # a rerun of the same command resumes from the last chunk of --checkpoint-every steps
    callbacks = [ResumableBackup(str(out.with_suffix("")) + ".backup", verbose=0 if args.quiet else 1)]
    if args.checkpoint_every > 0:

        class _Save(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                save_model_atomic(self.model, out)

        callbacks.append(_Save())
    if args.preview_every > 0:
        from keras_style.data.folders import list_image_files

        callbacks.append(
            ks.get(
                "stylized_preview",
                images=list_image_files(args.content)[:4],
                every_n_steps=args.preview_every,
                directory=args.preview_dir or str(out.with_suffix("")) + "_previews",
                size=args.preview_size,
            )
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.fit(
        ds,
        epochs=epochs,
        steps_per_epoch=chunk,
        callbacks=callbacks,
        verbose=0 if args.quiet else 1,
    )
    save_model_atomic(model, out)
    if not args.quiet:
        print(f"wrote {out}")
    return 0


__all__ = ["add_train_parser", "train_cli"]
