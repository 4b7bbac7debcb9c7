"""What a new user meets first: a quiet, quick and honest ``keras-style`` command."""

import os
import re
import resource
import subprocess
import sys
import textwrap
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# TensorFlow / absl / CUDA lines a user must not see without --debug
TF_NOISE = re.compile(
    r"absl::InitializeLog|^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|cuInit|cudart_stub|"
    r"rebuild TensorFlow|oneDNN custom operations|This TensorFlow binary",
    re.M,
)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _as_console_script(args, probe=True):
    """Run `keras-style ARGS` the way the console script does (argv[0] = .../keras-style);
    the last stdout line is 'EXIT <code> <tensorflow loaded> <keras loaded>'."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.argv = ["/usr/bin/keras-style", *{list(args)!r}]
        code = 0
        try:
            from keras_style.cli import entry_point
            entry_point()
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()
        print("EXIT", code, "tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT,
        timeout=300,
    )


def _exit_line(proc):
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[0] == "EXIT", proc.stdout[-500:] + proc.stderr[-2000:]
    return last[1], last[2] == "True", last[3] == "True"


@pytest.mark.parametrize(
    "args,code",
    [
        (["--version"], "0"),
        (["--help"], "0"),
        (["stylize", "--help"], "0"),
        (["list", "--help"], "0"),
        (["weights", "verify", "--help"], "0"),
        (["no-such-command"], "2"),
        ([], "2"),
    ],
)
def test_help_version_and_usage_errors_never_import_tensorflow(args, code):
    proc = _as_console_script(args)
    got, tf_loaded, keras_loaded = _exit_line(proc)
    assert got == code, proc.stderr[-2000:]
    assert not tf_loaded and not keras_loaded, f"{args}: TensorFlow/Keras imported"
    assert not TF_NOISE.search(proc.stderr), proc.stderr
    if args == ["--version"]:
        assert proc.stdout.startswith("keras-style ")
    if args == ["--help"]:
        # commands whose parsers live in method packages are listed without importing them
        for command in ("stylize", "train", "convert", "upscale", "finetune", "dream"):
            assert re.search(rf"^\s+{command}\s", proc.stdout, re.M), command


def _cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, capture_output=True, env=_env(), cwd=ROOT, timeout=300, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_help_and_version_are_quick():
    # CPU time, not wall time: this machine is shared; the bare interpreter is the baseline
    base = min(_cpu_seconds([sys.executable, "-c", "import argparse"]) for _ in range(2))
    for args in (["--version"], ["--help"], ["stylize", "--help"]):
        cpu = min(_cpu_seconds([sys.executable, "-m", "keras_style.cli", *args]) for _ in range(2))
        print(f"keras-style {' '.join(args)}: {cpu:.2f} s CPU (interpreter alone {base:.2f} s)")
        assert cpu - base < 0.5, (args, cpu, base)


def test_cli_argv_detection():
    from keras_style.cli._startup import cli_argv

    assert cli_argv("/venv/bin/keras-style", []) is not None
    assert cli_argv("-m", ["python", "-m", "keras_style.cli", "list"]) == ["list"]
    assert cli_argv("/x/pytest", ["python", "-m", "pytest", "-q"]) is None
    assert cli_argv("-c", ["python", "-c", "import keras_style"]) is None


def test_a_real_command_prints_no_tensorflow_lines():
    proc = subprocess.run(
        [sys.executable, "-m", "keras_style.cli", "info", "definitely_not_a_name"],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 1
    assert not TF_NOISE.search(proc.stderr), proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("keras-style: error:"), proc.stderr
    # (--debug, which shows everything: test_cli.test_debug_shows_traceback)


def test_stderr_filter_forwards_everything_else(tmp_path):
    code = textwrap.dedent(
        """
        import importlib.util, os, sys
        # the module alone, without the package (which would load TensorFlow)
        spec = importlib.util.spec_from_file_location("_startup", "keras_style/cli/_startup.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        f = mod.StderrFilter().start()
        os.write(2, b"I0000 00:00:1796161828.296511   17970 cudart_stub.cc:31] Could not find cuda\\n")
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
        sys.stderr.write("keras-style: error: kept\\n"); sys.stderr.flush()
        os.write(2, b"progress 50%\\r")
        f.stop()
        sys.stderr.write("after\\n")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT,
                          env=_env(), timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert err == "keras-style: error: kept\nprogress 50%\rafter\n", repr(err)


def test_help_text_has_no_markup_and_stubs_match_the_real_parsers():
    import argparse

    from keras_style.cli import COMMAND_MODULES, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    import importlib

    for name in COMMAND_MODULES:
        for command, text in getattr(importlib.import_module(name), "COMMANDS", {}).items():
            assert helps[command] == text, f"{name}.COMMANDS[{command!r}] differs from its parser"

    def walk(p):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for child in a.choices.values():
                    yield from walk(child)

    for p in walk(parser):
        text = p.format_help()
        assert "``" not in text and not re.search(r":(func|class|meth):`", text), p.prog


def test_fit_shuffle_warning_is_not_shown_by_the_cli():
    import tensorflow as tf
    from keras.src.trainers.data_adapters import get_data_adapter

    from keras_style.cli import _quiet_python_logging

    ds = tf.data.Dataset.from_tensor_slices(tf.zeros((2, 3))).batch(1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        get_data_adapter(ds, shuffle=True)
    assert any("shuffle=True" in str(w.message) for w in seen), "Keras no longer warns"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _quiet_python_logging()
        get_data_adapter(ds, shuffle=True)
    assert not any("shuffle=True" in str(w.message) for w in seen)


# ------------------------------------------------------------------ never silent random weights


@pytest.fixture
def photo(tmp_path):
    import numpy as np
    from PIL import Image

    p = tmp_path / "photo.jpg"
    Image.fromarray((np.random.default_rng(0).random((40, 48, 3)) * 255).astype("uint8")).save(p)
    return p


def _err(capsys):
    return " ".join(capsys.readouterr().err.split())


def test_adain_without_trained_weights_is_refused(photo, tmp_path, capsys):
    from keras_style.cli import main

    out = tmp_path / "o.png"
    # before: a near-black image from a random decoder, exit 0
    assert main(["stylize", str(photo), "--style", str(photo), "--method", "adain", "-o", str(out)]) == 1
    err = _err(capsys)
    assert "random weights" in err and "--weights adain_vgg19_coco_wikiart" in err
    assert "keras-style weights info adain_vgg19_coco_wikiart" in err and not out.exists()
    # encoder weights alone leave the decoder random
    assert main(["stylize", str(photo), "--style", str(photo), "--method", "adain",
                 "--weights", "vgg16_hed_bsds500", "--encoder", "vgg16", "-o", str(out)]) == 1
    assert "only cover its vgg16" in _err(capsys)


def test_johnson_needs_training_or_a_preset(photo, tmp_path, capsys):
    from keras_style.cli import main

    out = tmp_path / "o.png"
    # before: ValueError: could not convert string to float: 'starry.jpg'
    assert main(["stylize", str(photo), "--method", "johnson", "--style", str(photo), "-o", str(out)]) == 1
    err = _err(capsys)
    assert "must be trained" in err and "--model johnson_great_wave" in err
    assert "keras-style train johnson" in err and "convert string to float" not in err
    # a bare registry name as --model would build the same random network
    assert main(["stylize", str(photo), "--model", "johnson", "-o", str(out)]) == 1
    assert "random weights" in _err(capsys)
    # optimisation methods need their pretrained backbone
    assert main(["stylize", str(photo), "--style", str(photo), "--method", "gatys",
                 "--weights", "none", "-o", str(out)]) == 1
    assert "vgg16_hed_bsds500" in _err(capsys) and not out.exists()


def test_a_preset_with_a_style_says_its_style_is_built_in(photo, tmp_path, capsys):
    from keras_style.cli import main

    out = tmp_path / "o.png"
    assert main(["stylize", str(photo), "--model", "johnson_great_wave", "--style", str(photo),
                 "-o", str(out)]) == 1
    err = _err(capsys)
    assert "style built in" in err and "convert string to float" not in err


# ------------------------------------------------------------------ outputs, folders, stdin/stdout


def test_bad_output_is_refused_before_any_computation(photo, tmp_path, capsys, monkeypatch):
    from keras_style.cli import main, stylize_cmds

    def no_build(args):
        raise AssertionError("the model was built before the output was checked")

    monkeypatch.setattr(stylize_cmds, "_build", no_build)
    for bad in ("out.xyz", "out", "missing_dir/out.png"):
        assert main(["stylize", str(photo), "--style", str(photo), "--method", "gatys",
                     "-o", str(tmp_path / bad)]) == 1, bad
        assert "keras-style: error:" in capsys.readouterr().err
    (tmp_path / "exists.png").write_bytes(b"x")
    assert main(["stylize", str(photo), "--style", str(photo), "--method", "gatys",
                 "-o", str(tmp_path / "exists.png")]) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_folder_run_skips_bad_files_and_finishes(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from keras_style.cli import main

    src = tmp_path / "in"
    src.mkdir()
    for n in "ac":
        Image.fromarray((np.random.default_rng(1).random((32, 40, 3)) * 255).astype("uint8")).save(src / f"{n}.jpg")
    data = (src / "a.jpg").read_bytes()
    (src / "b.jpg").write_bytes(data[: len(data) // 2])  # truncated
    out = tmp_path / "out"
    # before: a.png written, exit 1 at b.jpg, c.jpg never stylized
    rc = main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert captured.err.count("warning: skipped b.jpg") == 1
    assert "wrote 2 of 3 images" in captured.out and "skipped b.jpg: " in captured.out
    assert "truncated" in captured.out


def test_stdin_and_stdout(photo, tmp_path, monkeypatch):
    import io

    from PIL import Image

    from keras_style.cli import main

    stdin = io.TextIOWrapper(io.BytesIO(photo.read_bytes()))
    stdout = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("sys.stdout", stdout)
    # before: "Content - does not exist"
    rc = main(["stylize", "-", "--model", "johnson_great_wave", "--size", "32", "-o", "-"])
    stdout.flush()
    data = stdout.buffer.getvalue()
    monkeypatch.undo()
    assert rc == 0
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82"), data[:80]
    assert Image.open(io.BytesIO(data)).size == (38, 32)


# ------------------------------------------------------------------ optional dependencies


def test_photo_art_pairs_needs_no_opencv(tmp_path, monkeypatch):
    """Style-aware training data with only the base install: before, an 80-line tf.data
    traceback ending in `No module named 'cv2'` (OpenCV comes with the `video` extra only)."""
    import numpy as np
    from PIL import Image

    import keras_style as ks

    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now raises ImportError
    for d, n in (("photos", 2), ("art", 2)):
        (tmp_path / d).mkdir()
        for i in range(n):
            arr = (np.random.default_rng(i).random((40, 56, 3)) * 255).astype("uint8")
            Image.fromarray(arr).save(tmp_path / d / f"{i}.png")
    ds = ks.data.photo_art_pairs(tmp_path / "photos", tmp_path / "art", image_size=32, seed=0)
    batch = next(iter(ds))
    assert batch["photo"].shape == (1, 32, 32, 3) and batch["art"].shape == (1, 32, 32, 3)


def test_photo_art_geometry_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    import numpy as np
    from PIL import Image

    from keras_style.data import photo_art as pa

    rng = np.random.default_rng(0)
    small = (rng.random((15, 20, 3)) * 255).astype("uint8")
    img = np.asarray(Image.fromarray(small).resize((80, 60), Image.BICUBIC))  # smooth content
    rot = cv2.getRotationMatrix2D((40, 30), 10.0, 1)
    np.testing.assert_allclose(pa._rotation_matrix((40, 30), 10.0, 1), rot, atol=1e-12)
    src = np.float32([[0, 0], [0, 1], [1, 0]])
    dst = src + np.float32([[0.03, -0.02], [0.01, 0.04], [-0.05, 0.02]])
    aff = cv2.getAffineTransform(src, dst)
    np.testing.assert_allclose(pa._affine_from_points(src, dst), aff, atol=1e-6)
    for m in (rot, aff):
        ours = pa._warp_affine(img, m, (80, 60)).astype(float)
        ref = cv2.warpAffine(img, m, (80, 60)).astype(float)
        inner = np.abs(ours - ref)[8:-8, 8:-8]  # borders: Pillow and OpenCV clip edges differently
        assert inner.max() <= 2 and inner.mean() < 1.0, (inner.max(), inner.mean())
    assert pa.scale_uint8_cv2(img, 1.13, 0.87).shape == cv2.resize(img, None, fx=1.13, fy=0.87).shape


def test_upscale_refuses_an_untrained_network(photo, tmp_path, capsys):
    from keras_style.cli import main

    out = tmp_path / "big.png"
    assert main(["upscale", str(photo), "--model", "johnson_sr", "-o", str(out)]) == 1
    err = _err(capsys)
    assert "random weights" in err and "keras-style train johnson-sr" in err and not out.exists()


# ------------------------------------------------------------------ any photo, any size


def test_memory_estimate_follows_the_network_resolution():
    from keras_style import memory, presets

    model = presets.load("johnson_great_wave")
    costs = memory.conv_costs(memory.inference_network(model))
    # 9x9 convolutions at full resolution dominate: the last one (16 -> 3 channels) most
    assert costs[-1][1] == max(c for _, c in costs) and costs[-1][1] > 10 * costs[5][1]
    small, big = memory.estimate_bytes(model, 100, 100), memory.estimate_bytes(model, 3024, 4032)
    assert big > 1000 * small * 0.9
    # 12 MP must not run in one piece on a 24 GB machine (before: std::bad_alloc, SIGABRT)
    assert memory.auto_tile(model, 3024, 4032, available=21 * 2**30) is not None
    assert memory.auto_tile(model, 512, 512, available=21 * 2**30) is None
    tile = memory.auto_tile(model, 3024, 4032, available=21 * 2**30)
    assert memory.estimate_bytes(model, tile + 128, tile + 128) <= 0.5 * 21 * 2**30


def test_stylize_streams_when_whole_image_activations_fit(tmp_path, capsys, monkeypatch):
    # a one-piece pass would not fit, the whole-image activations do: the CLI says it streams
    # (keras_style.tiling.streamed_apply) and gives stylize the tile its bands derive from
    import numpy as np
    from PIL import Image

    from keras_style import memory, presets
    from keras_style.cli import main

    src = tmp_path / "big.png"
    Image.fromarray(np.zeros((200, 300, 3), np.uint8)).save(src)
    model = presets.load("johnson_great_wave")
    calls = []

    def stylize(image, tile=None, overlap=64, size=None, verbose=0):
        calls.append(tile)
        return np.zeros((200, 300, 3), np.float32)

    monkeypatch.setattr(model, "stylize", stylize)
    monkeypatch.setattr(presets, "load", lambda name, **kw: model)
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * 2**30)
    monkeypatch.setattr(memory, "estimate_bytes", lambda *a, **k: 64 * 2**30)  # one piece: too big
    out = tmp_path / "o.png"
    assert main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out), "--quiet"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert calls and calls[-1] is not None
    assert "row bands" in err and "one pass" in err and "--tile 0" in err


def test_stylize_tiles_automatically_when_memory_is_short(tmp_path, capsys, monkeypatch):
    # the CLI's wiring; that tiles give the untiled result is keras_style.tiling's test
    import numpy as np
    from PIL import Image

    from keras_style import memory, presets
    from keras_style.cli import main

    src = tmp_path / "big.png"
    Image.fromarray(np.zeros((200, 300, 3), np.uint8)).save(src)
    model = presets.load("johnson_great_wave")
    calls = []

    def stylize(image, tile=None, overlap=64, size=None, verbose=0):
        calls.append(tile)
        return np.zeros((200, 300, 3), np.float32)

    monkeypatch.setattr(model, "stylize", stylize)
    monkeypatch.setattr(presets, "load", lambda name, **kw: model)
    out = tmp_path / "o.png"
    assert main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out), "--quiet"]) == 0
    assert calls == [None] and "tiles" not in capsys.readouterr().err  # fits: one piece
    monkeypatch.setattr(memory, "available_bytes", lambda: 60 * 2**20)  # 60 MB free
    expected = memory.auto_tile(model, 200, 300, overlap=64)
    assert expected is not None
    assert main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out),
                 "--overwrite", "--quiet"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert calls[-1] == expected and f"{expected} px tiles" in err
    assert "--tile N" in err and "--tile 0" in err
    # --tile 0: one piece whatever the estimate; --tile N: N
    assert main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out),
                 "--overwrite", "--quiet", "--tile", "0"]) == 0
    assert main(["stylize", str(src), "--model", "johnson_great_wave", "-o", str(out),
                 "--overwrite", "--quiet", "--tile", "96"]) == 0
    assert calls[-2:] == [0, 96]  # tile=0 reaches the model: one piece, no estimate of its own


