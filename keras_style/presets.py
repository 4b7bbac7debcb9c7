"""Pretrained models by name: manifests with ``"preset": true`` become model entries.

``keras_style.get("johnson_great_wave")`` builds the model named in the manifest's
``loads_into`` with its ``config`` and loads the resolved (sha256-checked) weights file.
``load(name_or_path)`` also accepts a ``.keras`` file.
"""

from __future__ import annotations

from pathlib import Path

from keras_style import weights as _weights
from keras_style.errors import ConfigError
from keras_style.registry import _ENTRIES, register_object


def build(name: str, load_weights: bool = True, **overrides):
    """Build the model of preset ``name`` (``overrides`` update its config)."""
    from keras_style.registry import get

    m = _weights.manifest(name)
    target = m["loads_into"]
    config = dict(target.get("config") or {})
    config.update(overrides)
    model = get(target["name"], **config)
    if load_weights:
        path = _weights.resolve(name)
        if hasattr(model, "load_preset_weights"):
            model.load_preset_weights(str(path))
        else:
            model.load_weights(str(path))
    return model


def load(name_or_path, **overrides):
    """A ready model from a ``.keras`` file, a preset name or a registry name."""
    p = Path(str(name_or_path)).expanduser()
    if str(name_or_path).endswith(".keras") or p.is_file():
        if not p.is_file():
            from keras_style.errors import WeightsUnavailableError

            raise WeightsUnavailableError(f"Model file {p} does not exist.")
        if p.suffix != ".keras":
            raise ConfigError(
                f"{p} is not a .keras model file; weights files (.h5/.pth) need their "
                "model: use a preset name or `keras-style convert` first."
            )
        import keras

        # every serializable class is registered: importing this module ran keras_style/__init__.py
        try:
            return keras.saving.load_model(str(p), compile=False)
        except Exception as e:
            raise ConfigError(
                f"Could not load {p} as a keras_style model ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:300]})."
            ) from e
    name = str(name_or_path)
    if name in _weights.names() and _weights.manifest(name).get("preset"):
        return build(name, **overrides)
    from keras_style.registry import get

    return get(name, **overrides)


def register_presets() -> list[str]:
    """Register every preset manifest as a ``preset`` entry (idempotent)."""
    done = []
    for name in _weights.names():
        m = _weights.manifest(name)
        if not m.get("preset") or name in _ENTRIES:
            continue

        def factory(_name=name, **kw):
            return build(_name, **kw)

        register_object(
            name,
            "preset",
            factory,
            summary=m["description"],
            paper=m.get("paper"),
            notes=f"Pretrained preset: {m['loads_into']['name']} with weights {name!r} "
            f"(license: {m['license']}).",
            test_config={"load_weights": True},
        )
        done.append(name)
    return done


__all__ = ["build", "load", "register_presets"]
