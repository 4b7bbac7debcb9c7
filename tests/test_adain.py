"""AdaIN (Huang & Belongie 2017): model, controls, training, data, CLI hooks.

Tiny sizes, random weights, a narrow decoder (decoder_width) to stay fast.
"""

import argparse
import warnings

import keras
import numpy as np
import pytest
from helpers import assert_allclose, random_image, run_in_backend

import keras_style as ks
from keras_style.errors import ConfigError, ImageError
from keras_style.methods.adain import controls

W = 0.0625  # decoder width for tests (the default 1.0 is the official decoder)


def tiny(**kw):
    """A narrow AdaIN whose inference runs in graph mode (XLA compiles per shape: slow here)."""
    m = ks.get("adain", **{"encoder": "vgg16", "decoder_width": W, **kw})
    m.jit_compile_inference = False
    return m


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return tiny()


def smooth_image(h, w, seed=0):
    """A smooth random image (random weights amplify pixel noise less than with white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, h // 8), max(2, w // 8), 3)).astype("float32")
    return np.asarray(keras.ops.image.resize(small, (h, w)), "float32").clip(0, 1)


def test_registered_and_config_round_trip(tmp_path):
    assert "adain" in ks.names(kind="method")
    m = ks.get("adain", encoder="vgg16", decoder_width=W, style_weight=3.0)
    cfg = m.get_config()
    assert cfg["encoder"] == "vgg16" and cfg["decoder_width"] == W and cfg["style_weight"] == 3.0
    c, s = random_image(24, 32, seed=1, batch=1), random_image(16, 16, seed=2, batch=1)
    y = m((c, s))
    assert tuple(y.shape) == (1, 24, 32, 3)
    path = tmp_path / "adain.keras"
    m.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again, type(m))
    assert_allclose(again((c, s)), y, atol=1e-5)


def test_official_decoder_layout():
    dec = ks.methods.adain.build_decoder()
    convs = [layer for layer in dec.layers if isinstance(layer, keras.layers.Conv2D)]
    shapes = [tuple(c.kernel.shape) for c in convs]
    assert shapes == [
        (3, 3, 512, 256),
        (3, 3, 256, 256),
        (3, 3, 256, 256),
        (3, 3, 256, 256),
        (3, 3, 256, 128),
        (3, 3, 128, 128),
        (3, 3, 128, 64),
        (3, 3, 64, 64),
        (3, 3, 64, 3),
    ]
    assert convs[-1].activation is keras.activations.linear
    assert all(c.activation is keras.activations.relu for c in convs[:-1])
    from keras_style.layers import NearestUpsampling2D

    ups = [layer for layer in dec.layers if isinstance(layer, NearestUpsampling2D)]
    assert len(ups) == 3 and all(u.size == 2 for u in ups)


@pytest.mark.parametrize("encoder", ["vgg19_normalised", "vgg16"])
def test_odd_sizes_are_cropped_to_the_content(encoder):
    m = tiny(encoder=encoder)
    c, s = random_image(37, 45, batch=1), random_image(20, 28, seed=3, batch=1)
    assert tuple(m((c, s)).shape) == (1, 37, 45, 3)
    assert m.stylize(c[0], s[0]).shape == (37, 45, 3)


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """The official encoder/decoder written in PyTorch (tests/test_convert_adain.py) with
    random weights, converted; the last conv is scaled so outputs span about [-1, 1]."""
    tca = pytest.importorskip("test_convert_adain")
    torch = tca.torch
    torch.manual_seed(0)
    vgg, dec = tca.torch_vgg(), tca.torch_decoder()
    with torch.no_grad():
        w = torch.zeros(3, 3, 1, 1)
        w[0, 2] = w[1, 1] = w[2, 0] = 255.0
        vgg[0].weight.copy_(w)
        vgg[0].bias.copy_(-torch.tensor([103.939, 116.779, 123.68]))
        dec[28].weight.mul_(50.0)
        dec[28].bias.mul_(50.0)
    d = tmp_path_factory.mktemp("adain_official")
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    m = tca.adain_from_torch(d / "decoder.pth", d / "vgg_normalised.pth")
    m.jit_compile_inference = False
    return tca, vgg, dec, m


@pytest.mark.parametrize("size", [(97, 131), (61, 47)])
def test_stylize_equals_the_original_network_at_odd_sizes(official, size):
    """vgg19_normalised ceil-pools (no padding, as both original codes): stylize returns the
    original pipeline's output (8*ceil(h/8) rows) cropped to the content, within 1e-4."""
    tca, vgg, dec, m = official
    h, w = size
    c = random_image(h, w, seed=h, batch=1)
    s = random_image(40, 56, seed=2, batch=1)
    ref = tca.torch_stylize(vgg, dec, c, s, alpha=0.7)
    assert ref.shape[1:3] == (8 * -(-h // 8), 8 * -(-w // 8))
    ref = ref[0, :h, :w]
    scale = np.abs(ref).max()
    got = m.stylize(c[0], s[0], alpha=0.7)
    err = np.abs(got - np.clip(ref, 0, 1)).max()
    print(f"AdaIN stylize {h}x{w}: max |ours - torch| = {err:.2e} (scale {scale:.2f})")
    assert err <= 1e-4 * max(1.0, scale), err


def test_alpha_zero_is_decode_of_encode(model):
    c, s = smooth_image(40, 48), smooth_image(32, 32, seed=1)
    out = model.stylize(c, s, alpha=0.0)
    ref = np.clip(model.decode(model.encode(c[None]))[0, :40, :48], 0, 1)
    assert_allclose(out, ref, atol=1e-6)
    half = model.stylize(c, s, alpha=0.5)
    full = model.stylize(c, s)
    assert not np.allclose(half, full) and not np.allclose(half, out)


def test_call_alpha_matches_stylize(model):
    c, s = smooth_image(32, 40), smooth_image(32, 32, seed=1)
    y = np.clip(np.asarray(model((c[None], s[None]), alpha=0.7))[0], 0, 1)
    assert_allclose(model.stylize(c, s, alpha=0.7), y, atol=1e-4)


def test_interpolation_one_zero_equals_single_style(model):
    c, a, b = smooth_image(32, 40), smooth_image(24, 24, seed=1), smooth_image(40, 32, seed=2)
    single = model.stylize(c, a)
    mixed = model.stylize(c, [a, b], style_weights=[1.0, 0.0])
    assert_allclose(mixed, single, atol=1e-5)
    both = model.stylize(c, [a, b], style_weights=[0.5, 0.5])
    assert not np.allclose(both, single, atol=1e-4)


def test_weights_not_summing_to_one_are_normalised_with_a_warning(model):
    c, a, b = smooth_image(32, 32), smooth_image(24, 24, seed=1), smooth_image(24, 24, seed=2)
    with pytest.warns(UserWarning, match="normalised"):
        out = model.stylize(c, [a, b], style_weights=[1, 3])
    assert_allclose(out, model.stylize(c, [a, b], style_weights=[0.25, 0.75]), atol=1e-6)


def test_masks_covering_everything_equal_single_style(model):
    c, a, b = smooth_image(32, 40), smooth_image(24, 24, seed=1), smooth_image(24, 24, seed=2)
    ones, zeros = np.ones((32, 40), "float32"), np.zeros((32, 40), "float32")
    single = model.stylize(c, a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # style b's region is empty
        masked = model.stylize(c, [a, b], masks=[ones, zeros])
    assert_allclose(masked, single, atol=1e-5)


def test_two_region_masks(model):
    c, a, b = smooth_image(48, 48), smooth_image(24, 24, seed=1), smooth_image(24, 24, seed=2)
    left = np.zeros((48, 48), "float32")
    left[:, :24] = 1
    out = model.stylize(c, [a, b], masks=[left, 1 - left])
    assert out.shape == (48, 48, 3)
    assert not np.allclose(out, model.stylize(c, a), atol=1e-4)


def test_masked_adain_statistics():
    rng = np.random.default_rng(0)
    feat = rng.normal(size=(1, 6, 8, 4)).astype("float32")
    labels = np.zeros((1, 6, 8), "int32")
    labels[:, :, 4:] = 1
    means = [np.full((1, 1, 1, 4), 2.0, "float32"), np.full((1, 1, 1, 4), -1.0, "float32")]
    stds = [np.full((1, 1, 1, 4), 3.0, "float32"), np.full((1, 1, 1, 4), 0.5, "float32")]
    out = np.asarray(controls.masked_adain(feat, labels, means, stds))
    left, right = out[0, :, :4], out[0, :, 4:]
    assert_allclose(left.mean((0, 1)), [2.0] * 4, atol=1e-5)
    assert_allclose(right.mean((0, 1)), [-1.0] * 4, atol=1e-5)
    assert_allclose(left.std((0, 1), ddof=1), [3.0] * 4, atol=1e-3)
    assert_allclose(right.std((0, 1), ddof=1), [0.5] * 4, atol=1e-3)


def test_bad_inputs(model):
    c, a, b = smooth_image(32, 32), smooth_image(24, 24, seed=1), smooth_image(24, 24, seed=2)
    with pytest.raises(ConfigError, match="style_weights has 3"):
        model.stylize(c, [a, b], style_weights=[0.2, 0.3, 0.5])
    with pytest.raises(ConfigError, match="alpha"):
        model.stylize(c, a, alpha=1.5)
    with pytest.raises(ConfigError, match="alpha"):
        model.stylize(c, a, alpha=-0.1)
    with pytest.raises(ConfigError, match=">= 0"):
        model.stylize(c, [a, b], style_weights=[-1, 2])
    with pytest.raises(ConfigError, match="all zero"):
        model.stylize(c, [a, b], style_weights=[0, 0])
    ones = np.ones((32, 32), "float32")
    with pytest.raises(ConfigError, match="content image is 32x32"):
        model.stylize(c, [a, b], masks=[np.ones((16, 16)), np.zeros((16, 16))])
    with pytest.raises(ConfigError, match="do not cover"):
        model.stylize(c, [a, b], masks=[np.zeros((32, 32)), np.zeros((32, 32))])
    with pytest.raises(ConfigError, match="overlap"):
        model.stylize(c, [a, b], masks=[ones, ones])
    with pytest.raises(ConfigError, match="one mask per style"):
        model.stylize(c, [a, b], masks=[ones])
    with pytest.raises(ConfigError, match="not both"):
        model.stylize(c, [a, b], masks=[ones, 0 * ones], style_weights=[0.5, 0.5])
    with pytest.raises(ConfigError, match="needs a style"):
        model.stylize(c)
    with pytest.raises(ImageError):
        model.stylize(c * 300.0, a)
    with pytest.raises(ConfigError, match="encoder"):
        ks.get("adain", encoder="resnet50")
    with pytest.raises(ConfigError, match="decoder_width"):
        ks.get("adain", decoder_width=0)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_weights_from_another_architecture_are_refused(tmp_path):
    other = ks.get("adain", encoder="vgg16", decoder_width=0.125)
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)
    with pytest.raises(ks.ConversionError, match="does not fit"):
        ks.get("adain", encoder="vgg16", decoder_width=W, weights=str(path))


def test_encoded_style_is_reused(model):
    c1, c2, s = smooth_image(32, 32), smooth_image(40, 24, seed=5), smooth_image(48, 48, seed=1)
    enc = model.encode_style(s)
    assert repr(enc).startswith("EncodedStyle(vgg16")
    assert_allclose(model.stylize(c1, style=enc), model.stylize(c1, s), atol=1e-6)
    assert_allclose(model.stylize(c2, enc), model.stylize(c2, s), atol=1e-6)
    other = tiny(encoder="vgg19")
    with pytest.raises(ConfigError, match="encoder"):
        other.stylize(c1, enc)


def test_coral_matches_colour_statistics():
    rng = np.random.default_rng(0)
    src = rng.random((20, 30, 3)).astype("float32") * np.array([1.0, 0.3, 0.6], "float32")
    # same pixel count: the originals' covariances are not divided by the pixel count, so
    # with different counts the std comes out scaled by sqrt(N_target / N_source) (kept as is)
    tgt = (rng.random((24, 25, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.2], [0, 0, 1]])).astype(
        "float32"
    ) / 2
    out = controls.coral(src, tgt)
    assert out.shape == src.shape
    assert_allclose(out.reshape(-1, 3).mean(0), tgt.reshape(-1, 3).mean(0), atol=1e-4)
    assert_allclose(
        out.reshape(-1, 3).std(0, ddof=1), tgt.reshape(-1, 3).std(0, ddof=1), rtol=2e-3, atol=0
    )
    # grayscale source: finite thanks to the +I in the covariances
    grey = np.repeat(rng.random((10, 10, 1)), 3, -1).astype("float32")
    assert np.isfinite(controls.coral(grey, tgt)).all()


def test_preserve_color_grayscale_larger_style_rgba_content(model):
    c = smooth_image(32, 40)
    rgba = np.concatenate([c, np.linspace(0, 1, 32 * 40, dtype="float32").reshape(32, 40, 1)], -1)
    grey_big = smooth_image(96, 120, seed=3)[..., 0]  # 2-D grayscale, larger than the content
    out = model.stylize(rgba, grey_big)
    assert out.shape == (32, 40, 4)
    assert_allclose(out[..., 3], rgba[..., 3], atol=0)
    assert_allclose(out[..., :3], model.stylize(c, grey_big), atol=1e-6)
    col = model.stylize(c, smooth_image(24, 24, seed=4), preserve_color=True)
    assert col.shape == (32, 40, 3) and np.isfinite(col).all()
    assert not np.allclose(col, model.stylize(c, smooth_image(24, 24, seed=4)), atol=1e-4)


def test_sizes(model):
    c, s = smooth_image(40, 64), smooth_image(64, 64, seed=1)
    assert model.stylize(c, s).shape == (40, 64, 3)  # default: keep the content's size
    assert model.stylize(c, s, content_size=24).shape == (24, 38, 3)
    assert model.stylize(c, s, style_size=16).shape == (40, 64, 3)
    with pytest.raises(ConfigError, match="content_size"):
        model.stylize(c, s, content_size=2)


def calibrate(m, image):
    """Scale the random decoder's last conv so outputs span about [0, 1] (std 0.2)."""
    last = m.decoder.get_layer("conv1_1")
    k, b = last.get_weights()
    raw = m.decode(m.encode(image[None]))
    sc = 0.2 / raw.std()
    last.set_weights([k * sc, b * sc + 0.5 - raw.mean() * sc])


def test_tiled_equals_untiled_256_with_96px_tiles():
    """Exact tiling: the content statistics are gathered over the tile cores first (the
    InstanceNormalization mechanism of keras_style.tiling), crops are 8-px aligned and carry
    80 px of context, so tiles of 96 px reproduce the untiled image within 2/255."""
    keras.utils.set_random_seed(1)
    m = tiny(encoder="vgg19_normalised")
    c, s = smooth_image(256, 256, seed=7), smooth_image(32, 32, seed=1)
    calibrate(m, c)
    full = m.stylize(c, s)
    assert full.std() > 0.1
    tiled = m.stylize(c, s, tile=96)
    assert tiled.shape == full.shape
    err = np.abs(tiled - full).max()
    print(f"AdaIN tiled 256 px / 96 px tiles: max |tiled - untiled| = {err * 255:.4f}/255")
    assert err <= 2 / 255, err * 255


def test_tiled_odd_size_masks_and_interpolation():
    keras.utils.set_random_seed(2)
    m = tiny()  # vgg16 encoder: reflect-padded to a multiple of 8 (floor pooling)
    c = smooth_image(61, 47, seed=3)
    s1, s2 = smooth_image(32, 32, seed=1), smooth_image(24, 40, seed=9)
    calibrate(m, c)
    mask = np.zeros((61, 47), "float32")
    mask[:, 20:] = 1
    full = m.stylize(c, [s1, s2], masks=[mask, 1 - mask])
    tiled = m.stylize(c, [s1, s2], masks=[mask, 1 - mask], tile=32, overlap=80)
    assert np.abs(tiled - full).max() <= 2 / 255
    full = m.stylize(c, [s1, s2], style_weights=[0.3, 0.7], alpha=0.6)
    tiled = m.stylize(c, [s1, s2], style_weights=[0.3, 0.7], alpha=0.6, tile=32, overlap=80)
    assert np.abs(tiled - full).max() <= 2 / 255
    with pytest.raises(ConfigError, match="tile"):
        m.stylize(c, s1, tile=8)
    with pytest.raises(ConfigError, match="overlap"):
        m.stylize(c, s1, tile=32, overlap=-1)
    # the whole-image statistics mechanism at work: one content-norm layer, restored after
    from keras_style.methods.adain.tiled import AdaINPipeline
    from keras_style.tiling import instance_norm_layers

    e = m.encode_style(s1)
    pipe = AdaINPipeline(m, [(e.mean, e.std)], [1.0], False, 1.0)
    assert instance_norm_layers(pipe) == [pipe.norm] and pipe.norm.fixed_moments is None


def test_training_defaults_and_fit(model):
    import tensorflow as tf

    m = tiny()
    m.compile(jit_compile=False)
    lr = m.optimizer.learning_rate
    assert isinstance(m.optimizer, keras.optimizers.Adam)
    sched = m.optimizer._learning_rate
    assert isinstance(sched, keras.optimizers.schedules.LearningRateSchedule)
    assert float(sched(0)) == pytest.approx(1e-4, rel=1e-6)
    assert float(sched(160000)) == pytest.approx(1e-4 / (1 + 5e-5 * 160000), rel=1e-6)
    assert float(lr) == pytest.approx(1e-4)
    assert m.optimizer.epsilon == 1e-8
    data = {
        "content": np.stack([smooth_image(32, 32, seed=i) for i in range(4)]),
        "style": np.stack([smooth_image(32, 32, seed=10 + i) for i in range(4)]),
    }
    ds = tf.data.Dataset.from_tensor_slices(data).batch(2)
    hist = m.fit(ds, epochs=1, verbose=0)
    assert {"loss", "content_loss", "style_loss"} <= set(hist.history)
    assert all(np.isfinite(v[0]) for v in hist.history.values())
    loss = float(m.compute_loss(x=(data["content"][:2], data["style"][:2])))
    assert np.isfinite(loss)


def test_preview(model):
    c = np.stack([smooth_image(32, 32, seed=i) for i in range(2)])
    s = np.stack([smooth_image(32, 32, seed=5 + i) for i in range(2)])
    out = model.preview((c, s))
    assert out.shape == (2, 32, 32, 3) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ConfigError, match="preview"):
        model.preview(c)
    m = tiny(preview_styles=[s[0]])
    assert m.preview(c).shape == (2, 32, 32, 3)
    cb = ks.get("stylized_preview", images=c, directory=None)
    cb.set_model(m)
    assert cb._save("x").shape == (64, 64, 3)


