"""Loss and statistics functions on tensors (backend-agnostic, float32 inside).

Layout: NHWC unless ``data_format="channels_first"``.
"""

from __future__ import annotations

import keras
from keras import ops


def _channel_axis(data_format):
    data_format = keras.backend.standardize_data_format(data_format)
    return (1, 2, 3, 1) if data_format == "channels_last" else (2, 3, 1, 0)


def spatial_axes(data_format=None):
    data_format = keras.backend.standardize_data_format(data_format)
    return (1, 2) if data_format == "channels_last" else (2, 3)


def mean_std(x, epsilon=1e-5, unbiased=True, data_format=None, keepdims=True):
    """Per-sample, per-channel mean and std over spatial positions, in float32.

    ``unbiased=True`` with ``epsilon`` inside the square root mirrors pytorch-AdaIN's
    ``calc_mean_std`` (sqrt(var_unbiased + eps)); ``unbiased=False`` gives the biased std
    of the Lua original's target statistics.
    """
    x = ops.cast(x, "float32")
    axes = spatial_axes(data_format)
    mean = ops.mean(x, axis=axes, keepdims=True)
    sq = ops.mean(ops.square(x - mean), axis=axes, keepdims=True)
    if unbiased:
        shape = ops.shape(x)
        n = ops.cast(shape[axes[0]] * shape[axes[1]], "float32")
        sq = sq * n / ops.maximum(n - 1.0, 1.0)
    std = ops.sqrt(sq + epsilon)
    if not keepdims:
        mean = ops.squeeze(mean, axis=axes)
        std = ops.squeeze(std, axis=axes)
    return mean, std


def gram_matrix(x, data_format=None):
    """Gram matrix F^T F / (C H W) per sample, float32, shape (N, C, C)."""
    x = ops.cast(x, "float32")
    data_format = keras.backend.standardize_data_format(data_format)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    f = ops.reshape(x, (n, h * w, c))
    g = ops.matmul(ops.transpose(f, (0, 2, 1)), f)
    return g / ops.cast(h * w * c, "float32")
