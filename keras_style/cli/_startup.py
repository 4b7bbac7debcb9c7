"""What the ``keras-style`` command does before TensorFlow loads.

``keras_style/__init__.py`` calls :func:`before_heavy_imports` first thing. It does nothing
unless this process is the ``keras-style`` command (the console script, or
``python -m keras_style.cli``). Then it

- answers ``--version``, ``--help`` (top level and of every command whose parser is light, see
  ``keras_style.cli.build_parser``) and usage errors right away, without TensorFlow;
- otherwise, unless ``--debug`` is given, sets TensorFlow's logging variables and filters its
  C++ start-up lines (absl pre-init warning, ``cudart_stub``, ``cuInit``, CPU-instruction and
  oneDNN notices) out of stderr. TensorFlow >= 2.16 prints several of them even with
  ``TF_CPP_MIN_LOG_LEVEL=3``, because they are written before absl's logging is initialised, so
  the only way to drop them is at the file descriptor: fd 2 goes through a pipe whose reader
  thread forwards every other byte unchanged.

Only the standard library is imported here.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

_DONE = False
_FILTER = None

# TensorFlow / absl / CUDA start-up noise, one line each.
_NOISE = re.compile(
    rb"^(?:"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] "  # absl / glog C++ line
    rb"|To enable the following instructions: .*rebuild TensorFlow"
    rb"|This TensorFlow binary is optimized to use available CPU instructions"
    rb"|oneDNN custom operations are on"
    rb"|[^\n]*Unable to register cu(?:DNN|FFT|BLAS) factory"
    rb")"
)
_NOISE_STARTS = (
    b"WARNING: All log messages before absl",
    b"To enable the following instructions",
    b"This TensorFlow binary is optimized",
    b"oneDNN custom operations",
)
_ABSL_START = re.compile(rb"^[IWEF]\d{0,4}(?: [\d:.]*(?: +\d*(?: [\w./-]*(?::\d*)?)?)?)?$")


def cli_argv(argv0=None, orig_argv=None):
    """The arguments of the ``keras-style`` command if this process is it, else None."""
    argv0 = sys.argv[0] if argv0 is None and sys.argv else (argv0 or "")
    if os.path.basename(argv0) in ("keras-style", "keras-style.exe", "keras-style-script.py"):
        return list(sys.argv[1:])
    orig = list(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    for i, a in enumerate(orig[:-1]):
        if a == "-m" and orig[i + 1] in ("keras_style.cli", "keras_style.cli.__main__"):
            return orig[i + 2 :]
    return None


def _options_before_command(argv):
    out = []
    for a in argv:
        if not a.startswith("-"):
            break
        out.append(a)
    return out


def wants_debug(argv) -> bool:
    return "--debug" in _options_before_command(argv)


class StderrFilter:
    """Drop TensorFlow's C++ log lines from fd 2; forward everything else as it comes."""

    def __init__(self):
        self._saved = None
        self._thread = None
        self._read = None

    def start(self):
        try:
            sys.stderr.flush()
        except Exception:
            pass
        read, write = os.pipe()
        self._saved = os.dup(2)
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._thread = threading.Thread(target=self._pump, name="keras-style-stderr", daemon=True)
        self._thread.start()
        atexit.register(self.stop)
        return self

    def _emit(self, data: bytes):
        if data:
            try:
                os.write(self._saved, data)
            except OSError:
                pass

    def _pump(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._read, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            out = [ln + b"\n" for ln in lines if not _NOISE.match(ln)]
            # a partial line (progress bars end in \r) goes out at once unless it may be the
            # start of a noise line, which TensorFlow writes whole
            if buf and not self._maybe_noise(buf):
                out.append(buf)
                buf = b""
            self._emit(b"".join(out))
        if buf and not _NOISE.match(buf):
            self._emit(buf)
        try:
            os.close(self._read)
        except OSError:
            pass

    @staticmethod
    def _maybe_noise(partial: bytes) -> bool:
        if _NOISE.match(partial) or _ABSL_START.match(partial):
            return True
        return any(s.startswith(partial) or partial.startswith(s) for s in _NOISE_STARTS)

    def stop(self):
        """Put the real stderr back and let the reader thread drain the pipe."""
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except Exception:
            pass
        os.dup2(self._saved, 2)  # the pipe's last write end in this process closes here
        self._thread.join(timeout=2.0)
        os.close(self._saved)
        self._saved = None


def quiet_tensorflow_env():
    """Environment variables that quiet TensorFlow's own logging (set before it loads)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GLOG_minloglevel", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def _fast_path(argv):
    """Answer --version, --help and usage errors without TensorFlow; return to run a command."""
    before = _options_before_command(argv)
    if "--version" in before:
        from keras_style import __version__

        print(f"keras-style {__version__}")
        sys.exit(0)
    from keras_style.cli import build_parser

    parser = build_parser(argv, light=True)
    if parser is None:  # the command's parser needs the full package
        return
    # exits with the help or a usage error; a valid command line returns and runs
    args = parser.parse_args(argv)
    model = getattr(args, "model", None)
    if getattr(args, "command", None) == "stylize" and str(model or "").lower().endswith(".onnx"):
        _run_onnx_without_keras(args)


def _run_onnx_without_keras(args):
    """``stylize --model FILE.onnx`` in onnxruntime, before Keras or TensorFlow is imported
    (``keras_style/onnx_runtime.py`` needs only numpy, Pillow and onnxruntime)."""
    from keras_style.cli.stylize_cmds import _run_onnx
    from keras_style.errors import KerasStyleError

    try:
        code = _run_onnx(args)
    except (KerasStyleError, OSError) as e:
        if getattr(args, "debug", False):
            raise
        print(f"keras-style: error: {' '.join(str(e).split()) or type(e).__name__}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


def before_heavy_imports():
    """Called by ``keras_style/__init__.py`` before it imports Keras and TensorFlow."""
    global _DONE, _FILTER
    if _DONE:
        return
    _DONE = True
    argv = cli_argv()
    if argv is None:
        return
    if not wants_debug(argv):
        quiet_tensorflow_env()
        if os.environ.get("KERAS_STYLE_NO_STDERR_FILTER") != "1":
            try:
                _FILTER = StderrFilter().start()
            except OSError:
                _FILTER = None
    try:
        _fast_path(argv)
    except SystemExit:
        if _FILTER is not None:
            _FILTER.stop()
        raise
