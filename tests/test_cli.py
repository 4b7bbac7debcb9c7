import os
import subprocess
import sys

import pytest

from keras_style.cli import main


def run_cli(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "keras_style.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )


def _stderr_lines(proc):
    # every line counts: the CLI keeps TensorFlow's start-up lines off stderr (cli/_startup.py)
    return [ln for ln in proc.stderr.splitlines() if ln.strip()]


def test_version_and_list(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert "keras-style" in capsys.readouterr().out
    assert main(["list"]) == 0


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["no-such-command"])
    assert ei.value.code == 2


def test_info_unknown_name_is_one_line_exit_1(capsys):
    assert main(["info", "definitely_not_a_name"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Closest names" in err[0]


def test_weights_list_and_info(capsys):
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "vgg16_hed_bsds500" in out and "vgg19_imagenet" in out
    assert main(["weights", "info", "vgg19_imagenet"]) == 0
    assert "253f8cb515780f3b799900260a226db6" in capsys.readouterr().out


def test_bad_weights_file_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"")
    proc = run_cli("weights", "verify", str(tmp_path / "missing.h5"))
    assert proc.returncode == 1
    lines = _stderr_lines(proc)
    assert len(lines) == 1 and "does not exist" in lines[0] and "Traceback" not in proc.stderr


def test_debug_shows_traceback(tmp_path):
    proc = run_cli("--debug", "weights", "verify", str(tmp_path / "missing.h5"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr
