"""Perceptual losses and their functional forms against NumPy implementations written here."""

import keras
import numpy as np
import pytest
from helpers import assert_allclose, random_image, run_loss_test

import keras_style as ks
from keras_style.losses import functional as F

# ------------------------------------------------------------------ NumPy references


def np_gram(f):  # (N,H,W,C) -> (N,C,C) / (C H W)
    n, h, w, c = f.shape
    x = f.reshape(n, h * w, c).astype("float64")
    return np.einsum("npc,npd->ncd", x, x) / (c * h * w)


def np_feature(a, b):
    return ((b.astype("float64") - a) ** 2).reshape(len(b), -1).mean(axis=1)


def np_gram_style(a, b, reduction="sum"):
    ga = a if a.ndim == 3 else np_gram(a)
    gb = b if b.ndim == 3 else np_gram(b)
    d = (gb - ga) ** 2
    return d.sum(axis=(1, 2)) if reduction == "sum" else d.mean(axis=(1, 2))


def np_mean_std(f, eps=1e-5, unbiased=True):
    f = f.astype("float64")
    mu = f.mean(axis=(1, 2))
    var = f.var(axis=(1, 2), ddof=1 if unbiased else 0)
    return mu, np.sqrt(var + eps)


def np_mean_std_style(a, b, eps=1e-5, unbiased=True, reduction="mean"):
    ma, sa = np_mean_std(a, eps, unbiased)
    mb, sb = np_mean_std(b, eps, unbiased)
    red = np.sum if reduction == "sum" else np.mean
    return red((mb - ma) ** 2, axis=1) + red((sb - sa) ** 2, axis=1)


def np_tv(x, kind="l1", reduction="sum"):
    x = x.astype("float64")
    dh = x[:, 1:] - x[:, :-1]
    dw = x[:, :, 1:] - x[:, :, :-1]
    f = np.abs if kind == "l1" else np.square
    red = np.sum if reduction == "sum" else np.mean
    return red(f(dh), axis=(1, 2, 3)) + red(f(dw), axis=(1, 2, 3))


def feats(seed, batch=2, scale=1.0):
    rng = np.random.default_rng(seed)
    return {
        "relu1_1": (rng.random((batch, 8, 8, 4)) * scale).astype("float32"),
        "relu2_1": (rng.normal(size=(batch, 4, 6, 6)) * scale).astype("float32"),
    }


def val(x):
    return keras.ops.convert_to_numpy(x)


# ------------------------------------------------------------------ functional


