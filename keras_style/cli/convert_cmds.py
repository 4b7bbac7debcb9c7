"""`keras-style convert <kind>`: official checkpoints -> Keras models."""

from __future__ import annotations

from keras_style.cli._collect import hooks

CONVERT_MODULES = [
    "keras_style.convert.johnson",
    "keras_style.convert.adain",
    "keras_style.convert.style_aware",
]


COMMANDS = {"convert": "convert official checkpoints to .keras models"}


def add_parsers(sub):
    p = sub.add_parser("convert", help="convert official checkpoints to .keras models")
    csub = p.add_subparsers(dest="convert_kind", metavar="KIND")
    csub.required = True
    for add in hooks(CONVERT_MODULES, "add_convert_parser"):
        add(csub)
