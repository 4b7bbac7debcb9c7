"""The ``keras-style`` command line.

Each sub-command lives in a module of this package that defines ``add_parsers(sub)``;
add a module name to ``COMMAND_MODULES`` to add commands.  Exit codes: 0 success,
2 usage error (argparse), 1 runtime error with a one-line message (``--debug`` shows
the traceback).

``--version``, ``--help`` and usage errors are answered before TensorFlow loads
(``_startup.py``), so a command module must be light: at import and in ``add_parsers`` it
imports only the standard library, ``keras_style.cli``, ``keras_style.errors`` and
``keras_style.saving`` (itself standard library only); heavy imports go
in the function that runs the command. A module whose parsers need the package (``train``,
``convert``, ...) defines ``COMMANDS = {name: help}``: those names appear in the
top-level help without importing it, and their own ``--help`` loads the package. All argparse
code of the package lives here; method and convert folders are library code only.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

COMMAND_MODULES = [
    "keras_style.cli.registry_cmds",
    "keras_style.cli.weights_cmds",
    "keras_style.cli.stylize_cmds",
    "keras_style.cli.train_cmds",
    "keras_style.cli.convert_cmds",
    "keras_style.cli.video_cmds",
    "keras_style.cli.upscale_cmds",
    "keras_style.cli.image_cmds",
    "keras_style.cli.augment_cmds",
    "keras_style.cli.finetune_cmds",
    "keras_style.cli.denoise_cmds",
    "keras_style.cli.dream_cmds",
    "keras_style.cli.sheet_cmds",
    "keras_style.cli.export_cmds",
]


_RST = [
    (re.compile(r"``([^`]+)``"), r"\1"),  # ``literal``
    (re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"),  # :func:`name`
    (re.compile(r"`([^`<]+?)(?: <[^>]+>)?`_{0,2}"), r"\1"),  # `text <url>`_ and `name`
    (re.compile(r"::$", re.M), ":"),
]


def plain_text(text: str) -> str:
    """Help text without reStructuredText / Markdown markup (docstrings are written in it)."""
    for pattern, repl in _RST:
        text = pattern.sub(repl, text)
    return text


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose help has no RST markup; sub-command parsers are of this class too."""

    def format_help(self):
        return plain_text(super().format_help())

    def format_usage(self):
        return plain_text(super().format_usage())


def _command_of(argv):
    """The first positional argument (the command), skipping the global options."""
    for a in argv or []:
        if not a.startswith("-"):
            return a
    return None


def build_parser(argv=None, *, light: bool = False):
    """The full parser; with ``light=True`` one built without importing Keras or TensorFlow.

    The light parser has the real sub-parsers of the light modules and stubs for the commands
    in a module's ``COMMANDS``; it is None when ``argv`` selects one of those (its parser needs
    the full package) or when a module fails to build without it.
    """
    from keras_style import __version__

    parser = Parser(
        prog="keras-style",
        description="Classic image-transformation methods as one Keras 3 model zoo.",
    )
    parser.add_argument("--version", action="version", version=f"keras-style {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    selected = _command_of(argv)
    for name in COMMAND_MODULES:
        if not light:
            importlib.import_module(name).add_parsers(sub)
            continue
        try:
            mod = importlib.import_module(name)
            stubs = getattr(mod, "COMMANDS", None)
            if stubs is None:
                mod.add_parsers(sub)
                continue
            if selected in stubs:
                return None
            for command, text in stubs.items():
                stub = sub.add_parser(command, help=text, add_help=False)
                stub.add_argument("rest", nargs=argparse.REMAINDER)
        except Exception:
            return None
    return parser


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return msg or type(e).__name__


def _quiet_python_logging():
    """No TensorFlow / absl Python log lines, and no Keras warnings that are not the user's."""
    import logging
    import warnings

    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # keras_style.data pipelines shuffle themselves; fit()'s default shuffle=True only warns
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from keras_style.cli._startup import quiet_tensorflow_env, wants_debug

    debug = wants_debug(argv) or "--debug" in argv
    if not debug:
        quiet_tensorflow_env()  # in-process callers; the console script did it before import
        _quiet_python_logging()
    parser = build_parser(argv)
    args = parser.parse_args(argv)  # exits 2 on usage errors
    from keras_style.errors import KerasStyleError

    try:
        rc = args.func(args)
        return int(rc or 0)
    except KeyboardInterrupt:
        print("keras-style: interrupted", file=sys.stderr)
        return 130
    except (KerasStyleError, FileNotFoundError, PermissionError, IsADirectoryError) as e:
        if debug:
            raise
        print(f"keras-style: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:  # anything unexpected still gets one line
        if debug:
            raise
        print(
            f"keras-style: error: {type(e).__name__}: {_one_line(e)} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def entry_point():  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
