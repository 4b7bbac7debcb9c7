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


def check_keras_file(path):
    """ConfigError naming the real problem of a ``.keras`` file that cannot be a model: missing,
    not a zip archive, truncated or corrupt (CRC), or a zip without a Keras model in it."""
    import zipfile
    from pathlib import Path

    from keras_style.errors import ConfigError

    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"Model file {p} does not exist.")
    size = p.stat().st_size
    if size == 0:
        raise ConfigError(f"{p} is empty (0 bytes): an interrupted save or copy. Save or copy it again.")
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            bad = z.testzip()
    except zipfile.BadZipFile:
        with open(p, "rb") as f:
            head = f.read(4)
        if head.startswith(b"PK"):
            raise ConfigError(
                f"{p} is truncated or corrupt ({size:,} bytes; its zip directory is missing): "
                "an interrupted save or download. Save or copy it again."
            ) from None
        raise ConfigError(f"{p} is not a .keras model file (not a zip archive).") from None
    except (OSError, EOFError, RuntimeError) as e:
        raise ConfigError(f"{p} is truncated or corrupt ({type(e).__name__}: {e}).") from None
    if bad is not None:
        raise ConfigError(f"{p} is corrupt: {bad} inside it fails its CRC check. Save or copy it again.")
    if "config.json" not in names:
        raise ConfigError(
            f"{p} is a zip archive but not a Keras model (no config.json in it; it has "
            f"{', '.join(sorted(names)[:5]) or 'nothing'})."
        )
    return p


def check_weights_file(path):
    """Read every tensor of a weights file (.h5 / .weights.h5, or a .keras archive); returns
    (number of tensors, bytes). ConfigError when it is missing, truncated or corrupt."""
    from pathlib import Path

    from keras_style.errors import ConfigError

    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"Weights file {p} does not exist.")
    if p.suffix == ".keras":
        import zipfile

        check_keras_file(p)
        with zipfile.ZipFile(p) as z:
            return len(z.namelist()), p.stat().st_size
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with keras
        raise ConfigError("Checking .h5 files needs h5py (pip install h5py).") from None
    count = 0
    try:
        with h5py.File(p, "r") as f:
            datasets = []
            f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
            for d in datasets:
                d[()]  # reads every chunk: a truncated file fails here
                count += 1
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise ConfigError(
            f"{p} is truncated or corrupt: HDF5 could not read it ({' '.join(str(e).split())[:200]}). "
            "Delete it and convert, download or copy it again."
        ) from None
    if count == 0:
        raise ConfigError(f"{p} holds no weights (an HDF5 file without tensors).")
    return count, p.stat().st_size
