"""Writing ``.keras`` files so that a crash or a kill never leaves half a model behind.

`save_model_atomic` saves to a temporary file in the destination folder (``.NAME.tmp-PID.keras``,
a hidden name that no glob for ``*.keras`` matches) and renames it into place in one step;
on any failure the temporary file is removed. Every command and converter that writes a
model uses it; `save_weights_atomic` does the same for ``.weights.h5`` files (the converters).
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_style.errors import ConfigError


def check_keras_path(path, overwrite=True, flag="-o"):
    """``path`` as a `Path`; `ConfigError` unless it ends in ``.keras`` (and, with
    ``overwrite=False``, does not exist yet)."""
    out = Path(path)
    if out.suffix != ".keras":
        raise ConfigError(f"{flag} must name a .keras file, got {out}.")
    if not overwrite and out.exists():
        raise ConfigError(f"{out} exists; pass --overwrite to replace it.")
    return out


def _write_atomic(out, suffix, write):
    """``write(temporary path)``, then one rename onto ``out``; the temporary is removed on
    failure. ``suffix`` (``.keras``, ``.weights.h5``) is what Keras needs the name to end in."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name[: -len(suffix)]}.tmp-{os.getpid()}{suffix}")
    try:
        write(str(tmp))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def save_model_atomic(model, path, overwrite=True):
    """``model.save(path)`` through a temporary file and one rename; returns the `Path`."""
    out = check_keras_path(path, overwrite=overwrite)
    return _write_atomic(out, ".keras", model.save)


def save_weights_atomic(model, path):
    """``model.save_weights(path)`` (a ``.weights.h5``) the same way; returns the `Path`."""
    out = Path(path)
    if not out.name.endswith(".weights.h5"):
        raise ConfigError(f"A weights file must end in .weights.h5, got {out.name}.")
    return _write_atomic(out, ".weights.h5", model.save_weights)


__all__ = ["save_model_atomic", "save_weights_atomic", "check_keras_path"]
