"""`keras-style finetune`: the parser lives with the method (keras_style/methods/finetune/cli.py)."""

from __future__ import annotations

# the help of that parser, for the top-level help without importing it (a test keeps them equal)
COMMANDS = {
    "finetune": "fine-tune a keras.applications backbone on an image folder (one sub-folder per class)"
}


def add_parsers(sub):
    from keras_style.cli._train_guard import guard_parsers
    from keras_style.methods.finetune.cli import add_finetune_parser

    add_finetune_parser(sub)
    guard_parsers(sub.choices["finetune"])  # no model written after 0 steps or with NaN/Inf weights
