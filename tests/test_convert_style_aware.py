"""Converter from official CompVis/adaptive-style-transfer TF1 checkpoints (docs/methods/style_aware.md).

A synthetic checkpoint with the official variable names and random values is written with a
TF1 Saver; our converted model's forward pass must equal a reference forward pass written here
with plain TF ops following module.py / ops.py, within 1e-4.
"""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from keras_style.errors import ConversionError  # noqa: E402

NGF, NDF, NRES = 2, 2, 2
HEADS = {0: 5, 1: 10, 3: 10, 5: 6, 6: 3}


def official_arrays(seed=0, ngf=NGF, ndf=NDF, nres=NRES):
    rng = np.random.default_rng(seed)
    a = {}

    def conv(name, k, cin, cout):
        a[name] = rng.normal(0, 0.3, (k, k, cin, cout)).astype("float32")

    def norm(scope, c):
        a[f"{scope}/scale"] = rng.normal(1, 0.2, (c,)).astype("float32")
        a[f"{scope}/offset"] = rng.normal(0, 0.2, (c,)).astype("float32")

    norm("encoder/g_e0_bn", 3)
    chans = [3, ngf, ngf, 2 * ngf, 4 * ngf, 8 * ngf]
    for i in range(1, 6):
        conv(f"encoder/g_e{i}_c/Conv/weights", 3, chans[i - 1], chans[i])
        norm(f"encoder/g_e{i}_bn", chans[i])
    for i in range(1, nres + 1):
        for j in (1, 2):
            conv(f"decoder/g_r{i}_c{j}/Conv/weights", 3, 8 * ngf, 8 * ngf)
            norm(f"decoder/g_r{i}_bn{j}", 8 * ngf)
    dch = [8 * ngf, 8 * ngf, 4 * ngf, 2 * ngf, ngf]
    for i in range(1, 5):
        conv(f"decoder/g_d{i}_dc/conv2d/Conv/weights", 3, dch[i - 1], dch[i])
        norm(f"decoder/g_d{i}_bn", dch[i])
    conv("decoder/g_pred_c/Conv/weights", 7, ngf, 3)
    dis = [3] + [ndf * m for m in (2, 2, 4, 8, 8, 16, 16)]
    for i in range(7):
        conv(f"discriminator/d_h{i}_conv/Conv/weights", 5, dis[i], dis[i + 1])
        norm(f"discriminator/d_bn{i}", dis[i + 1])
        if i in HEADS:
            conv(f"discriminator/d_h{i}_pred/Conv/weights", HEADS[i], dis[i + 1], 1)
    return a


def write_checkpoint(arrays, prefix, extra=None):
    """A TF1 Saver checkpoint whose variable names are exactly the keys of ``arrays``."""
    arrays = dict(arrays, **(extra or {}))
    g = tf.Graph()
    with g.as_default():
        variables = [tf.compat.v1.get_variable(n, initializer=v) for n, v in arrays.items()]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return saver.save(sess, str(prefix))


# ---- reference forward pass: module.py / ops.py with plain TF ops ----------------------------
def _in(x, a, scope):
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    return a[f"{scope}/scale"] * (x - mean) * tf.math.rsqrt(var + 1e-5) + a[f"{scope}/offset"]


def _conv(x, w, s, padding):
    return tf.nn.conv2d(x, w, strides=s, padding=padding)


def _rpad(x, p):
    return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], "REFLECT")


def ref_encoder(x, a):
    x = _in(x, a, "encoder/g_e0_bn")
    x = _rpad(x, 15)
    for i, s in zip(range(1, 6), (1, 2, 2, 2, 2)):
        x = tf.nn.relu(_in(_conv(x, a[f"encoder/g_e{i}_c/Conv/weights"], s, "VALID"), a, f"encoder/g_e{i}_bn"))
    return x


def ref_decoder(z, a, nres=NRES):
    x = z
    for i in range(1, nres + 1):
        y = _in(_conv(_rpad(x, 1), a[f"decoder/g_r{i}_c1/Conv/weights"], 1, "VALID"), a, f"decoder/g_r{i}_bn1")
        y = _in(_conv(_rpad(tf.nn.relu(y), 1), a[f"decoder/g_r{i}_c2/Conv/weights"], 1, "VALID"), a, f"decoder/g_r{i}_bn2")
        x = y + x
    for i in range(1, 5):
        x = tf.image.resize(x, tf.shape(x)[1:3] * 2, method="nearest")
        x = tf.nn.relu(_in(_conv(x, a[f"decoder/g_d{i}_dc/conv2d/Conv/weights"], 1, "SAME"), a, f"decoder/g_d{i}_bn"))
    x = _conv(_rpad(x, 3), a["decoder/g_pred_c/Conv/weights"], 1, "VALID")
    return tf.nn.sigmoid(x) * 2.0 - 1.0


