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


def test_tiled_equals_untiled_256_with_96px_tiles(net):
    x = _smooth_image(256)
    full = keras.ops.convert_to_numpy(net(x))
    tiled = tiled_apply(net, x, tile=96, overlap=64)
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


def test_paper_layout_odd_size_small_tiles_are_exact():
    """The paper layout reflection-pads 40 px and shrinks the map in its valid residual
    blocks: the feature geometry is measured (two probe inputs), edge cores own the padded
    border, so even 16 px tiles of a 61x47 image are exact."""
    keras.utils.set_random_seed(0)
    net = JohnsonTransformer(width=0.125, num_residual_blocks=1, normalization="instance", layout="paper")
    x = _smooth_image(64)[:, :61, :47]
    full = keras.ops.convert_to_numpy(net(x))[:, :61, :47]
    tiled = tiled_apply(net, x, tile=16, overlap=48)
    assert tiled.shape[1:3] == (61, 47)
    assert np.abs(tiled - full).max() <= 2 / 255
