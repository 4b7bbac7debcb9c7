"""Style-aware content loss GAN (Sanakoyeu et al. 2018): networks, losses, training, data, inference."""

import os

import keras
import numpy as np
import pytest
from helpers import assert_allclose, run_in_backend, run_loss_test, run_model_test

import keras_style as ks
from keras_style.errors import ConfigError, DataError

TINY = dict(ngf=2, ndf=2, num_residual_blocks=1)


def tiny(seed=0, **kw):
    return ks.get("style_aware", seed=seed, **{**TINY, **kw})


# ---------------------------------------------------------------- NumPy references
def np_sce(x, z):
    return np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))


def np_avg_pool_same(x, k):
    """TF/slim avg_pool2d SAME, stride 1: window k, pad (k-1)//2 before, rest after, mean over valid cells."""
    n, h, w, c = x.shape
    before = (k - 1) // 2
    out = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            a, b = max(0, i - before), min(h, i - before + k)
            cc, d = max(0, j - before), min(w, j - before + k)
            out[:, i, j] = x[:, a:b, cc:d].mean(axis=(1, 2))
    return out


def np_conv_same(x, kern):
    k = kern.shape[0]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    xp = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w, kern.shape[3]), "float64")
    for i in range(h):
        for j in range(w):
            out[:, i, j] = np.tensordot(xp[:, i : i + k, j : j + k], kern, axes=([1, 2, 3], [0, 1, 2]))
    return out


# ---------------------------------------------------------------- networks
def test_networks_official_layout():
    m = tiny(ngf=4, ndf=3, num_residual_blocks=2)
    x = np.random.default_rng(0).random((1, 64, 48, 3), dtype=np.float32)
    z = m.encoder(x * 2 - 1)
    assert z.shape == (1, 4, 3, 32)  # 4 stride-2 convs, 8*ngf channels
    y = m.decoder(z)
    assert y.shape == (1, 64, 48, 3)
    assert float(keras.ops.min(y)) >= -1 and float(keras.ops.max(y)) <= 1  # sigmoid*2-1
    d = m.discriminator(x)
    assert {k: tuple(v.shape) for k, v in d.items()} == {
        "scale_0": (1, 32, 24, 1),
        "scale_1": (1, 16, 12, 1),
        "scale_3": (1, 4, 3, 1),
        "scale_5": (1, 1, 1, 1),
        "scale_6": (1, 1, 1, 1),
    }
    names = {layer.name for layer in m.encoder.layers}
    assert {"g_e0_bn", "g_e1_c", "g_e1_bn", "g_e5_c", "g_e5_bn"} <= names
    assert {"g_r1", "g_r2", "g_d1_dc", "g_d4_bn", "g_pred_c"} <= {layer.name for layer in m.decoder.layers}
    assert {"d_h0_conv", "d_bn0", "d_h0_pred", "d_h6_pred"} <= {layer.name for layer in m.discriminator.layers}
    assert "d_h2_pred" not in {layer.name for layer in m.discriminator.layers}
    # no biases anywhere (ops.conv2d: biases_initializer=None)
    for net in (m.encoder, m.decoder, m.discriminator):
        for v in net.weights:
            assert "bias" not in v.path, v.path


def test_official_initialisation():
    m = tiny(ngf=8, ndf=2)
    k = keras.ops.convert_to_numpy(m.encoder.get_layer("g_e5_c").kernel)  # 3x3x32x64
    assert np.abs(k).max() <= 0.04 + 1e-6  # truncated at 2 stddev
    assert 0.015 < k.std() < 0.0205
    inner = m.decoder.get_layer("g_r1").conv1.kernel  # re-drawn inside ResidualBlock too
    assert np.abs(keras.ops.convert_to_numpy(inner)).max() <= 0.04 + 1e-6
    g = keras.ops.convert_to_numpy(m.decoder.get_layer("g_r1").norm1.gamma)
    assert abs(g.mean() - 1) < 0.02 and 0.005 < g.std() < 0.05  # scale ~ N(1, 0.02)
    assert np.all(keras.ops.convert_to_numpy(m.decoder.get_layer("g_r1").norm1.beta) == 0)


