"""`keras-style dream IMAGE -o OUT [--layers relu4_3] [--octaves 4]`: DeepDream."""

from __future__ import annotations

from keras_style.cli._collect import check_input, check_output
from keras_style.errors import ConfigError


def _layers(text):
    """``relu4_3`` or ``relu4_3:1.0,relu5_1:0.5`` -> {name: weight}."""
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, w = part.partition(":")
        try:
            out[name.strip()] = float(w) if w else 1.0
        except ValueError:
            raise ConfigError(f"Bad layer weight in {part!r}; use NAME or NAME:WEIGHT.") from None
    return out


def add_parsers(sub):
    p = sub.add_parser("dream", help="DeepDream: gradient ascent on layer activations with octaves")
    p.add_argument("image", help="input image")
    p.add_argument("-o", "--output", required=True, help="output image")
    p.add_argument("--layers", help="NAME[:WEIGHT],... (default relu4_3 for VGG, mixed4-7 for inception_v3)")
    p.add_argument("--backbone", default="vgg16", choices=["vgg16", "vgg19", "inception_v3"])
    p.add_argument("--weights", default=None,
                   help="backbone weights (default: vgg16_imagenet for vgg16, offline with "
                        "keras-style[offline]; vgg19_imagenet for vgg19 and imagenet for "
                        "inception_v3, downloaded; vgg16_hed_bsds500 = an edge-detection VGG16; "
                        "'none' = random)")
    p.add_argument("--octaves", type=int, default=3, help="number of octaves (default 3)")
    p.add_argument("--octave-scale", type=float, default=1.4)
    p.add_argument("--steps", type=int, default=20, help="ascent steps per octave (default 20)")
    p.add_argument("--step-size", type=float, default=0.005)
    p.add_argument("--size", type=int, help="resize the shorter side first")
    p.add_argument("--seed", type=int)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args):
    import keras_style as ks

    src = check_input(args.image)
    out = check_output(args.output, args.overwrite)
    weights = args.weights
    if weights is None:
        weights = "auto"  # DeepDream.DEFAULT_WEIGHTS: vgg16_imagenet, vgg19_imagenet, imagenet
    elif weights.lower() == "none":
        weights = None
    model = ks.get("deepdream", backbone=args.backbone, backbone_weights=weights)
    result = model.dream(
        str(src),
        layers=_layers(args.layers) if args.layers else None,
        octaves=args.octaves,
        octave_scale=args.octave_scale,
        steps=args.steps,
        step_size=args.step_size,
        size=args.size,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    ks.save_image(result, out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {out}")
    return 0
