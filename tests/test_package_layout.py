"""The package's layering, read from the source with `ast` (nothing is imported, no TensorFlow).

1. argparse is CLI code: only ``keras_style/cli/`` imports it or builds parsers (``add_parser``,
   ``add_subparsers``, ``add_argument`` calls); method and convert folders are library code
   (CONTRIBUTING.md, item 5).
2. One direction between methods and converters: a converter builds a method's model, so
   ``keras_style/convert/`` may import ``keras_style.methods``; ``keras_style/methods/`` never
   imports ``keras_style.convert`` (no import cycle between them).
3. Low-level modules do not import the top-level package to reach what ``keras_style/__init__.py``
   re-exports (``import keras_style as ks; ks.get``): they import the submodule that defines it
   (``from keras_style.registry import get``). Only ``keras_style/__init__.py`` and
   ``keras_style/cli/`` may import the package itself. ``from keras_style import weights`` is
   fine: ``weights`` is a submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "keras_style"


def _modules(root):
    """(dotted module name, path, parsed tree) of every .py file under the package ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_pkg else parts)
        out.append((name, is_pkg, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return out


def _imports(name, is_pkg, tree):
    """(line, imported module, imported names or None) for every import in ``tree``; relative
    imports are resolved against the module ``name``."""
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None, alias.asname
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module, [a.name for a in node.names], None


def _is_submodule(root, name):
    """Whether ``keras_style.<name>`` is a module file or a subpackage of the package ``root``."""
    return (root / f"{name}.py").is_file() or (root / name / "__init__.py").is_file()


def _rel(path, root):
    return path.relative_to(root.parent).as_posix()


_PARSER_CALLS = ("add_parser", "add_subparsers", "add_argument", "add_argument_group")


def argparse_outside_cli(root=PACKAGE):
    found = []
    for name, is_pkg, path, tree in _modules(root):
        if name == "keras_style.cli" or name.startswith("keras_style.cli."):
            continue
        for line, module, _names, _as in _imports(name, is_pkg, tree):
            if module == "argparse" or module.startswith("argparse."):
                found.append(f"{_rel(path, root)}:{line} imports argparse")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _PARSER_CALLS
            ):
                found.append(f"{_rel(path, root)}:{node.lineno} calls {node.func.attr}()")
    return found


def methods_importing_convert(root=PACKAGE):
    """The forbidden direction: keras_style.methods -> keras_style.convert."""
    found = []
    for name, is_pkg, path, tree in _modules(root):
        if not name.startswith("keras_style.methods"):
            continue
        for line, module, names, _as in _imports(name, is_pkg, tree):
            hit = module == "keras_style.convert" or module.startswith("keras_style.convert.")
            hit = hit or (module == "keras_style" and "convert" in (names or []))
            if hit:
                found.append(f"{_rel(path, root)}:{line} imports keras_style.convert")
    return found


def top_level_imports(root=PACKAGE):
    found = []
    for name, is_pkg, path, tree in _modules(root):
        if name in ("keras_style", "keras_style.cli") or name.startswith("keras_style.cli."):
            continue
        for line, module, names, asname in _imports(name, is_pkg, tree):
            where = f"{_rel(path, root)}:{line}"
            if names is None and module == "keras_style":
                found.append(f"{where} import keras_style{f' as {asname}' if asname else ''}")
            elif names is not None and module == "keras_style":
                for n in names:
                    if n == "*" or not _is_submodule(root, n):
                        found.append(f"{where} from keras_style import {n} (not a submodule)")
    return found


CHECKS = [argparse_outside_cli, methods_importing_convert, top_level_imports]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_package_layout(check):
    found = check()
    assert not found, "\n".join(found)


def _write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_checks_catch_each_violation(tmp_path):
    """The checks fail on a tree that breaks each rule (and not on the allowed forms)."""
    root = tmp_path / "keras_style"
    _write(root, "__init__.py", "import keras_style.registry\nfrom keras_style.registry import get\n")
    _write(root, "registry.py", "def get(name):\n    return name\n")
    _write(root, "weights.py", "")
    _write(root, "cli/__init__.py", "import argparse\nimport keras_style as ks\n")
    _write(root, "convert/__init__.py", "")
    _write(root, "convert/adain.py", '"""import keras_style as ks"""\nfrom keras_style.methods.adain import model\n')
    _write(root, "methods/__init__.py", "")
    _write(root, "methods/adain/__init__.py", "from . import model\n")
    _write(root, "methods/adain/adain.py", "from keras_style import weights\nfrom keras_style.registry import get\n")
    assert [c(root) for c in CHECKS] == [[], [], []]

    _write(root, "methods/adain/cli.py", "from argparse import ArgumentParser\n")
    _write(root, "convert/johnson.py", "def add_convert_parser(sub):\n    p = sub.add_parser('j')\n")
    _write(root, "methods/adain/train.py", "def f():\n    from ...convert.adain import model\n")
    _write(root, "methods/johnson/__init__.py", "from keras_style import convert\n")
    _write(root, "data/__init__.py", "import keras_style as ks\nfrom keras_style import get, weights\n")
    _write(root, "video.py", "def f():\n    import keras_style\n")
    assert argparse_outside_cli(root) == [
        "keras_style/convert/johnson.py:2 calls add_parser()",
        "keras_style/methods/adain/cli.py:1 imports argparse",
    ]
    assert methods_importing_convert(root) == [
        "keras_style/methods/adain/train.py:2 imports keras_style.convert",
        "keras_style/methods/johnson/__init__.py:1 imports keras_style.convert",
    ]
    assert top_level_imports(root) == [
        "keras_style/data/__init__.py:1 import keras_style as ks",
        "keras_style/data/__init__.py:2 from keras_style import get (not a submodule)",
        "keras_style/video.py:2 import keras_style",
    ]