# ---------------------------------------------------------------- losses
def test_style_aware_content_loss():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 3, 8)).astype("float32"), rng.normal(size=(2, 3, 3, 8)).astype("float32")
    l1 = run_loss_test(ks.get("style_aware_content"), a, b)
    np.testing.assert_allclose(l1, np.mean(np.abs(a - b)), rtol=1e-5)
    l2 = run_loss_test(ks.get("style_aware_content", norm="l2"), a, b)
    np.testing.assert_allclose(l2, np.mean((a - b) ** 2), rtol=1e-5)
    with pytest.raises(ConfigError, match="norm"):
        ks.get("style_aware_content", norm="l3")


def test_transformed_image_loss():
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 13, 12, 3), dtype=np.float32), rng.random((2, 13, 12, 3), dtype=np.float32)
    v = run_loss_test(ks.get("transformed_image"), a, b)
    ref = np.mean((np_avg_pool_same(a, 10) - np_avg_pool_same(b, 10)) ** 2)
    np.testing.assert_allclose(v, ref, rtol=1e-4)
    conv = ks.get("transformed_image", transformer="conv", kernel_size=4, seed=3)
    v = run_loss_test(conv, a, b)
    kern = conv._kernel.astype("float64")
    np.testing.assert_allclose(np.sqrt((kern**2).sum(axis=(0, 1, 2))), 1.0, rtol=1e-5)  # weight-normalised
    ref = np.mean((np_conv_same(a, kern) - np_conv_same(b, kern)) ** 2)
    np.testing.assert_allclose(v, ref, rtol=1e-4)


def test_adversarial_losses():
    rng = np.random.default_rng(2)
    shapes = [(2, 8, 8, 1), (2, 4, 4, 1), (2, 1, 1, 1)]
    real, fake, photo = ([rng.normal(size=s).astype("float32") for s in shapes] for _ in range(3))
    g = ks.get("style_aware_generator_adversarial")
    np.testing.assert_allclose(float(g(None, fake)), sum(np_sce(f, 1) for f in fake), rtol=1e-5)
    d = ks.get("style_aware_discriminator")
    ref = sum(np_sce(r, 1) + np_sce(p, 0) + np_sce(f, 0) for r, p, f in zip(real, photo, fake))
    np.testing.assert_allclose(float(d(real, {"output": fake, "photo": photo})), ref, rtol=1e-5)
    d2 = ks.get("style_aware_discriminator", photos_as_fake=False, scale_weights=[1, 2, 3])
    ref2 = sum(w * (np_sce(r, 1) + np_sce(f, 0)) for w, r, f in zip([1, 2, 3], real, fake))
    np.testing.assert_allclose(float(d2(real, fake)), ref2, rtol=1e-5)
    with pytest.raises(ConfigError, match="photo"):
        d(real, fake)
    for loss in (g, d, d2):
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        assert again.get_config() == loss.get_config()


