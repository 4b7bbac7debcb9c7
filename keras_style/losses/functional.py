"""Loss and statistics functions on tensors (backend-agnostic, float32 inside).

Layout: NHWC unless ``data_format="channels_first"``.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError


def standardize_data_format(data_format=None):
    """``None`` -> ``keras.config.image_data_format()``; validates the value.

    (``keras.backend`` has no public ``standardize_data_format`` in Keras 3.15.)
    """
    if data_format is None:
        return keras.config.image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ConfigError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}."
        )
    return value


def _channel_axis(data_format):
    data_format = standardize_data_format(data_format)
    return (1, 2, 3, 1) if data_format == "channels_last" else (2, 3, 1, 0)


def spatial_axes(data_format=None):
    data_format = standardize_data_format(data_format)
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
        if shape[axes[0]] is None or shape[axes[1]] is None:
            # symbolic (KerasTensor) call with unknown spatial sizes: count the positions
            n = ops.sum(ops.ones_like(x), axis=axes, keepdims=True)
        else:
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
    data_format = standardize_data_format(data_format)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    f = ops.reshape(x, (n, h * w, c))
    g = ops.matmul(ops.transpose(f, (0, 2, 1)), f)
    return g / ops.cast(h * w * c, "float32")


# --------------------------------------------------------------------------- losses
# Every function returns one value per sample, shape (N,), in float32 (cast first, so
# mixed_float16 features are safe). The loss classes in `perceptual.py` reduce them.


def _to_nhwc(x, data_format):
    data_format = standardize_data_format(data_format)
    if data_format == "channels_first" and len(x.shape) == 4:
        x = ops.transpose(x, (0, 2, 3, 1))
    return x


def feature_reconstruction_loss(y_true, y_pred, data_format=None):
    """Johnson et al. 2016 feature loss 1/(C H W) * ||phi(y_pred) - phi(y_true)||^2 per sample.

    Johnson et al. 2016 (docs/methods/johnson.md, "The paper"): the normalised squared
    Euclidean distance (= the mean squared error over C, H, W). ``y_true`` may have batch
    size 1 (broadcast over the batch).
    """
    a = ops.cast(y_true, "float32")
    b = ops.cast(y_pred, "float32")
    d = ops.square(b - a)
    return ops.mean(d, axis=tuple(range(1, len(d.shape))))


def gram_style_loss(y_true, y_pred, data_format=None, reduction="sum"):
    """Squared Frobenius distance between Gram matrices G = F^T F / (C H W) (Johnson 2016).

    ``y_true`` / ``y_pred`` are feature maps (rank 4) or precomputed Gram matrices
    (rank 3, from `gram_matrix`); a Gram target of batch 1 is broadcast over the batch.
    ``reduction="sum"`` is the paper's ||G - G'||_F^2; ``"mean"`` divides by C^2 (the
    ``MSECriterion`` of the Lua and PyTorch code, docs/methods/johnson.md).
    """
    if reduction not in ("sum", "mean"):
        raise ConfigError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    ga = y_true if len(y_true.shape) == 3 else gram_matrix(y_true, data_format)
    gb = y_pred if len(y_pred.shape) == 3 else gram_matrix(y_pred, data_format)
    d = ops.square(ops.cast(gb, "float32") - ops.cast(ga, "float32"))
    return ops.sum(d, axis=(1, 2)) if reduction == "sum" else ops.mean(d, axis=(1, 2))


def mean_std_stats(x, epsilon=1e-5, unbiased=True, data_format=None):
    """Stacked (N, 2, C) statistics [mean; std] of a feature map, for precomputed targets."""
    mean, std = mean_std(
        x, epsilon=epsilon, unbiased=unbiased, data_format=data_format, keepdims=False
    )
    return ops.stack([mean, std], axis=1)


def mean_std_style_loss(
    y_true, y_pred, epsilon=1e-5, unbiased=True, reduction="mean", data_format=None
):
    """AdaIN style loss for one layer: ||mu - mu'||^2 + ||sigma - sigma'||^2 per sample.

    ``reduction="mean"`` (default) averages over channels: the PyTorch port's
    ``MSELoss`` convention (pytorch-AdaIN ``net.py``), whose std is
    sqrt(unbiased var + 1e-5). ``reduction="sum"`` sums over channels: the Lua
    original's ``StyleINLossModule`` (there the std is biased, so use ``unbiased=False``
    and ``epsilon=1e-6``). Inputs are feature maps (rank 4) or stacked (N, 2, C)
    statistics from `mean_std_stats` (rank 3); a target of batch 1 is broadcast.
    """
    if reduction not in ("sum", "mean"):
        raise ConfigError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    sa = (
        y_true if len(y_true.shape) == 3 else mean_std_stats(y_true, epsilon, unbiased, data_format)
    )
    sb = (
        y_pred if len(y_pred.shape) == 3 else mean_std_stats(y_pred, epsilon, unbiased, data_format)
    )
    d = ops.square(ops.cast(sb, "float32") - ops.cast(sa, "float32"))  # (N, 2, C)
    per = ops.sum(d, axis=2) if reduction == "sum" else ops.mean(d, axis=2)
    return per[:, 0] + per[:, 1]


def total_variation(x, kind="l1", reduction="sum", data_format=None):
    """Anisotropic total variation of images, per sample, float32.

    ``kind="l1"`` (anisotropic L1 TV, Rudin, Osher & Fatemi 1992): sum |x[i,j]-x[i+1,j]| + sum |x[i,j]-x[i,j+1]|,
    each over its valid range ((H-1) x W and H x (W-1)) and all channels.
    ``kind="squared"``: the same with squared differences (the Lua TotalVariation
    gradient (docs/methods/johnson.md) is that of 1/2 of this over the top-left (H-1)x(W-1) region;
    the factor and the border row/column are the only difference).
    ``reduction="sum"`` returns the sums; ``"mean"`` returns mean(|dh|) + mean(|dw|)
    (each difference averaged over its own elements), independent of image size.
    """
    if kind not in ("l1", "squared"):
        raise ConfigError(f"kind must be 'l1' or 'squared', got {kind!r}.")
    if reduction not in ("sum", "mean"):
        raise ConfigError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    x = _to_nhwc(ops.cast(x, "float32"), data_format)
    dh = x[:, 1:, :, :] - x[:, :-1, :, :]
    dw = x[:, :, 1:, :] - x[:, :, :-1, :]
    f = ops.abs if kind == "l1" else ops.square
    red = ops.sum if reduction == "sum" else ops.mean
    return red(f(dh), axis=(1, 2, 3)) + red(f(dw), axis=(1, 2, 3))


# --------------------------------------------------------------------------- colour
# YIQ (NTSC 1953 matrix, as in skimage.color.rgb2yiq); used for luminance-only
# transfer (Gatys et al. 2016 "Preserving color", jcjohnson's -original_colors).

_RGB_TO_YIQ = (
    (0.299, 0.587, 0.114),
    (0.59590059, -0.27455667, -0.32134392),
    (0.21153661, -0.52273617, 0.31119955),
)


def _apply_matrix(x, m):
    import numpy as np

    m = ops.convert_to_tensor(np.asarray(m, "float32").T)
    x = ops.cast(x, "float32")
    return ops.matmul(x, m)


def rgb_to_yiq(x):
    """RGB -> YIQ on the last axis (float32; Y in [0, 1] for RGB in [0, 1])."""
    return _apply_matrix(x, _RGB_TO_YIQ)


def yiq_to_rgb(x):
    """YIQ -> RGB on the last axis (exact inverse of `rgb_to_yiq`, not clipped)."""
    import numpy as np

    return _apply_matrix(x, np.linalg.inv(np.asarray(_RGB_TO_YIQ, "float64")))
