"""`keras-style convert <kind>`: official checkpoints -> Keras models.

One sub-command per converter; the conversion itself is library code in ``keras_style/convert/``
(docs/conversions.md). Every output goes through `keras_style.saving` (checked before the
checkpoint is read, written atomically).
"""

from __future__ import annotations

from keras_style.saving import check_keras_path

COMMANDS = {"convert": "convert official checkpoints to .keras models"}


def add_parsers(sub):
    p = sub.add_parser("convert", help="convert official checkpoints to .keras models")
    csub = p.add_subparsers(dest="convert_kind", metavar="KIND")
    csub.required = True
    for add in CONVERT_PARSERS:
        add(csub)


# ----------------------------------------------------------------------------- johnson-pytorch


def add_johnson_parser(sub):
    """``keras-style convert johnson-pytorch candy.pth -o candy.keras``."""
    p = sub.add_parser(
        "johnson-pytorch",
        help="pytorch/examples fast_neural_style .pth -> .keras",
        description="Convert a pytorch/examples fast_neural_style TransformerNet checkpoint "
        "(candy.pth, mosaic.pth, ...) to a .keras johnson model (stylize with "
        "`keras-style stylize photo.jpg --model candy.keras -o out.png`).",
    )
    p.add_argument("checkpoint", help="the .pth / .model state dict")
    p.add_argument("-o", "--output", required=True, help="output .keras file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_run_johnson)
    return p


def _run_johnson(args):
    from keras_style.convert.johnson import johnson_from_torch

    check_keras_path(args.output, overwrite=args.overwrite)
    johnson_from_torch(args.checkpoint, output=args.output, overwrite=args.overwrite)
    print(f"wrote {args.output}")
    return 0


# ----------------------------------------------------------------------------- adain


def add_adain_parser(sub):
    """``keras-style convert adain --decoder decoder.pth --vgg vgg_normalised.pth [-o adain.keras]``."""
    from keras_style.convert.adain import WEIGHTS_NAME

    default = _adain_default_output()
    p = sub.add_parser(
        "adain",
        help="pytorch-AdaIN decoder.pth + vgg_normalised.pth -> .keras",
        description=(
            "Convert the official AdaIN weights (pytorch-AdaIN release v0.0.0: decoder.pth and "
            "vgg_normalised.pth) to a Keras model. Without -o the result goes where "
            f"keras_style.get('adain', weights='{WEIGHTS_NAME}') looks for it ({default})."
        ),
    )
    p.add_argument("--decoder", required=True, help="decoder.pth")
    p.add_argument("--vgg", required=True, help="vgg_normalised.pth")
    p.add_argument("-o", "--output", default=None, help=f"output .keras (default: {default})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_run_adain)
    return p


def _adain_default_output():
    from keras_style import weights as wreg
    from keras_style.convert.adain import WEIGHTS_NAME

    return wreg.home() / f"{WEIGHTS_NAME}.keras"


def _run_adain(args):
    from keras_style.convert.adain import adain_from_torch

    out = check_keras_path(args.output or _adain_default_output(), overwrite=args.overwrite)
    adain_from_torch(args.decoder, args.vgg, output=out, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


# ----------------------------------------------------------------------------- style-aware-tf


def add_style_aware_parser(sub):
    """``keras-style convert style-aware-tf CHECKPOINT_PREFIX -o out.keras``."""
    p = sub.add_parser(
        "style-aware-tf",
        help="official CompVis/adaptive-style-transfer TF checkpoint -> .keras (style_aware)",
        description="Convert an official Sanakoyeu et al. (2018) TF1 checkpoint to a .keras model.",
    )
    p.add_argument("checkpoint", help="checkpoint prefix (…/model.ckpt-300000) or its folder")
    p.add_argument("-o", "--output", required=True, help="output .keras file")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-discriminator", action="store_true", help="skip D (inference only)")
    p.set_defaults(func=_run_style_aware)
    return p


def _run_style_aware(args):
    from keras_style.convert.style_aware import style_aware_from_tf
    from keras_style.saving import save_model_atomic

    out = check_keras_path(args.output, overwrite=args.overwrite)
    model = style_aware_from_tf(args.checkpoint, include_discriminator=not args.no_discriminator)
    save_model_atomic(model, out)
    print(f"wrote {out}")
    return 0


CONVERT_PARSERS = [add_johnson_parser, add_adain_parser, add_style_aware_parser]
