"""Helpers shared by CLI modules: per-method hooks and input/output path checks."""

from __future__ import annotations

import importlib


def hooks(modules, attr):
    """Yield ``module.attr`` for each module that exists and defines it."""
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that method is not part of this install
            raise
        fn = getattr(mod, attr, None)
        if fn is not None:
            yield fn


def check_input(path, what="Image"):
    """The input path as a Path; ConfigError (one CLI line, exit 1) when it is missing."""
    from pathlib import Path

    from keras_style.errors import ConfigError

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} {p} does not exist.")
    return p


def check_output(path, overwrite):
    """The output path as a Path; ConfigError when it exists and overwrite is off."""
    from pathlib import Path

    from keras_style.errors import ConfigError

    p = Path(path)
    if p.exists() and not overwrite:
        raise ConfigError(f"{p} exists; pass --overwrite to replace it.")
    return p
