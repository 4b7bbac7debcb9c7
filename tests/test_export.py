"""Export (docs/export.md): the exported file runs in its own runtime and matches Keras.

Tiny configs of the real architectures; each exported file is run at two input sizes
(dynamic height and width) in onnxruntime, the LiteRT interpreter (builtin ops only) or
TensorFlow's SavedModel loader and compared with the Keras network within 1e-4.
"""

import importlib.util
import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError, ConversionError
from keras_style.export import OutputExistsError, export_model, export_spec, run_exported
from keras_style.registry import describe

SIZES = ((24, 36), (40, 28))
HAS = {m: importlib.util.find_spec(m) is not None for m in ("tf2onnx", "onnxruntime", "ai_edge_litert")}
SUFFIX = {"onnx": ".onnx", "litert": ".tflite", "saved_model": ""}
NEEDS = {"onnx": ("tf2onnx", "onnxruntime"), "litert": ("ai_edge_litert",), "saved_model": ()}


def _skip_without(fmt):
    missing = [m for m in NEEDS[fmt] if not HAS[m]]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def _inputs(spec, size, rng):
    out = []
    for _name, shape in spec.inputs:
        if len(shape) == 4:
            out.append(rng.random((1, *size, 3)).astype("float32"))
        else:  # style weights: a blend of two styles
            w = np.zeros((1, shape[1]), "float32")
            w[0, 0], w[0, -1] = 0.3, 0.7
            out.append(w)
    return out


def _check(model, fmt, tmp_path, sizes=SIZES):
    _skip_without(fmt)
    spec = export_spec(model)
    path = export_model(model, tmp_path / f"m{SUFFIX[fmt]}", format=fmt)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    rng = np.random.default_rng(0)
    for size in sizes:
        ins = _inputs(spec, size, rng)
        ref = keras.ops.convert_to_numpy(spec.call(*[keras.ops.convert_to_tensor(a) for a in ins]))
        got = run_exported(path, *ins)
        assert got.shape == ref.shape
        assert float(np.abs(got - ref).max()) < 1e-4
    return path


def _johnson_resize():
    cfg = dict(describe("johnson")["test_config"], upsampling="resize_conv", normalization="instance")
    return ks.get("johnson", **cfg)


def _tiny(name):
    if name == "johnson":
        return _johnson_resize()
    if name == "johnson_sr_skip":  # the johnson_sr_x4 preset's network: bilinear global residual
        return ks.get("johnson_sr", **describe("johnson_sr")["test_config"], output="linear", skip="bilinear")
    return ks.get(name, **describe(name)["test_config"])


# every feed-forward family (docs/export.md): one image input, image + style weights
# (multistyle), content + style (arbitrary, AdaIN); SR inputs stay small (x2 / x4 outputs)
MODELS = ("johnson", "johnson_sr", "johnson_sr_skip", "multistyle", "arbitrary_stylization", "adain", "waifu2x_photo",
          "realesrgan_x4plus")
SR_SIZES = ((12, 10), (8, 14))


@pytest.mark.parametrize("fmt", ["onnx", "litert", "saved_model"])
@pytest.mark.parametrize("name", MODELS)
def test_every_feed_forward_model_in_every_format(name, fmt, tmp_path):
    sr = name in ("johnson_sr", "johnson_sr_skip", "waifu2x_photo", "realesrgan_x4plus")
    path = _check(_tiny(name), fmt, tmp_path, sizes=SR_SIZES if sr else SIZES)
    if fmt == "litert":  # builtin ops only: no Flex (TF Select) custom op in the file
        assert b"Flex" not in path.read_bytes()


# ------------------------------------------------------------------ bad input


def test_unknown_format_and_existing_output(tmp_path):
    m = _johnson_resize()
    with pytest.raises(ConfigError, match="Unknown export format"):
        export_model(m, tmp_path / "m.xyz", format="coreml")
    target = tmp_path / "m.onnx"
    target.write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="overwrite"):
        export_model(m, target, format="onnx")
    assert target.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_optimisation_method_cannot_be_exported(tmp_path):
    m = ks.get("gatys", **describe("gatys")["test_config"])
    with pytest.raises(ConfigError, match="not a feed-forward image network"):
        export_model(m, tmp_path / "g.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_litert_refusal_names_the_op_and_the_formats_that_work(tmp_path, monkeypatch):
    """A network with an op LiteRT has no builtin for (here tf.linalg.det) is refused."""
    import tensorflow as tf

    from keras_style import export as exp

    m = _johnson_resize()
    spec = export_spec(m)
    bad = exp.ExportSpec(
        spec.network,
        spec.inputs,
        lambda x: spec.call(x) * tf.reshape(tf.linalg.det(tf.reshape(x[:, :2, :2, 0], (-1, 2, 2))), (-1, 1, 1, 1)),
        "bad",
    )
    monkeypatch.setattr(exp, "export_spec", lambda model: bad)
    with pytest.raises(ConversionError, match="(?s)builtin.*--format onnx"):
        exp.export_model(m, tmp_path / "m.tflite", format="litert")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_and_errors(tmp_path, capsys):
    from keras_style.cli import main

    m = _johnson_resize()
    src = tmp_path / "tiny.keras"
    m.save(src)
    out = tmp_path / "sm"
    argv = ["export", str(src), "--format", "saved_model", "-o", str(out)]
    assert main(argv) == 0
    assert (out / "saved_model.pb").is_file()
    assert "wrote" in capsys.readouterr().out
    assert main(argv) == 1  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    bad = tmp_path / "tiny.onnx"
    assert main(["export", str(src), "--format", "pdf", "-o", str(bad)]) == 1
    assert "Unknown --format" in capsys.readouterr().err
    assert main(["export", "johnson", "-o", str(bad)]) == 1  # a bare registry name: random weights
    assert not bad.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm", "tiny.keras"]


# ------------------------------------------------------------------ ONNX fast path

_FAST = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ks_onnx_fast", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
mod.stylize_file(sys.argv[2], sys.argv[3], sys.argv[4])
heavy = sorted(m for m in ("keras", "tensorflow", "keras_style") if m in sys.modules)
print("HEAVY", heavy)
"""


def test_onnx_fast_path_without_keras(tmp_path, capsys):
    import subprocess
    import sys

    from keras_style.cli import main

    _skip_without("onnx")
    m = _johnson_resize()
    onnx_path = export_model(m, tmp_path / "tiny.onnx", format="onnx")
    photo = np.random.default_rng(1).random((30, 42, 3)).astype("float32")
    ks.save_image(photo, tmp_path / "photo.png")
    photo = ks.load_image(tmp_path / "photo.png")
    ref = m.stylize(photo)
    module = ks.__file__.replace("__init__.py", "onnx_runtime.py")
    out = tmp_path / "fast.png"
    r = subprocess.run(
        [sys.executable, "-c", _FAST, module, str(tmp_path / "photo.png"), str(onnx_path), str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "HEAVY []" in r.stdout  # neither Keras nor TensorFlow was imported
    got = ks.load_image(out)
    assert got.shape == ref.shape
    assert float(np.abs(got - ref).max()) <= 1.0 / 255 + 1e-6  # 8-bit rounding only
    # the CLI takes the same path for --model FILE.onnx
    out2 = tmp_path / "cli.png"
    assert main(["stylize", str(tmp_path / "photo.png"), "--model", str(onnx_path), "-o", str(out2)]) == 0
    assert np.array_equal(ks.load_image(out2), got)
    assert main(["stylize", str(tmp_path / "photo.png"), "--model", str(onnx_path), "-o", str(out2)]) == 1
    assert "--overwrite" in capsys.readouterr().err
