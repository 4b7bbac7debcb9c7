"""Collect per-method CLI hooks (``add_train_parser``, ``add_convert_parser``)."""

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