# ------------------------------------------------------------------ saving survives faults


def test_save_image_without_overwrite_is_race_free(tmp_path, monkeypatch):
    import threading
    import time

    import numpy as np

    from keras_style.errors import ImageError
    from keras_style.images import load_image, save_image

    arrays = [np.full((8, 8, 3), i / 10, np.float32) for i in range(6)]
    # a slow file system: a check-then-rename has a wide window (before: every round overwrote)
    real_replace = os.replace

    def slow_replace(src, dst):
        time.sleep(0.005)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", slow_replace)
    overwritten = 0
    for r in range(40):
        path = tmp_path / f"r{r}.png"
        won, barrier = [], threading.Barrier(len(arrays))

        def worker(i, path=path, won=won, barrier=barrier):
            barrier.wait()
            try:
                save_image(arrays[i], path)
                won.append(i)
            except ImageError:
                pass

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(arrays))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # exactly one writer may succeed, and the file is that writer's image
        overwritten += len(won) != 1 or not np.allclose(load_image(path), arrays[won[0]], atol=1 / 255)
    assert overwritten == 0, f"{overwritten} of 40 rounds overwrote an existing file"
    assert not list(tmp_path.glob(".*.tmp"))


def test_stale_temp_files_of_killed_saves_are_removed(tmp_path):
    import subprocess

    import numpy as np

    from keras_style.images import save_image

    # a pid that is certainly dead: a finished child's
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    stale = tmp_path / f".out.png.{child.pid}.abcd1234.tmp"
    stale.write_bytes(b"half a png")
    alive = tmp_path / f".out.png.{os.getpid()}.efgh5678.tmp"  # a save in progress: kept
    alive.write_bytes(b"in progress")
    other = tmp_path / ".other.png.1.x.tmp"
    other.write_bytes(b"another target's")
    save_image(np.zeros((4, 4, 3), np.float32), tmp_path / "out.png")
    assert not stale.exists() and alive.exists() and other.exists()


