"""`keras-style upscale`: super-resolution with a johnson_sr model (issue 4)."""

from __future__ import annotations


def add_parsers(sub):
    from keras_style.methods.johnson.cli import add_upscale_parser

    add_upscale_parser(sub)
