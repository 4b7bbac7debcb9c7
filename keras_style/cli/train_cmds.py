"""`keras-style train <method>`: each trainable method adds its own sub-command."""

from __future__ import annotations

from keras_style.cli._collect import hooks

# one module per method: train johnson / johnson-sr, train adain, train style_aware
TRAIN_MODULES = [
    "keras_style.cli.train_johnson",
    "keras_style.cli.train_adain",
    "keras_style.cli.train_style_aware",
]


# the top-level help without importing the method packages (keras_style.cli docstring)
COMMANDS = {"train": "train a method's model with model.fit"}


def add_parsers(sub):
    p = sub.add_parser("train", help="train a method's model with model.fit")
    tsub = p.add_subparsers(dest="train_method", metavar="METHOD")
    tsub.required = True
    for add in hooks(TRAIN_MODULES, "add_train_parser"):
        add(tsub)
    from keras_style.cli._train_guard import guard_parsers

    guard_parsers(p)  # no model written after 0 steps or with NaN/Inf weights
