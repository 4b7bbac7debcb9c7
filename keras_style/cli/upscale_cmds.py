"""`keras-style upscale`: super-resolution with a preset or a johnson_sr model."""

from __future__ import annotations

# the help of the parser in keras_style/methods/johnson/cli.py (a test keeps them equal)
COMMANDS = {"upscale": "super-resolve an image (waifu2x_photo x2, realesrgan_x4plus x4, johnson_sr)"}


def add_parsers(sub):
    from keras_style.methods.johnson.cli import add_upscale_parser

    add_upscale_parser(sub)