def ref_discriminator(x, a):
    out = {}
    for i in range(7):
        x = _in(_conv(x, a[f"discriminator/d_h{i}_conv/Conv/weights"], 2, "SAME"), a, f"discriminator/d_bn{i}")
        x = tf.maximum(x, 0.2 * x)
        if i in HEADS:
            out[f"scale_{i}"] = _conv(x, a[f"discriminator/d_h{i}_pred/Conv/weights"], 1, "SAME")
    return out


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    arrays = official_arrays()
    d = tmp_path_factory.mktemp("ckpt")
    # Adam slots and global_step as in a real training checkpoint: ignored by the converter
    extra = {
        "encoder/g_e1_c/Conv/weights/Adam": np.zeros_like(arrays["encoder/g_e1_c/Conv/weights"]),
        "global_step": np.array(7, "int64"),
    }
    prefix = write_checkpoint(arrays, d / "model_van-gogh.ckpt", extra)
    return prefix, arrays


def test_forward_matches_reference(checkpoint):
    from keras_style.convert import style_aware_from_tf

    prefix, a = checkpoint
    model = style_aware_from_tf(prefix)
    assert (model.ngf, model.ndf, model.num_residual_blocks) == (NGF, NDF, NRES)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 48, 64, 3)).astype("float32")
    z_ref = ref_encoder(tf.constant(x), a)
    np.testing.assert_allclose(model.encoder(x).numpy(), z_ref.numpy(), atol=1e-4, rtol=1e-4)
    y_ref = ref_decoder(z_ref, a).numpy()
    y = model.decoder(model.encoder(x)).numpy()
    assert y.shape == (1, 48, 64, 3)
    np.testing.assert_allclose(y, y_ref, atol=1e-4)
    # the public call works in [0, 1]
    np.testing.assert_allclose(model((x + 1) / 2).numpy(), (y_ref + 1) / 2, atol=1e-4)
    d, d_ref = model.discriminator(x), ref_discriminator(tf.constant(x), a)
    assert sorted(d) == sorted(d_ref) == ["scale_0", "scale_1", "scale_3", "scale_5", "scale_6"]
    for k in d_ref:
        np.testing.assert_allclose(d[k].numpy(), d_ref[k].numpy(), atol=1e-4, rtol=1e-4, err_msg=k)


def test_folder_and_cli(checkpoint, tmp_path):
    import argparse

    import keras

    from keras_style.cli.convert_cmds import add_style_aware_parser

    prefix, a = checkpoint
    parser = argparse.ArgumentParser()
    add_style_aware_parser(parser.add_subparsers())
    out = tmp_path / "van_gogh.keras"
    args = parser.parse_args(["style-aware-tf", os.path.dirname(prefix), "-o", str(out)])
    assert args.func(args) == 0
    model = keras.saving.load_model(out)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    ref = ref_decoder(ref_encoder(tf.constant(x), a), a).numpy()
    np.testing.assert_allclose(model.decoder(model.encoder(x)).numpy(), ref, atol=1e-4)
    assert not [f for f in os.listdir(tmp_path) if "tmp" in f]


def test_missing_variable(tmp_path):
    from keras_style.convert import style_aware_from_tf

    arrays = official_arrays()
    del arrays["decoder/g_d2_bn/offset"]
    prefix = write_checkpoint(arrays, tmp_path / "m.ckpt")
    with pytest.raises(ConversionError, match="decoder/g_d2_bn/offset"):
        style_aware_from_tf(prefix)


def test_wrong_shape(tmp_path):
    from keras_style.convert import style_aware_from_tf

    arrays = official_arrays()
    arrays["decoder/g_pred_c/Conv/weights"] = np.zeros((5, 5, NGF, 3), "float32")
    prefix = write_checkpoint(arrays, tmp_path / "s.ckpt")
    with pytest.raises(ConversionError, match=r"g_pred_c/Conv/weights: checkpoint \(5, 5"):
        style_aware_from_tf(prefix)


def test_other_model_and_unreadable(tmp_path):
    from keras_style.convert import style_aware_from_tf

    prefix = write_checkpoint({"generator/conv1/kernel": np.zeros((3, 3, 3, 8), "float32")}, tmp_path / "o.ckpt")
    with pytest.raises(ConversionError, match="not a style-aware"):
        style_aware_from_tf(prefix)
    with pytest.raises(ConversionError, match="Could not read"):
        style_aware_from_tf(tmp_path / "nothing.ckpt")
    # a checkpoint with biases is not the official (bias-free) architecture
    arrays = official_arrays()
    arrays["encoder/g_e1_c/Conv/biases"] = np.zeros((NGF,), "float32")
    prefix = write_checkpoint(arrays, tmp_path / "b.ckpt")
    with pytest.raises(ConversionError, match="biases"):
        style_aware_from_tf(prefix)