def test_gram_matrix_and_feature_reconstruction_functions():
    a, b = feats(0)["relu2_1"], feats(1)["relu2_1"]
    assert_allclose(F.gram_matrix(a), np_gram(a), atol=1e-6)
    assert_allclose(F.feature_reconstruction_loss(a, b), np_feature(a, b), atol=1e-6)
    assert_allclose(F.feature_reconstruction_loss(a[:1], b), np_feature(np.repeat(a[:1], 2, 0), b))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gram_style_function(reduction):
    a, b = feats(0)["relu2_1"], feats(1)["relu2_1"]
    ref = np_gram_style(a, b, reduction)
    assert_allclose(F.gram_style_loss(a, b, reduction=reduction), ref, atol=1e-6, rtol=1e-5)
    # precomputed Gram target (rank 3), batch 1 broadcast over the batch
    g = val(F.gram_matrix(a[:1]))
    ref1 = np_gram_style(np_gram(a[:1]), b, reduction)
    assert_allclose(F.gram_style_loss(g, b, reduction=reduction), ref1, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "eps,unbiased,reduction", [(1e-5, True, "mean"), (1e-6, False, "sum"), (0.0, False, "mean")]
)
def test_mean_std_style_function(eps, unbiased, reduction):
    a, b = feats(2)["relu1_1"], feats(3)["relu1_1"]
    ref = np_mean_std_style(a, b, eps, unbiased, reduction)
    got = F.mean_std_style_loss(a, b, epsilon=eps, unbiased=unbiased, reduction=reduction)
    assert_allclose(got, ref, atol=1e-6, rtol=1e-5)
    stats = F.mean_std_stats(a, eps, unbiased)
    assert tuple(stats.shape) == (2, 2, 4)
    got2 = F.mean_std_style_loss(stats, b, epsilon=eps, unbiased=unbiased, reduction=reduction)
    assert_allclose(got2, ref, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", ["l1", "squared"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_total_variation_function(kind, reduction):
    x = random_image(7, 9, batch=2, seed=4)
    assert_allclose(F.total_variation(x, kind, reduction), np_tv(x, kind, reduction), rtol=1e-5)
    # anisotropic L1 TV on a tiny hand example: one step of 1 in each direction
    img = np.zeros((1, 2, 2, 1), "float32")
    img[0, 1, 1, 0] = 1.0
    assert float(val(F.total_variation(img))[0]) == pytest.approx(2.0)


def test_yiq_round_trip_and_known_values():
    x = random_image(5, 4, batch=1, seed=5)
    assert_allclose(F.yiq_to_rgb(F.rgb_to_yiq(x)), x, atol=1e-5)
    white = F.rgb_to_yiq(np.ones((1, 3), "float32"))
    assert_allclose(white, [[1.0, 0.0, 0.0]], atol=1e-5)
    assert_allclose(F.rgb_to_yiq(np.array([[1.0, 0.0, 0.0]], "float32"))[:, 0], [0.299], atol=1e-6)


# ------------------------------------------------------------------ loss classes


def test_feature_reconstruction_loss_class():
    a, b = feats(0), feats(1)
    loss = ks.get("feature_reconstruction", layers=["relu1_1", "relu2_1"], layer_weights=[0.5, 2.0])
    ref = np.mean(
        0.5 * np_feature(a["relu1_1"], b["relu1_1"]) + 2.0 * np_feature(a["relu2_1"], b["relu2_1"])
    )
    value = run_loss_test(loss, a, b)
    assert value == pytest.approx(ref, rel=1e-5)
    # layers=None uses every key of y_pred; a plain tensor is one layer
    all_ = ks.get("feature_reconstruction")
    assert float(val(all_(a, b))) == pytest.approx(
        np.mean(np_feature(a["relu1_1"], b["relu1_1"]) + np_feature(a["relu2_1"], b["relu2_1"])),
        rel=1e-5,
    )
    assert float(val(all_(a["relu1_1"], b["relu1_1"]))) == pytest.approx(
        np.mean(np_feature(a["relu1_1"], b["relu1_1"])), rel=1e-5
    )


def test_gram_style_loss_class_with_targets_and_blend():
    s, g = feats(0, batch=2), feats(1, batch=3)
    loss = ks.get("gram_style", layers=["relu1_1", "relu2_1"], layer_weights={"relu2_1": 3.0})
    ref = np.mean(
        np_gram_style(s["relu1_1"][:1], g["relu1_1"])
        + 3.0 * np_gram_style(s["relu2_1"][:1], g["relu2_1"])
    )
    one = {k: v[:1] for k, v in s.items()}
    assert run_loss_test(loss, one, g) == pytest.approx(ref, rel=1e-5)
    targets = loss.compute_targets(one)
    assert tuple(targets["relu2_1"].shape) == (1, 6, 6)
    assert float(val(loss(targets, g))) == pytest.approx(ref, rel=1e-5)
    # style blend: weighted sum of Gram matrices (weights normalised to sum 1)
    blend = loss.compute_targets(s, weights=[1.0, 3.0])
    ref_g = 0.25 * np_gram(s["relu2_1"][:1]) + 0.75 * np_gram(s["relu2_1"][1:])
    assert_allclose(blend["relu2_1"], ref_g, atol=1e-6)
    mean_loss = ks.get("gram_style", gram_reduction="mean")
    assert float(val(mean_loss(one, g))) == pytest.approx(
        np.mean(sum(np_gram_style(one[k], g[k], "mean") for k in g)), rel=1e-5
    )


def test_mean_std_style_loss_class():
    s, g = feats(2), feats(3)
    loss = ks.get("mean_std_style", layers=["relu1_1", "relu2_1"])
    ref = np.mean(sum(np_mean_std_style(s[k], g[k]) for k in s))
    assert run_loss_test(loss, s, g) == pytest.approx(ref, rel=1e-5)
    assert float(val(loss(loss.compute_targets(s), g))) == pytest.approx(ref, rel=1e-5)
    lua = ks.get("mean_std_style", channel_reduction="sum", unbiased=False, epsilon=1e-6)
    ref_lua = np.mean(sum(np_mean_std_style(s[k], g[k], 1e-6, False, "sum") for k in s))
    assert run_loss_test(lua, s, g) == pytest.approx(ref_lua, rel=1e-5)


def test_total_variation_loss_class():
    x = random_image(8, 8, batch=2, seed=6)
    for kind in ("l1", "squared"):
        for norm in ("sum", "mean"):
            loss = ks.get("total_variation", kind=kind, normalization=norm)
            assert float(val(loss(None, x))) == pytest.approx(
                np.mean(np_tv(x, kind, norm)), rel=1e-5
            )
            assert float(val(loss(None, {"image": x}))) == pytest.approx(
                np.mean(np_tv(x, kind, norm)), rel=1e-5
            )
    # y_true is ignored; a constant image has zero TV (so run_loss_test's zero check holds)
    flat = np.full((1, 8, 8, 3), 0.3, "float32")
    assert run_loss_test(ks.get("total_variation"), x[:1], flat) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("style_loss", ["gram", "mean_std"])
def test_perceptual_loss_combination_and_terms(style_loss):
    c, s, g = feats(0), feats(1, batch=1), feats(2)
    image = random_image(8, 8, batch=2, seed=3)
    loss = ks.get(
        "perceptual",
        content_layers=["relu2_1"],
        style_layers=["relu1_1", "relu2_1"],
        content_weight=2.0,
        style_weight=0.5,
        tv_weight=1e-3,
        style_layer_weights=[1.0, 4.0],
        style_loss=style_loss,
    )
    y_true = loss.compute_targets(c, s)
    y_pred = dict(g, image=image)
    style_fn = np_gram_style if style_loss == "gram" else np_mean_std_style
    content = 2.0 * np_feature(c["relu2_1"], g["relu2_1"])
    style = 0.5 * (
        style_fn(s["relu1_1"], g["relu1_1"]) + 4.0 * style_fn(s["relu2_1"], g["relu2_1"])
    )
    tv = 1e-3 * np_tv(image)
    assert float(val(loss(y_true, y_pred))) == pytest.approx(
        np.mean(content + style + tv), rel=1e-5
    )
    terms = {k: float(val(v)) for k, v in loss.terms(y_true, y_pred).items()}
    assert set(terms) == {"content", "style", "tv", "total"}
    assert terms["content"] == pytest.approx(np.mean(content), rel=1e-5)
    assert terms["style"] == pytest.approx(np.mean(style), rel=1e-5)
    assert terms["tv"] == pytest.approx(np.mean(tv), rel=1e-5)
    assert terms["total"] == pytest.approx(
        terms["content"] + terms["style"] + terms["tv"], rel=1e-6
    )
    # config round trip (zero on identical inputs does not apply: TV of an image)
    clone = type(loss).from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    assert float(val(clone(y_true, y_pred))) == pytest.approx(
        float(val(loss(y_true, y_pred))), rel=1e-6
    )


def test_perceptual_without_tv_passes_run_loss_test():
    c, g = feats(0), feats(1)
    loss = ks.get(
        "perceptual", content_layers=["relu2_1"], style_layers=["relu1_1"], style_weight=0.1
    )
    # identical y_true/y_pred structure: content and style targets are the features themselves
    y_true = {"content": c, "style": c}
    value = float(val(loss(y_true, g)))
    assert np.isfinite(value) and value > 0
    assert float(val(loss({"content": g, "style": g}, g))) == pytest.approx(0.0, abs=1e-6)
    ser = keras.saving.serialize_keras_object(loss)
    again = keras.saving.deserialize_keras_object(ser)
    assert float(val(again(y_true, g))) == pytest.approx(value, rel=1e-6)


def test_losses_on_backbone_features_and_gradients():
    import tensorflow as tf  # test-only: image gradient on the default backend

    vgg = ks.get("vgg16", layers=["relu1_2", "relu2_2"])
    style = ks.get("gram_style", layers=["relu1_2", "relu2_2"])
    targets = style.compute_targets(vgg(random_image(16, 16, batch=1, seed=1)))
    x = tf.Variable(random_image(16, 16, batch=1, seed=2))
    with tf.GradientTape() as tape:
        value = style(targets, vgg(x))
    g = tape.gradient(value, x)
    assert np.isfinite(float(value)) and float(tf.reduce_max(tf.abs(g))) > 0


# ------------------------------------------------------------------ errors


def test_bad_arguments_raise_at_construction():
    with pytest.raises(ValueError, match="kind"):
        ks.get("total_variation", kind="l3")
    with pytest.raises(ValueError, match="normalization"):
        ks.get("total_variation", normalization="max")
    with pytest.raises(ValueError, match=">= 0"):
        ks.get("gram_style", layers=["relu1_1"], layer_weights=[-1.0])
    with pytest.raises(ValueError, match="same length"):
        ks.get("gram_style", layers=["relu1_1"], layer_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="not in layers"):
        ks.get("feature_reconstruction", layers=["relu1_1"], layer_weights={"relu9_9": 1.0})
    with pytest.raises(ValueError, match="empty"):
        ks.get("gram_style", layers=[])
    with pytest.raises(ValueError, match="style_weight"):
        ks.get("perceptual", style_weight=-1)
    with pytest.raises(ValueError, match="style_loss"):
        ks.get("perceptual", style_loss="wasserstein")
    with pytest.raises(ValueError, match="gram_reduction"):
        ks.get("gram_style", gram_reduction="max")


def test_missing_layer_in_feature_dict_is_a_clear_error():
    loss = ks.get("gram_style", layers=["relu3_1"])
    with pytest.raises(ValueError, match="relu3_1"):
        loss(feats(0), feats(1))


# ------------------------------------------------------------------ mixed precision


def test_mixed_float16_losses_finite_and_close_to_float32():
    """Statistics run in float32: float16 features give the float32 values to 1e-3."""
    # magnitudes where a float16 Gram would overflow (65504): 100^2 * 64 positions
    f32 = {k: v for k, v in feats(4, scale=100.0).items()}
    t32 = {k: v for k, v in feats(5, scale=100.0).items()}
    image = random_image(16, 16, batch=2, seed=6)
    losses = [
        ks.get("feature_reconstruction"),
        ks.get("gram_style"),
        ks.get("mean_std_style"),
        ks.get(
            "perceptual",
            content_layers=["relu2_1"],
            style_layers=["relu1_1", "relu2_1"],
            tv_weight=1.0,
        ),
    ]

    def run(dtype):
        a = {k: keras.ops.cast(v, dtype) for k, v in f32.items()}
        b = {k: keras.ops.cast(v, dtype) for k, v in t32.items()}
        img = keras.ops.cast(image, dtype)
        out = [float(val(loss_(b, a))) for loss_ in losses[:3]]
        out.append(float(val(losses[3]({"content": b, "style": b}, dict(a, image=img)))))
        out.append(float(val(ks.get("total_variation")(None, img))))
        return np.array(out)

    ref = run("float32")
    keras.mixed_precision.set_global_policy("mixed_float16")
    got = run("float16")
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=1e-3)
    # a float16 Gram of the same features overflows; ours does not
    x16 = keras.ops.cast(f32["relu1_1"], "float16")
    naive = keras.ops.matmul(
        keras.ops.transpose(keras.ops.reshape(x16, (2, 64, 4)), (0, 2, 1)),
        keras.ops.reshape(x16, (2, 64, 4)),
    )
    assert not np.all(np.isfinite(val(naive)))
    assert np.all(np.isfinite(val(F.gram_matrix(x16))))


def test_mixed_float16_backbone_and_loss_pipeline():
    """The whole pipeline (VGG in float16, losses in float32) is finite and near float32."""
    x = random_image(16, 16, batch=1, seed=8)
    y = random_image(16, 16, batch=1, seed=9)
    layers = ["relu1_2", "relu2_2"]
    vgg32 = ks.get("vgg16", layers=layers)
    weights = vgg32.get_weights()
    style = ks.get("gram_style")
    ref = float(val(style(vgg32(y), vgg32(x))))
    keras.mixed_precision.set_global_policy("mixed_float16")
    vgg16 = ks.get("vgg16", layers=layers)
    vgg16.set_weights(weights)
    f = vgg16(x)
    assert f["relu2_2"].dtype == "float16"
    got = float(val(style(vgg16(y), f)))
    assert np.isfinite(got)
    assert got == pytest.approx(ref, rel=2e-2)  # float16 convolutions, not the loss, limit this
