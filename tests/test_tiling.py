"""keras_style.tiling: tiled == untiled, whole-image instance-norm statistics, blending."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_style.errors import ConfigError
from keras_style.methods.johnson import JohnsonTransformer
from keras_style.tiling import instance_norm_layers, tiled_apply

from helpers import random_image


def _smooth_image(size=256, seed=0):
    small = random_image(16, 16, seed=seed, batch=1)
    return np.clip(keras.ops.convert_to_numpy(keras.ops.image.resize(small, (size, size))), 0, 1)


@pytest.fixture(scope="module")
def net():
    keras.utils.set_random_seed(0)
    return JohnsonTransformer(
        width=0.125, num_residual_blocks=2, normalization="instance",
        upsampling="resize_conv", padding="reflect", layout="padded",
    )


@pytest.mark.parametrize("stream", [False, True], ids=["passes", "streamed"])
def test_tiled_equals_untiled_256_with_96px_tiles(net, stream):
    x = _smooth_image(256)
    full = keras.ops.convert_to_numpy(net(x))
    tiled = tiled_apply(net, x, tile=96, overlap=64, stream=stream)
    assert tiled.shape == full.shape
    assert np.abs(tiled - full).max() <= 2 / 255
    # naive per-tile statistics shift colours between tiles: the test is meaningful
    naive = tiled_apply(net, x, tile=96, overlap=64, whole_image_stats=False)
    assert np.abs(naive - full).max() > 10 / 255
    # fixed_moments are restored afterwards
    assert all(lyr.fixed_moments is None for lyr in instance_norm_layers(net))
    assert len(instance_norm_layers(net)) == 5 + 2 * 2


def test_stylize_tiled_matches_untiled_on_odd_size(net):
    from keras_style.methods.johnson.johnson_style_transfer import JohnsonStyleTransfer

    m = JohnsonStyleTransfer(backbone_weights=None, width=0.125, num_residual_blocks=1, normalization="instance",
                             upsampling="resize_conv", padding="reflect", layout="padded",
                             style_layers=["relu1_2"])
    x = _smooth_image(128)[0, :101, :87]
    np.testing.assert_allclose(m.stylize(x, tile=48), m.stylize(x), atol=2 / 255)


def test_feathered_blending_without_normalisation_and_upscaling():
    x = random_image(50, 70, batch=2)
    same = tiled_apply(lambda t: t * 2.0, x, tile=16, overlap=4)
    np.testing.assert_allclose(same, x * 2.0, atol=1e-6)
    up = tiled_apply(lambda t: np.repeat(np.repeat(t, 4, axis=1), 4, axis=2), x[0], tile=16, overlap=4)
    np.testing.assert_allclose(up, np.repeat(np.repeat(x[0], 4, axis=0), 4, axis=1), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        tiled_apply(lambda t: t, random_image(8, 8), tile=0)
    with pytest.raises(ConfigError):
        tiled_apply(lambda t: t, random_image(8, 8), tile=4, overlap=-1)
    with pytest.raises(ConfigError):
        tiled_apply(lambda t: t, np.zeros((8,)), tile=4)


@pytest.mark.parametrize("stream", [False, True], ids=["passes", "streamed"])
def test_paper_layout_odd_size_small_tiles_are_exact(stream):
    """The paper layout reflection-pads 40 px and shrinks the map in its valid residual
    blocks: the feature geometry is measured (two probe inputs), edge cores own the padded
    border, so even 16 px tiles of a 61x47 image are exact."""
    keras.utils.set_random_seed(0)
    net = JohnsonTransformer(width=0.125, num_residual_blocks=1, normalization="instance", layout="paper")
    x = _smooth_image(64)[:, :61, :47]
    full = keras.ops.convert_to_numpy(net(x))[:, :61, :47]
    tiled = tiled_apply(net, x, tile=16, overlap=48, stream=stream)
    assert tiled.shape[1:3] == (61, 47)
    assert np.abs(tiled - full).max() <= 2 / 255


# --------------------------------------------------------------------------- streamed inference


@pytest.mark.parametrize(
    "config",
    [
        dict(layout="paper", normalization="instance"),
        dict(layout="padded", normalization="instance", upsampling="resize_conv", padding="reflect"),
        dict(layout="padded", normalization="instance", upsampling="transposed", padding="zero"),
        dict(layout="pytorch_examples"),
    ],
    ids=["paper", "padded-resize", "padded-transposed", "pytorch_examples"],
)
def test_streamed_equals_whole_image_on_odd_sizes(config):
    """Every convolution in bands of a few rows (strided, valid, padded, upsampling and
    transposed ones), instance norm from whole-image moments: the whole-image result."""
    from keras_style.tiling import streamable, streamed_apply

    keras.utils.set_random_seed(1)
    net = JohnsonTransformer(width=0.25, num_residual_blocks=2, **config)
    assert streamable(net)
    for h, w in [(67, 45), (81, 50)]:
        x = random_image(h, w, seed=h, batch=1)
        full = keras.ops.convert_to_numpy(net(x))
        original = net.conv1.call
        streamed = streamed_apply(net, x, band_pixels=8 * w)
        assert streamed.shape == full.shape
        scale = float(np.abs(full).max())
        assert np.abs(streamed - full).max() <= 1e-5 * max(scale, 1.0)
        assert "call" not in net.conv1.__dict__ and net.conv1.call == original  # unpatched after


def test_streamed_splits_every_convolution_into_bands(monkeypatch):
    """The point of streaming: no convolution sees the whole image."""
    import keras_style.tiling as tiling

    keras.utils.set_random_seed(2)
    net = JohnsonTransformer(width=0.125, num_residual_blocks=1, normalization="instance",
                             upsampling="resize_conv", padding="reflect", layout="padded")
    heights = []
    original = tiling._banded_call

    def spy(call, geometry, band_pixels, counter):
        def inner(*args, **kwargs):
            heights.append((int(args[0].shape[1]), int(args[0].shape[2])))
            return call(*args, **kwargs)

        return original(inner, geometry, band_pixels, counter)

    monkeypatch.setattr(tiling, "_banded_call", spy)
    x = random_image(96, 40, batch=1)
    tiling.streamed_apply(net, x, band_pixels=16 * 40)
    assert heights
    # each band: about band_pixels (a number of rows for the layer's width) and its halo
    assert all(h * w <= 16 * 40 + 8 * w for h, w in heights)
    assert max(h for h, w in heights if w >= 40) < 96  # no full-resolution layer sees the 96 rows


def test_auto_stream_falls_back_to_tiles_when_memory_is_short(net, monkeypatch):
    import keras_style.tiling as tiling
    from keras_style import memory

    x = _smooth_image(128)
    full = keras.ops.convert_to_numpy(net(x))
    used = []
    real = tiling.streamed_apply
    monkeypatch.setattr(tiling, "streamed_apply", lambda *a, **k: used.append(1) or real(*a, **k))
    np.testing.assert_allclose(tiled_apply(net, x, tile=48), full, atol=2 / 255)
    assert used == [1]  # enough memory: streamed
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 20)
    np.testing.assert_allclose(tiled_apply(net, x, tile=48), full, atol=2 / 255)
    assert used == [1]  # 1 MB: tiles
    with pytest.raises(ConfigError, match="stream"):
        tiled_apply(net, x, tile=48, stream="yes")


def test_streamed_refuses_networks_it_cannot_band():
    inputs = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)
    from keras_style.layers.instance_normalization import InstanceNormalization

    y = InstanceNormalization()(y)
    model = keras.Model(inputs, y)
    from keras_style.tiling import streamable

    assert not streamable(model)  # TF-style 'same' padding with a stride shifts with the band
    x = random_image(32, 32, batch=1)
    with pytest.raises(ConfigError, match="stream=False"):
        tiled_apply(model, x, tile=16, overlap=8, align=2, stream=True)
    # auto: tiles, still exact
    np.testing.assert_allclose(tiled_apply(model, x, tile=16, overlap=8, align=2),
                               keras.ops.convert_to_numpy(model(x)), atol=1e-5)


def test_streamed_memory_estimate_counts_the_widest_activation(net):
    from keras_style import memory

    # width 0.125: 4 channels at full resolution, 8 at 1/2, 16 at 1/4; the last resize-conv takes
    # the 8 channels upsampled to full resolution: 8 floats per input pixel (an upper bound)
    assert memory.activation_floats(net) == pytest.approx(8.0)
    # streaming bands the resize-convs, so the widest whole-image map is their 4-channel output
    from keras_style.tiling import probe_activation_floats

    assert probe_activation_floats(net, 3, 4) == pytest.approx(4.0)
    assert memory.streamed_bytes(net, 100, 100, widest=4.0) < memory.streamed_bytes(net, 100, 100)
    small, big = (memory.streamed_bytes(net, s, s) for s in (1000, 2000))
    assert big > 3.5 * (small - memory.weights_bytes(net) - memory.bytes_per_pixel(net) * (1 << 20)) > 0