# ---------------------------------------------------------------- training
def _pairs(n=2, size=32, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    photo = rng.random((n, size, size, 3), dtype=np.float32)
    art = rng.random((n, size, size, 3), dtype=np.float32) ** 2
    return tf.data.Dataset.from_tensor_slices({"photo": photo, "art": art}).batch(1).repeat(), photo, art


def test_compile_defaults_and_success_rule():
    m = tiny()
    m.compile()
    for opt in (m.g_optimizer, m.d_optimizer):
        assert isinstance(opt, keras.optimizers.Adam)
        assert np.isclose(float(opt.learning_rate), 2e-4) and opt.beta_1 == 0.9 and opt.beta_2 == 0.999
        assert opt.epsilon == 1e-8
    ds, photo, art = _pairs()
    d_before = [keras.ops.convert_to_numpy(v) for v in m.discriminator.trainable_variables]
    g_before = [keras.ops.convert_to_numpy(v) for v in m.generator_trainable_variables]
    # discr_success starts at win_rate 0.8 -> a generator step
    terms = {k: float(v) for k, v in m.forward_terms(photo[:1], art[:1]).items()}
    h = m.fit(ds, steps_per_epoch=1, epochs=1, verbose=0).history
    assert h["generator_step"] == [1.0]
    np.testing.assert_allclose(h["discr_success"][0], 0.95 * 0.8 + 0.05 * (1 - terms["gener_acc"]), rtol=1e-5)
    np.testing.assert_allclose(h["generator_loss"][0], terms["generator_loss"], rtol=1e-4)
    np.testing.assert_allclose(
        terms["generator_loss"],
        terms["g_adversarial"] + 100 * terms["transformed_image"] + 100 * terms["style_aware_content"],
        rtol=1e-5,
    )
    assert all(np.array_equal(a, keras.ops.convert_to_numpy(b)) for a, b in zip(d_before, m.discriminator.trainable_variables))
    assert not all(np.array_equal(a, keras.ops.convert_to_numpy(b)) for a, b in zip(g_before, m.generator_trainable_variables))
    assert int(m.g_optimizer.iterations) == 1 and int(m.d_optimizer.iterations) == 0
    # force a discriminator step
    m.discr_success.assign(0.1)
    terms = {k: float(v) for k, v in m.forward_terms(photo[1:], art[1:]).items()}
    g_before = [keras.ops.convert_to_numpy(v) for v in m.generator_trainable_variables]
    h = m.fit(ds.skip(1), steps_per_epoch=1, epochs=1, verbose=0).history
    assert h["generator_step"] == [0.0]
    np.testing.assert_allclose(h["discr_success"][0], 0.95 * 0.1 + 0.05 * terms["discr_acc"], rtol=1e-5)
    np.testing.assert_allclose(h["discriminator_loss"][0], terms["d_adversarial"], rtol=1e-4)
    assert all(np.array_equal(a, keras.ops.convert_to_numpy(b)) for a, b in zip(g_before, m.generator_trainable_variables))
    assert int(m.g_optimizer.iterations) == 1 and int(m.d_optimizer.iterations) == 1
    expected = {"generator_loss", "discriminator_loss", "g_adversarial", "d_adversarial", "transformed_image",
                "style_aware_content", "gener_acc", "discr_acc", "generator_step", "discr_success"}
    assert expected <= set(h)


def test_backup_and_restore_resume(tmp_path):
    """Interrupted + resumed training ends with the same weights, optimiser states and discr_success."""
    ds, _, _ = _pairs(n=3)

    def run(interrupt):
        m = tiny(seed=5)
        m.compile(run_eagerly=True)  # eager: no graph tracing per fit (3 fits here); graph mode is tested above
        backup = ks.callbacks.ResumableBackup(str(tmp_path / ("b1" if interrupt else "b0")), verbose=0)

        class Stop(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if interrupt and epoch == 2:
                    raise RuntimeError("interrupted")

        if interrupt:
            with pytest.raises(RuntimeError, match="interrupted"):
                m.fit(ds, steps_per_epoch=3, epochs=4, callbacks=[backup, Stop()], verbose=0)
            m = tiny(seed=5)  # a fresh process would rebuild the model
            m.compile(run_eagerly=True)
        m.fit(ds, steps_per_epoch=3, epochs=4, callbacks=[backup], verbose=0)
        return m

    a, b = run(False), run(True)
    assert float(a.discr_success) == pytest.approx(float(b.discr_success), abs=1e-6)
    assert int(a.g_optimizer.iterations) == int(b.g_optimizer.iterations)
    assert int(a.d_optimizer.iterations) == int(b.d_optimizer.iterations)
    assert int(a.g_optimizer.iterations) + int(a.d_optimizer.iterations) == 12
    for va, vb in zip(a.weights, b.weights):
        assert_allclose(va, vb, atol=1e-5, rtol=1e-4, msg=va.path)
    for va, vb in zip(a.g_optimizer.variables, b.g_optimizer.variables):
        assert_allclose(va, vb, atol=1e-5, rtol=1e-4, msg=va.path)


def test_keras_round_trip(tmp_path):
    m = tiny(seed=3, feature_loss_norm="l2", transformer="conv", photos_as_fake=False)
    x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    m.discr_success.assign(0.5)
    # same class, weights, call() and stylize() outputs after a .keras round trip (helpers.py)
    again = run_model_test(m, x, tmp_path=tmp_path, atol=1e-6, fit=False, image=x[0]).loaded
    assert again.get_config() == m.get_config()
    assert_allclose(again(x), m(x), atol=1e-6)
    assert float(again.discr_success) == 0.5
    assert ks.describe("style_aware")["paper"] == "https://arxiv.org/abs/1807.10201"


@pytest.mark.torch_backend
@pytest.mark.slow
def test_torch_backend_train_step():
    out = run_in_backend(
        "torch",
        """
        import numpy as np, keras_style as ks
        m = ks.get("style_aware", ngf=2, ndf=2, num_residual_blocks=1, seed=0)
        m.compile()
        rng = np.random.default_rng(0)
        photo = rng.random((2, 32, 32, 3), dtype=np.float32)
        art = rng.random((2, 32, 32, 3), dtype=np.float32)
        h = m.fit({"photo": photo, "art": art}, batch_size=1, epochs=1, verbose=0, shuffle=False).history
        m.discr_success.assign(0.0)
        h2 = m.fit({"photo": photo, "art": art}, batch_size=1, epochs=1, verbose=0, shuffle=False).history
        print(int(m.g_optimizer.iterations), int(m.d_optimizer.iterations), h["generator_step"][0], h2["generator_step"][0])
        """,
    )
    g, d, s1, s2 = out.split()
    assert (int(g), int(d), float(s1), float(s2)) == (2, 2, 1.0, 0.0)


# ---------------------------------------------------------------- data
def _write_images(folder, sizes, seed=0):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_photo_art_pairs(tmp_path):
    photos = _write_images(tmp_path / "photos", [(20, 30), (50, 40)])  # smaller than the crop: upscaled
    art = _write_images(tmp_path / "art", [(60, 50), (45, 70), (40, 40)], seed=1)
    (tmp_path / "art" / "broken.jpg").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="skipped 1"):
        ds = ks.data.photo_art_pairs(photos, art, image_size=32, batch_size=2, seed=0)
    batch = next(iter(ds))
    assert batch["photo"].shape == (2, 32, 32, 3) and batch["art"].shape == (2, 32, 32, 3)
    p = batch["photo"].numpy()
    assert p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1
    # the same seed gives the same stream
    again = next(iter(ks.data.photo_art_pairs(photos, art, image_size=32, batch_size=2, seed=0)))
    np.testing.assert_array_equal(again["art"].numpy(), batch["art"].numpy())


def test_prepare_and_augment_fixes():
    from keras_style.data.photo_art import Augmentor, prepare_image

    img = np.zeros((100, 300, 3), np.uint8)
    assert prepare_image(img, 768).shape[:2] == (800, 2400)  # keeps the aspect ratio (fix)...
    assert prepare_image(img, 768, official_bugs=True).shape[:2] == (800, 800)  # ...the code squashed
    big = np.zeros((2000, 1000, 3), np.uint8)
    assert prepare_image(big, 768, upscale=2.0).shape[:2] == (1800, 900)
    rng = np.random.default_rng(0)
    aug = Augmentor(32, scale_prb=1.0, rotation_prb=0, affine_prb=0, horizontal_flip_prb=0)
    seen = set()
    for _ in range(20):
        before = np.zeros((64, 64, 3), np.uint8)
        scaled = aug(before, rng)
        assert scaled.shape == (32, 32, 3)
    # scale factors now vary (the code's uniform(-0.2, -0.2) always gave 0.8)
    from keras_style.data import photo_art

    calls = []
    orig = photo_art.scale_uint8_cv2
    try:
        photo_art.scale_uint8_cv2 = lambda im, sx, sy: calls.append((sx, sy)) or orig(im, sx, sy)
        for _ in range(10):
            aug(np.zeros((64, 64, 3), np.uint8), rng)
    finally:
        photo_art.scale_uint8_cv2 = orig
    seen = {round(f, 4) for c in calls for f in c if f is not None}
    assert len(seen) > 5 and all(0.8 <= f <= 1.2 for f in seen)


def test_art_folder_too_small(tmp_path):
    photos = _write_images(tmp_path / "photos", [(40, 40)])
    art = _write_images(tmp_path / "art", [(40, 40)])
    with pytest.raises(DataError, match="at least 2"):
        ks.data.photo_art_pairs(photos, art, image_size=32)
    with pytest.raises(DataError):
        ks.data.photo_art_pairs(photos, tmp_path / "nothing", image_size=32)


# ---------------------------------------------------------------- inference
def test_stylize_sizes_tiles_and_automatic_tiles():
    from keras_style.memory import AutoTileWarning

    m = tiny(seed=1)
    img = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32)
    out = m.stylize(img)
    assert out.shape == (40, 56, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert m.stylize(img, size=48).shape == (48, 67, 3)  # smallest side = size
    # one pass would not fit: tiles chosen by suggest_tile (say so, and how to override), and
    # the image still stylizes; tile=0 forces one pass
    with pytest.warns(AutoTileWarning, match=r"tile=N"):
        auto = m.stylize(img, memory_limit=1000)
    assert auto.shape == out.shape and np.isfinite(auto).all()
    np.testing.assert_array_equal(m.stylize(img, tile=0, memory_limit=1000), out)
    yy, xx = np.mgrid[0:160, 0:224].astype("float32")
    big = np.stack([yy / 160, xx / 224, 0.5 + 0.3 * np.sin(xx / 9) * np.cos(yy / 13)], -1).astype("float32")
    full = m.stylize(big)
    tiled = m.stylize(big, tile=128, overlap=64)  # 2x2 tiles sharing whole-image IN statistics
    assert tiled.shape == full.shape and np.isfinite(tiled).all()
    naive = m.stylize(big, tile=128, overlap=64, whole_image_stats=False)
    assert np.abs(naive - full).mean() < 0.04
    # exact whole-image statistics (the default) are closer to the one-pass result than per-tile ones
    assert np.abs(tiled - full).mean() < np.abs(naive - full).mean()
    assert np.abs(tiled - full).max() <= np.abs(naive - full).max()
    assert m.suggest_tile(2 * 2**30) % 16 == 0
    assert m.preview(big[None]).shape == (1, 160, 224, 3)


@pytest.mark.parametrize("size", [(97, 131), (61, 47)])
def test_stylize_equals_the_original_network_at_odd_sizes(tmp_path, size):
    """stylize runs the network on the image as it is (model.py `inference`: no padding) and,
    like its `resize_to_original`, resizes the 16 x latent output back (bilinear): compared
    with the plain-TF reference of module.py in tests/test_convert_style_aware.py."""
    from PIL import Image

    tcs = pytest.importorskip("test_convert_style_aware")
    from keras_style.convert import style_aware_from_tf

    a = tcs.official_arrays()
    model = style_aware_from_tf(tcs.write_checkpoint(a, tmp_path / "m.ckpt"))
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype("float32")
    img = np.stack([yy / h, xx / w, 0.5 + 0.3 * np.sin(xx / 9) * np.cos(yy / 13)], -1).astype("float32")
    x = tcs.tf.constant(img[None] * 2.0 - 1.0)
    ref = (tcs.ref_decoder(tcs.ref_encoder(x, a), a).numpy()[0] + 1.0) / 2.0
    assert ref.shape[:2] == model.output_size(h, w) != (h, w)
    ref = np.stack(
        [np.asarray(Image.fromarray(ref[..., c], mode="F").resize((w, h), Image.BILINEAR)) for c in range(3)], -1
    )
    got = model.stylize(img)
    err = np.abs(got - np.clip(ref, 0, 1)).max()
    print(f"style_aware stylize {h}x{w}: max |ours - TF reference| = {err:.2e} (std {ref.std():.2f})")
    assert got.shape == (h, w, 3) and err <= 1e-4, err


def test_too_small_images_are_refused():
    from keras_style.errors import ImageError

    m = tiny()
    assert m.min_input_size() == 19 and m.output_size(19, 16 * 5) == (32, 80)
    assert m.stylize(np.full((19, 30, 3), 0.5, "float32")).shape == (19, 30, 3)
    with pytest.raises(ImageError, match="at least 19 px"):
        m.stylize(np.full((18, 30, 3), 0.5, "float32"))


def test_train_cli(tmp_path):
    import argparse

    from keras_style.cli.train_style_aware import add_train_parser

    photos = _write_images(tmp_path / "photos", [(40, 40), (36, 48)])
    art = _write_images(tmp_path / "art", [(40, 40), (50, 40)], seed=2)
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers())
    out = tmp_path / "m.keras"
    args = parser.parse_args(
        ["style_aware", "--photos", str(photos), "--art", str(art), "--steps", "2", "-o", str(out),
         "--image-size", "32", "--ngf", "2", "--ndf", "2", "--res-blocks", "1", "--save-every", "1", "--quiet"]
    )
    assert args.func(args) == 0
    model = keras.saving.load_model(out)
    assert int(model.ngf) == 2
    assert not os.path.exists(str(out)[:-6] + ".backup")  # ResumableBackup cleans up after success
    with pytest.raises(ConfigError, match="exists"):
        args.func(args)