def test_a_plugin_calling_sys_exit_cannot_end_the_process(tmp_path, monkeypatch):
    from keras_style import registry

    for mod, body in (("ks_exit_plugin", "import sys\nsys.exit(3)\n"),
                      ("ks_exit_call_plugin", "import sys\ndef setup():\n    sys.exit('bye')\n")):
        (tmp_path / f"{mod}.py").write_text(body)
        info = tmp_path / f"{mod}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {mod}\nVersion: 0.1\n")
        target = mod if "call" not in mod else f"{mod}:setup"
        (info / "entry_points.txt").write_text(f"[keras_style.plugins]\np = {target}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        errors = registry.load_plugins(force=True)  # before: SystemExit
    assert any("sys.exit(3)" in v for v in errors.values()), errors
    assert any("sys.exit('bye')" in v for v in errors.values()), errors
    assert sum("failed to load" in str(w.message) for w in seen) >= 2


def test_weights_verify_checks_the_file_it_is_given(tmp_path, capsys):
    from keras_style.cli import main

    good = os.path.join(ROOT, "weights_registry", "johnson_great_wave.weights.h5")
    assert main(["weights", "verify", good]) == 0
    assert "all readable" in capsys.readouterr().out
    data = open(good, "rb").read()
    bad = tmp_path / "cut.weights.h5"
    bad.write_bytes(data[: len(data) * 2 // 3])
    # before: "ok: <path>" for a corrupt file (explicit paths were never checked)
    assert main(["weights", "verify", str(bad)]) == 1
    assert "truncated or corrupt" in capsys.readouterr().err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x00" * 4096)
    assert main(["weights", "verify", str(junk)]) == 1


def test_truncated_or_foreign_keras_files_name_the_real_cause(tmp_path, photo, capsys):
    import zipfile

    import keras

    from keras_style.cli import main

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    full = tmp_path / "m.keras"
    model.save(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.png"
    # before: "File not found" for a file that is right there
    assert main(["stylize", str(photo), "--model", str(cut), "-o", str(out)]) == 1
    err = _err(capsys)
    assert "truncated or corrupt" in err and "not found" not in err.lower()
    foreign = tmp_path / "foreign.keras"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("readme.txt", "not a model")
    assert main(["stylize", str(photo), "--model", str(foreign), "-o", str(out)]) == 1
    assert "not a Keras model" in _err(capsys)
    assert main(["weights", "verify", str(cut)]) == 1
    assert "truncated or corrupt" in _err(capsys)


# ------------------------------------------------------------------ training survives faults


def test_no_model_is_written_after_zero_steps_or_with_nan_weights(tmp_path):
    import argparse

    import keras
    import numpy as np

    from keras_style.cli import build_parser
    from keras_style.cli._train_guard import guarded_saves
    from keras_style.errors import ConfigError

    def model():
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        m.compile(optimizer="adam", loss="mse")
        return m

    out = tmp_path / "m.keras"
    with guarded_saves():
        untrained = model()  # compiled, 0 steps (before: saved, exit 0)
        with pytest.raises(ConfigError, match="0 training steps"):
            untrained.save(out)
        diverged = model()
        diverged.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
        diverged.layers[0].kernel.assign(np.full((3, 2), np.nan, np.float32))
        with pytest.raises(ConfigError, match="not finite"):
            diverged.save(out)
        assert not out.exists()
        trained = model()
        trained.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
        trained.save(out)
    assert out.exists()
    model().save(tmp_path / "outside.keras")  # only CLI training runs are checked
    # every train sub-command (and finetune) runs with the check
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train_sub = next(a for a in sub.choices["train"]._actions if isinstance(a, argparse._SubParsersAction))
    assert train_sub.choices and all(
        getattr(p.get_default("func"), "save_guard", False) for p in train_sub.choices.values()
    )
    assert getattr(sub.choices["finetune"].get_default("func"), "save_guard", False)


def test_video_refuses_random_weights_too(tmp_path, capsys):
    pytest.importorskip("av")
    import numpy as np
    from PIL import Image

    from keras_style.cli import main

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frames / f"{i:03d}.png")
    style = frames / "000.png"
    out = tmp_path / "out"
    assert main(["video", str(frames), "--method", "adain", "--style", str(style), "-o", str(out)]) == 1
    assert "random weights" in _err(capsys) and not out.exists()


def test_upscale_johnson_sr_tiles_when_the_image_would_not_fit(tmp_path, monkeypatch, capsys):
    """Johnson SR plans no tiling of its own: `keras-style upscale` estimates its memory
    as `stylize` does and tiles (exactly: no normalisation, overlap over the receptive field)."""
    import numpy as np
    from PIL import Image

    import keras_style as ks
    from keras_style import memory
    from keras_style.cli import main

    sr = ks.get("johnson_sr", scale=4, loss="pixel", backbone_weights=None, width=0.125, num_residual_blocks=1,
                normalization=None, upsampling="resize_conv", padding="reflect", output="linear", skip="bilinear")
    sr.save(tmp_path / "sr.keras")
    src = tmp_path / "small.png"
    Image.fromarray((np.random.default_rng(0).random((150, 190, 3)) * 255).astype("uint8")).save(src)
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    assert main(["upscale", str(src), "--model", str(tmp_path / "sr.keras"), "-o", str(whole)]) == 0
    assert "tiles" not in capsys.readouterr().err
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * 2**20)  # 100 MB free
    assert memory.auto_tile(sr, 150, 190, overlap=16) < 150  # several tiles each way
    assert main(["upscale", str(src), "--model", str(tmp_path / "sr.keras"), "-o", str(tiled)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "upscaling in" in err and "px tiles" in err and "--tile 0" in err
    a, b = np.asarray(Image.open(whole), np.int16), np.asarray(Image.open(tiled), np.int16)
    assert a.shape == b.shape == (600, 760, 3) and np.abs(a - b).max() <= 1
