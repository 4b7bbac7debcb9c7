"""The ``keras-style`` command line.

Each sub-command lives in a module of this package that defines ``add_parsers(sub)``;
add a module name to ``COMMAND_MODULES`` to add commands.  Exit codes: 0 success,
2 usage error (argparse), 1 runtime error with a one-line message (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    "keras_style.cli.denoise_cmds",
    "keras_style.cli.dream_cmds",
]


def build_parser() -> argparse.ArgumentParser:
    from keras_style import __version__

    parser = argparse.ArgumentParser(
        prog="keras-style",
        description="Classic image-transformation methods as one Keras 3 model zoo.",
    )
    parser.add_argument("--version", action="version", version=f"keras-style {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(sub)
    return parser


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return msg or type(e).__name__


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
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
