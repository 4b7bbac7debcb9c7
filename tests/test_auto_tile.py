"""Python `stylize` / `upscale` without ``tile`` estimate their memory first and run in pieces
(exactly) when one piece would not fit, as the CLI does; ``tile=0`` forces one piece.

The memory figures are monkeypatched (`keras_style.memory.available_bytes`) so that a small
test image "does not fit"; that pieces give the one-piece result is checked here too, at
small scale (the exactness of each route is keras_style.tiling's own test)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import keras_style as ks
from keras_style import memory
from keras_style.memory import AutoTileWarning


def _smooth(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype("float32")
    return np.stack(
        [yy / h, xx / w, 0.5 + 0.3 * np.sin(xx / 7.0) * np.cos(yy / 11.0)], -1
    ).astype("float32")


def _tiny(name):
    model = ks.get(name, **ks.registry.entry(name).test_config)
    model.__dict__["_untrained_warned"] = True  # random test weights: the untrained warning is not the subject
    return model


def _one_piece_does_not_fit(monkeypatch, model, h, w):
    """Available memory between what a streamed run and a one-piece run need."""
    need = memory.estimate_bytes(model, h, w)
    monkeypatch.setattr(memory, "available_bytes", lambda: int(need * 1.5))  # fraction 0.5: too little


CASES = {
    "johnson": lambda m, x, **k: m.stylize(x, **k),
    "multistyle": lambda m, x, **k: m.stylize(x, style=1, **k),
    "arbitrary_stylization": lambda m, x, **k: m.stylize(x, _smooth(48, 48)[::-1], **k),
    "adain": lambda m, x, **k: m.stylize(x, _smooth(48, 48)[::-1], **k),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_stylize_chooses_pieces_when_one_piece_would_not_fit(name, monkeypatch):
    model = _tiny(name)
    run = CASES[name]
    x = _smooth(96, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoTileWarning)  # fits: one piece, no warning
        whole = run(model, x)
    _one_piece_does_not_fit(monkeypatch, model, 96, 80)
    assert memory.auto_tile(model, 96, 80) is not None
    with pytest.warns(AutoTileWarning, match=r"tile=N.*tile=0") as record:
        auto = run(model, x)
    message = next(str(r.message) for r in record if issubclass(r.category, AutoTileWarning))
    assert "80x96" in message and "exact" in message
    # pieces (streamed or tiled) give the one-piece result
    np.testing.assert_allclose(auto, whole, atol=1e-4)
    # tile=0: one piece whatever the estimate, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoTileWarning)
        forced = run(model, x, tile=0)
    np.testing.assert_allclose(forced, whole, atol=1e-6)


def test_johnson_stylize_runs_the_tile_it_chose(monkeypatch):
    model = _tiny("johnson")
    x = _smooth(96, 80)
    seen = []
    real = model._run
    monkeypatch.setattr(model, "_run", lambda xb, tile=None, **k: seen.append(tile) or real(xb, tile=tile, **k))
    model.stylize(x)
    _one_piece_does_not_fit(monkeypatch, model, 96, 80)
    with pytest.warns(AutoTileWarning):
        model.stylize(x)
    model.stylize(x, tile=0)
    model.stylize(x, tile=48)
    assert seen[0] is None and seen[1] == memory.auto_tile(model, 96, 80, align=model.transform.stride)
    assert seen[2:] == [None, 48]


def test_johnson_sr_upscale_chooses_pieces(monkeypatch):
    model = _tiny("johnson_sr")
    x = _smooth(40, 36)
    whole = model.upscale(x)
    _one_piece_does_not_fit(monkeypatch, model, 40, 36)
    with pytest.warns(AutoTileWarning):
        auto = model.upscale(x)
    np.testing.assert_allclose(auto, whole, atol=1e-5)


def test_an_estimate_that_fails_never_stops_a_run(monkeypatch):
    model = _tiny("johnson")

    def broken(*a, **k):
        raise RuntimeError("no estimate")

    monkeypatch.setattr(memory, "auto_tile", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutoTileWarning)
        assert model.stylize(_smooth(40, 40)).shape == (40, 40, 3)


def test_layer_order_follows_nested_functional_networks():
    # Keras' recursive _flatten_layers lists a nested model's layers last to first; the
    # estimate walks them in the order they run, so the encoder's poolings divide the cost
    # of the convolutions after them (AdaIN at 1024 px: about 5 GB with the maps its functional
    # decoder keeps, where the reversed order gave 21 GB)
    model = ks.get("adain", encoder="vgg16", encoder_weights=None)
    names = [n for n, _ in memory.conv_costs(memory.inference_network(model))]
    assert names[:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    costs = dict(memory.conv_costs(memory.inference_network(model)))
    assert costs["block4_conv1"] == pytest.approx((9 * 256 + 256 + 512) / 64)  # at 1/8 resolution
    assert memory.estimate_bytes(model, 1024, 1024) < 6 * 2**30
    assert memory.retained_floats(model.decoder) > 400  # its full-resolution maps, all kept in an eager call
    assert memory.auto_tile(model, 1024, 1024, available=21 * 2**30) is None


def test_adain_tiles_stream_with_whole_image_content_statistics(monkeypatch):
    # AdaIN's one whole-image statistic (the content normalisation, keras_style/methods/adain/
    # tiled.py) is computed band by band when streaming, with the whole map's count: streamed
    # == one piece, single style and masks
    import keras_style.tiling as tiling
    from keras_style.methods.adain.tiled import AdaINPipeline

    model = _tiny("adain")
    x, style = _smooth(192, 160), _smooth(64, 64)[::-1]
    used = []
    real = tiling.streamed_apply
    monkeypatch.setattr(tiling, "streamed_apply", lambda *a, **k: used.append(1) or real(*a, **k))
    whole = model.stylize(x, style, tile=0)
    np.testing.assert_allclose(model.stylize(x, style, tile=16, overlap=80), whole, atol=1e-5)
    left = np.zeros((192, 160), "float32")
    left[:, :80] = 1
    both = [style, _smooth(64, 64)]
    whole = model.stylize(x, both, masks=[left, 1 - left], tile=0)
    np.testing.assert_allclose(model.stylize(x, both, masks=[left, 1 - left], tile=16, overlap=80), whole, atol=1e-5)
    assert used == [1, 1]
    # the plan the CLI prints sees the same: the pipeline streams (a probe with 3 channels)
    enc = [model._cached_style(style, None)]
    pipe = AdaINPipeline(model, [(e.mean, e.std) for e in enc], [1.0], False, 1.0)
    assert tiling.would_stream(pipe, 192, 160, 16)


def test_streaming_counts_what_functional_models_keep(monkeypatch):
    # an eager call of a functional model keeps every intermediate map until it returns, so a
    # full-resolution functional decoder (AdaIN's) must not be streamed on the memory of one
    # layer's maps: at 12 MP with 22 GB it runs in tiles (before: streamed, then out of memory)
    import keras_style.tiling as tiling
    from keras_style.methods.adain.tiled import AdaINPipeline

    model = ks.get("adain", encoder="vgg16", encoder_weights=None)
    enc = [model._cached_style(_smooth(64, 64), None)]
    pipe = AdaINPipeline(model, [(e.mean, e.std) for e in enc], [1.0], False, 1.0)
    widest, retained = tiling.probe_stream_floats(pipe, 3, 8)
    assert widest == pytest.approx(64 * (66 / 64) ** 2, rel=0.05)  # a padded 64-channel full-resolution map
    assert retained > 500  # the decoder's maps at 1/8 .. 1 resolution, all kept
    monkeypatch.setattr(memory, "available_bytes", lambda: 22 * 2**30)
    assert not tiling.would_stream(pipe, 3024, 4032, 1456)
    assert tiling.would_stream(pipe, 1024, 768, 512)
    # a subclassed network keeps nothing beyond the widest maps
    johnson = _tiny("johnson")
    assert tiling.probe_stream_floats(johnson.transform, 3, johnson.transform.stride)[1] == 0


def test_super_resolution_tile_zero_is_one_piece():
    # waifu2x / Real-ESRGAN plan their own pieces from memory_budget; tile=0 overrides the plan
    model = _tiny("waifu2x_photo")
    x = _smooth(40, 36)
    seen = []
    real = model._run
    model._run = lambda xb, tile=None, **k: seen.append(tile) or real(xb, tile=tile, **k)
    small = int(model.estimate_memory(40, 36) * 0.8)  # one piece does not fit, tiles do
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the overlap warning of a tight budget
        tiled = model.upscale(x, memory_budget=small)
    one = model.upscale(x, tile=0, memory_budget=small)
    assert seen[0] is not None and seen[1] is None
    np.testing.assert_allclose(tiled, one, atol=1e-4)
