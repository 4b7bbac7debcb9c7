"""`keras-style upscale`: super-resolution with a preset or a johnson_sr model."""

from __future__ import annotations

# the help of the parser in keras_style/methods/johnson/cli.py (a test keeps them equal)
COMMANDS = {"upscale": "super-resolve an image (waifu2x_photo x2, realesrgan_x4plus x4, johnson_sr)"}


def add_parsers(sub):
    from keras_style.methods.johnson.cli import add_upscale_parser

    p = add_upscale_parser(sub)
    run = p.get_default("func") if p is not None else None
    if run is not None:
        p.set_defaults(func=_never_random(run))


def _never_random(run):
    """--model must be a preset or a trained file: `--model johnson_sr` would be random weights."""

    def checked(args):
        from keras_style.cli._random_weights import check_model

        if getattr(args, "model", None) and getattr(args, "denoise", None) is None:
            check_model(args.model)
        return run(args)

    return checked