def test_tiles_stream_the_generator_only(monkeypatch):
    # the discriminator is not part of stylize: the generator alone is streamable in row bands,
    # and streamed tiles give the one-pass result at a multiple-of-16 size
    import keras_style.tiling as tiling

    m = tiny(seed=2)
    gen = m._tiled_network()
    assert tiling.streamable(gen) and not tiling.streamable(m)
    assert len(gen.weights) == len(m.encoder.weights) + len(m.decoder.weights)
    yy, xx = np.mgrid[0:96, 0:128].astype("float32")
    img = np.stack([yy / 96, xx / 128, 0.5 + 0.3 * np.sin(xx / 9) * np.cos(yy / 13)], -1).astype("float32")
    full = m.stylize(img)
    streamed = tiling.streamed_apply(gen, img[None], band_pixels=16 * 128)[0]
    # 28 instance norms in float32 (one pass: moments summed band by band in float64, the
    # one-pass network sums them in float32): rounding differences, not a wrong statistic,
    # which would move every pixel by far more (per-tile statistics: mean 0.0047, see stylize)
    diff = np.abs(np.clip(streamed, 0, 1) - full)
    assert diff.max() < 5e-4 and diff.mean() < 5e-5
    used = []
    real = tiling.streamed_apply
    monkeypatch.setattr(tiling, "streamed_apply", lambda *a, **k: used.append(1) or real(*a, **k))
    diff = np.abs(m.stylize(img, tile=32) - full)
    assert diff.max() < 5e-4 and diff.mean() < 5e-5
    odd = img[:87, :101]  # 16 x the latent size is 80 x 96 here: the output is resized back
    diff = np.abs(m.stylize(odd, tile=32) - m.stylize(odd))
    assert diff.max() < 5e-4 and diff.mean() < 5e-5
    assert used == [1, 1]
