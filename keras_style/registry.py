"""The one registry behind ``keras_style.get``.

Every method, network, preset, backbone, layer, loss, metric, callback and augmentation
that keras_style offers is an *entry*: a snake_case name (case-insensitive, with aliases),
a kind, a factory (usually the class) and a tiny ``test_config`` with which the registry
sweep test builds it.

Kinds (docs/design.md, "Registry"):

* ``method``: a style-transfer / image method class that trains and/or stylizes
  (``johnson``, ``adain``, ``gatys``, ``deepdream``, ``finetune``, ...).
* ``network``: a bare architecture that a method wraps (``johnson_transformer``,
  ``multistyle_network``, ``rrdbnet``, ``waifu2x_upconv7``, ...).
* ``preset``: builds a method or network with pretrained weights (``johnson_great_wave``,
  ``multistyle_26``, ``realesrgan_x4plus``, ...).
* ``backbone``, ``layer``, ``loss``, ``metric``, ``callback``, ``augmentation``.

The old kind ``"model"`` is a deprecated alias of method + network + preset: accepted by
`register` (stored as ``method``), `names` and ``keras-style list --kind model`` with a
``DeprecationWarning``.  Third-party packages add entries through the entry-point group
``keras_style.plugins`` (see ``load_plugins``).

Examples:

```python
import keras_style as ks
ks.names(kind="loss")
loss = ks.get("gram_style", layers=["relu1_1"])
ks.describe("gram_style")["paper"]
```
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import inspect
import re
import threading
import warnings
from collections.abc import Callable
from typing import Any

from keras_style.errors import ConfigError, RegistryError, UnknownNameError

KINDS = (
    "method",
    "network",
    "preset",
    "backbone",
    "layer",
    "loss",
    "metric",
    "callback",
    "augmentation",
)
# Deprecated kind names -> the kinds they stand for (accepted for one release).
DEPRECATED_KINDS = {"model": ("method", "network", "preset")}
MODEL_KINDS = DEPRECATED_KINDS["model"]
PLUGIN_GROUP = "keras_style.plugins"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_.]*$")


@dataclasses.dataclass
class Entry:
    """One registry entry."""

    name: str
    kind: str
    factory: Callable[..., Any]
    aliases: tuple = ()
    test_config: dict | None = None
    summary: str = ""
    paper: str | None = None
    notes: str | None = None
    defaults: dict | None = None

    def build(self, **kwargs):
        return self.factory(**kwargs)


_ENTRIES: dict[str, Entry] = {}
_ALIASES: dict[str, str] = {}
_LOCK = threading.RLock()
_PLUGINS_LOADED = False
_PLUGIN_ERRORS: dict[str, str] = {}
# Lazily-populated namespaces: prefix -> {"populate": fn, "kind": str|None, "state": ...}
_NAMESPACES: dict[str, dict] = {}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _summary_of(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _defaults_of(factory) -> dict:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return {}
    out = {}
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        out[p.name] = None if p.default is inspect.Parameter.empty else p.default
    return out


def _warn_deprecated_kind(kind: str, stacklevel: int = 3) -> None:
    new = DEPRECATED_KINDS[kind]
    warnings.warn(
        f"Registry kind {kind!r} is deprecated; it now means {' + '.join(new)}. Use one of "
        f"{', '.join(repr(k) for k in new)} (a trainable method class, a bare architecture, "
        "or an entry that loads pretrained weights).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _check_kind(kind, stacklevel: int = 4) -> tuple:
    """-> the kinds ``kind`` selects; warns for a deprecated kind, raises for an unknown one."""
    if kind in DEPRECATED_KINDS:
        _warn_deprecated_kind(kind, stacklevel)
        return DEPRECATED_KINDS[kind]
    if kind not in KINDS:
        raise ConfigError(f"Unknown registry kind {kind!r}; use one of {', '.join(KINDS)}.")
    return (kind,)


def register_object(
    name: str,
    kind: str,
    factory: Callable[..., Any],
    *,
    aliases=(),
    test_config: dict | None = None,
    summary: str | None = None,
    paper: str | None = None,
    notes: str | None = None,
) -> Entry:
    """Register ``factory`` (a class or a function) under ``name``; returns the entry.

    Raises `RegistryError` when the name or an alias is taken, and `ConfigError` for
    an unknown kind.  The deprecated kind ``"model"`` is stored as ``"method"``.
    """
    kind = _check_kind(kind)[0]
    key = _normalise(name)
    if not _NAME_RE.match(key):
        raise RegistryError(
            f"Registry name {name!r} is not snake_case (letters, digits, '_' and '.')."
        )
    alias_keys = tuple(_normalise(a) for a in aliases)
    with _LOCK:
        for k in (key, *alias_keys):
            if k in _ENTRIES or k in _ALIASES:
                owner = _ALIASES.get(k, k)
                raise RegistryError(
                    f"{k!r} is already registered (by {owner!r}, kind "
                    f"{_ENTRIES[owner].kind}); choose another name or alias."
                )
        entry = Entry(
            name=key,
            kind=kind,
            factory=factory,
            aliases=alias_keys,
            test_config=dict(test_config) if test_config is not None else None,
            summary=summary if summary is not None else _summary_of(factory),
            paper=paper,
            notes=notes,
        )
        _ENTRIES[key] = entry
        for a in alias_keys:
            _ALIASES[a] = key
    return entry


def register(
    name: str,
    kind: str,
    aliases=(),
    test_config: dict | None = None,
    *,
    summary: str | None = None,
    paper: str | None = None,
    notes: str | None = None,
):
    """Class/function decorator: ``@register("gram_style", "loss", test_config={...})``."""
    if kind in DEPRECATED_KINDS:  # warn at the caller's line, not at the decorated class
        _warn_deprecated_kind(kind, stacklevel=3)
        kind = DEPRECATED_KINDS[kind][0]

    def decorator(obj):
        register_object(
            name,
            kind,
            obj,
            aliases=aliases,
            test_config=test_config,
            summary=summary,
            paper=paper,
            notes=notes,
        )
        return obj

    return decorator


def unregister(name: str) -> None:
    """Remove an entry and its aliases (for tests and plugin development)."""
    with _LOCK:
        key = _resolve_key(name, load=False)
        entry = _ENTRIES.pop(key)
        for a in entry.aliases:
            _ALIASES.pop(a, None)


def load_plugins(force: bool = False) -> dict[str, str]:
    """Load the ``keras_style.plugins`` entry points once; returns {plugin: error}.

    An entry point may name a module (importing it registers its entries) or a
    callable (called with no arguments).  A failing plugin only produces a warning
    that names it; it never breaks keras_style.
    """
    global _PLUGINS_LOADED
    with _LOCK:
        if _PLUGINS_LOADED and not force:
            return dict(_PLUGIN_ERRORS)
        _PLUGINS_LOADED = True
    from importlib import metadata

    try:
        eps = metadata.entry_points(group=PLUGIN_GROUP)
    except Exception as e:  # pragma: no cover - broken metadata on the path
        warnings.warn(f"keras_style: could not list plugins ({e}).", stacklevel=2)
        return {}
    for ep in eps:
        label = f"{ep.name} ({ep.value})"
        try:
            obj = ep.load()
            if callable(obj) and not inspect.ismodule(obj):
                obj()
        except (Exception, SystemExit) as e:  # a plugin calling sys.exit() must not end the process
            if isinstance(e, SystemExit):
                e = RegistryError(f"it called sys.exit({e.code!r})")
            _PLUGIN_ERRORS[label] = f"{type(e).__name__}: {e}"
            warnings.warn(
                f"keras_style plugin {label} failed to load and was skipped: "
                f"{type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )
    return dict(_PLUGIN_ERRORS)


def register_namespace(prefix: str, populate: Callable[[], Any], *, kind: str | None = None) -> None:
    """Declare names ``"<prefix>.<name>"`` that ``populate()`` registers on first need.

    ``populate`` is called once, the first time a name under ``prefix.`` is looked up, or
    ``names()`` is asked for ``kind`` (or for a pattern starting with ``prefix.``); it
    registers its entries with `register_object`.  This keeps optional, slow imports (e.g.
    keras-cv) out of ``import keras_style``.  If it raises, lookups under the prefix re-raise
    that error (its message should say what to install) and ``names()`` skips the namespace.
    """
    key = _normalise(prefix)
    if not _NAME_RE.match(key) or "." in key:
        raise RegistryError(f"Namespace prefix {prefix!r} must be snake_case without dots.")
    if kind is not None:
        kind = _check_kind(kind, stacklevel=4)[0]
    with _LOCK:
        if key in _NAMESPACES:
            raise RegistryError(f"Namespace {key!r} is already registered.")
        _NAMESPACES[key] = {"populate": populate, "kind": kind, "done": False, "error": None}


def _populate_namespace(prefix: str, raise_errors: bool = True) -> None:
    with _LOCK:
        ns = _NAMESPACES[prefix]
        if not ns["done"]:
            ns["done"] = True
            try:
                ns["populate"]()
            except Exception as e:  # remembered: later lookups re-raise it
                ns["error"] = e
    if ns["error"] is not None and raise_errors:
        raise ns["error"]


def _closest(key: str, n: int = 3) -> list[str]:
    pool = sorted(set(_ENTRIES) | set(_ALIASES))
    close = difflib.get_close_matches(key, pool, n=n, cutoff=0.0)
    return close[:n]


def _resolve_key(name: str, load: bool = True) -> str:
    if load:
        load_plugins()
    if not isinstance(name, str):
        raise UnknownNameError(f"Registry names are strings, got {type(name).__name__}.")
    key = _normalise(name)
    with _LOCK:
        if key in _ENTRIES:
            return key
        if key in _ALIASES:
            return _ALIASES[key]
    prefix = key.split(".", 1)[0] if "." in key else None
    if prefix in _NAMESPACES and not _NAMESPACES[prefix]["done"] or (
        prefix in _NAMESPACES and _NAMESPACES[prefix]["error"] is not None
    ):
        _populate_namespace(prefix)
        return _resolve_key(name, load=False)
    with _LOCK:
        close = _closest(key)
    hint = ", ".join(repr(c) for c in close) if close else "none"
    raise UnknownNameError(
        f"Unknown keras_style name {name!r}. Closest names: {hint}. "
        "Run `keras-style list` (or keras_style.names()) to see them all."
    )


def entry(name: str) -> Entry:
    """The `Entry` registered under ``name`` (or one of its aliases)."""
    return _ENTRIES[_resolve_key(name)]


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def names(pattern: str = "*", kind: str | None = None) -> list[str]:
    """Registered names matching the fnmatch ``pattern`` (case-insensitive), naturally sorted.

    ``kind`` keeps one kind (`KINDS`); the deprecated ``"model"`` keeps method + network +
    preset, with a ``DeprecationWarning``.
    """
    load_plugins()
    kinds = None
    if kind is not None:
        try:
            kinds = _check_kind(kind, stacklevel=4)
        except ConfigError:
            raise ConfigError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.") from None
    pat = _normalise(pattern)
    for prefix, ns in list(_NAMESPACES.items()):
        wanted = (kinds is not None and (ns["kind"] is None or ns["kind"] in kinds)) or pat.startswith(prefix + ".")
        if wanted and not ns["done"]:
            _populate_namespace(prefix, raise_errors=False)
    with _LOCK:
        out = [
            n
            for n, e in _ENTRIES.items()
            if (kinds is None or e.kind in kinds) and fnmatch.fnmatchcase(n, pat)
        ]
    return sorted(out, key=_natural_key)


def describe(name: str) -> dict:
    """Kind, one-line summary, paper, aliases, notes and constructor defaults of an entry."""
    e = entry(name)
    return {
        "name": e.name,
        "kind": e.kind,
        "summary": e.summary,
        "paper": e.paper,
        "aliases": list(e.aliases),
        "notes": e.notes,
        "defaults": e.defaults if e.defaults is not None else _defaults_of(e.factory),
        "test_config": e.test_config,
    }


def get(identifier, **overrides):
    """Build a registered object.

    ``identifier`` may be a registered name or alias (``"GRAM_STYLE"`` works), a Keras
    config dict (``{"class_name": ..., "config": {...}}``, where ``class_name`` is a
    registry name or a registered Keras class), a class (instantiated with
    ``overrides``) or an instance (returned unchanged; ``overrides`` are then an error).
    """
    if isinstance(identifier, str):
        e = entry(identifier)
        return e.build(**overrides)
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ConfigError(
                "A config dict needs a 'class_name' key (and usually 'config'), as "
                "produced by keras.saving.serialize_keras_object."
            )
        class_name = identifier["class_name"]
        config = dict(identifier.get("config") or {})
        config.update(overrides)
        try:
            key = _resolve_key(class_name)
        except UnknownNameError:
            key = None
        if key is not None:
            return _ENTRIES[key].build(**config)
        import keras

        try:
            return keras.saving.deserialize_keras_object({**identifier, "config": config})
        except Exception as e:
            raise UnknownNameError(
                f"Could not build {class_name!r} from its config: {e}. Closest "
                f"keras_style names: {', '.join(_closest(_normalise(str(class_name))))}."
            ) from e
    if inspect.isclass(identifier):
        return identifier(**overrides)
    if identifier is None:
        raise ConfigError("keras_style.get() needs a name, a config dict, a class or an instance.")
    if overrides:
        raise ConfigError(
            f"get() received an instance of {type(identifier).__name__} together with "
            f"overrides {sorted(overrides)}; pass a name or config to build a new object."
        )
    return identifier


__all__ = [
    "KINDS",
    "DEPRECATED_KINDS",
    "MODEL_KINDS",
    "Entry",
    "register",
    "register_object",
    "unregister",
    "get",
    "names",
    "describe",
    "entry",
    "load_plugins",
    "register_namespace",
]