def test_content_style_pairs(tmp_path):
    from PIL import Image

    for folder, n in (("content", 5), ("style", 3)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            arr = (random_image(40 + 8 * i, 56, seed=i) * 255).astype("uint8")
            Image.fromarray(arr).save(tmp_path / folder / f"{i}.png")
    ds = ks.data.content_style_pairs(
        tmp_path / "content", tmp_path / "style", image_size=32, batch_size=2, load_size=48, seed=0
    )
    batches = list(ds)
    assert len(batches) == 2  # one pass over 5 contents in batches of 2 (remainder dropped)
    for b in batches:
        assert b["content"].shape == (2, 32, 32, 3) and b["style"].shape == (2, 32, 32, 3)
        assert float(np.max(b["content"])) <= 1.0
    sq = ks.data.content_style_pairs(
        tmp_path / "content",
        tmp_path / "style",
        image_size=32,
        batch_size=2,
        load_size=32,
        resize="square",
        repeat=True,
    )
    assert next(iter(sq))["style"].shape == (2, 32, 32, 3)
    with pytest.raises(ConfigError, match="load_size"):
        ks.data.content_style_pairs(tmp_path / "content", tmp_path / "style", 64, load_size=32)
    with pytest.raises(ks.DataError):
        ks.data.content_style_pairs(tmp_path / "nothing", tmp_path / "style")


def test_train_parser_and_stylize_folder(tmp_path, model):
    from PIL import Image

    from keras_style.cli.train_adain import add_train_parser

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_train_parser(sub)
    args = parser.parse_args(
        ["adain", "--content", "c/", "--style", "s/", "--steps", "3", "-o", "x.keras"]
    )
    assert args.steps == 3 and args.func is not None

    for folder, n in (("c", 2), ("s", 2)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            arr = (smooth_image(24, 32, seed=i + 3 * n) * 255).astype("uint8")
            Image.fromarray(arr).save(tmp_path / folder / f"{folder}{i}.png")
    # style files are encoded once per model (CLI folder mode calls stylize per pair)
    first = model.stylize(str(tmp_path / "c" / "c0.png"), str(tmp_path / "s" / "s0.png"))
    cache = model.__dict__["_style_cache"]
    n = len(cache)
    again = model.stylize(str(tmp_path / "c" / "c1.png"), str(tmp_path / "s" / "s0.png"))
    assert len(cache) == n and first.shape == again.shape
    written = model.stylize_folder(tmp_path / "c", tmp_path / "s", tmp_path / "out", verbose=0)
    assert sorted(p.name for p in written) == [
        "c0__s0.png",
        "c0__s1.png",
        "c1__s0.png",
        "c1__s1.png",
    ]


def test_torch_backend():
    out = run_in_backend(
        "torch",
        """
        import numpy as np, keras_style as ks
        m = ks.get("adain", encoder="vgg16", decoder_width=0.0625)
        m.jit_compile_inference = False
        c = np.random.rand(1, 37, 45, 3).astype("float32")
        s = np.random.rand(1, 24, 24, 3).astype("float32")
        assert tuple(m((c, s)).shape) == (1, 37, 45, 3)
        assert m.stylize(c[0], [s[0], s[0]], style_weights=[0.5, 0.5], alpha=0.5).shape == (37, 45, 3)
        m.compile(jit_compile=False)
        h = m.fit({"content": c[:, :32, :32], "style": s}, epochs=1, verbose=0)
        print("ok", sorted(h.history))
        """,
    )
    assert "ok ['content_loss', 'loss', 'style_loss']" in out


def test_run_model_test_on_tiny_adain(tmp_path):
    """tests/helpers.run_model_test: predict, one fit step with ``compile()`` (the paper's
    Adam 1e-4 with inverse-time decay), a .keras round trip with identical outputs."""
    import tensorflow as tf
    from helpers import run_model_test

    keras.utils.set_random_seed(1)
    m = tiny()
    c, s = random_image(32, 32, seed=1, batch=2), random_image(32, 32, seed=2, batch=2)
    run_model_test(
        m, (c, s), tmp_path=tmp_path, expected_shape=(2, 32, 32, 3), image=random_image(32, 32, seed=3),
        image_kwargs={"style": random_image(32, 32, seed=4)},
        fit_data=tf.data.Dataset.from_tensor_slices({"content": c, "style": s}).batch(2),
        compile_kwargs={"jit_compile": False, "run_eagerly": True},
    )
    assert isinstance(m.optimizer, keras.optimizers.Adam)
