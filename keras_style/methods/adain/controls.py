"""AdaIN arithmetic and the test-time controls of Huang & Belongie (2017), Section 7.3.

Everything here works on NumPy arrays or tensors through ``keras.ops`` (the CORAL colour
transfer uses NumPy's SVD: it runs once per style image, on 3x3 matrices).

- `adain(content, style_mean, style_std)`: AdaIN of content features towards given statistics
  (PyTorch-port numerics by default: sqrt(unbiased variance + 1e-5), docs/methods/adain.md).
- `masked_adain(content, labels, means, stds)`: AdaIN per region (Lua ``-mask``).
- `coral(source, target)`: the colour-preservation transform of both official codes (docs/methods/adain.md).
- `check_style_weights`, `masks_to_labels`, `resize_labels`: argument validation and mask handling.
"""

from __future__ import annotations

import warnings

import numpy as np
from keras import ops

from keras_style.errors import ConfigError
from keras_style.losses.functional import mean_std

# pytorch-AdaIN function.py:calc_mean_std: eps=1e-5 added to the unbiased variance.
EPSILON = 1e-5


def adain(content, style_mean, style_std, epsilon=EPSILON, unbiased=True):
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y), NHWC, float32.

    ``style_mean`` / ``style_std`` have shape (N or 1, 1, 1, C).
    """
    c_mean, c_std = mean_std(content, epsilon=epsilon, unbiased=unbiased)
    content = ops.cast(content, "float32")
    return (content - c_mean) / c_std * style_std + style_mean


def masked_mean_std(x, mask, epsilon=EPSILON, unbiased=True):
    """Mean and std over the positions where ``mask`` (N,H,W,1 of 0/1) is 1; shape (N,1,1,C)."""
    x = ops.cast(x, "float32")
    mask = ops.cast(mask, "float32")
    n = ops.sum(mask, axis=(1, 2), keepdims=True)
    n_safe = ops.maximum(n, 1.0)
    mean = ops.sum(x * mask, axis=(1, 2), keepdims=True) / n_safe
    sq = ops.sum(ops.square(x - mean) * mask, axis=(1, 2), keepdims=True)
    denom = ops.maximum(n - 1.0, 1.0) if unbiased else n_safe
    return mean, ops.sqrt(sq / denom + epsilon)


def masked_adain(content, labels, means, stds, epsilon=EPSILON, unbiased=True):
    """AdaIN per region: region k of ``content`` is normalised with its own statistics and
    given the statistics ``means[k]``, ``stds[k]``; the results are scattered back.

    ``labels`` is an int array (N, h, w) at the feature-map size with values in 0..K-1
    (Lua ``test.lua -mask`` does this for K = 2).
    """
    content = ops.cast(content, "float32")
    labels = ops.convert_to_tensor(labels)
    out = ops.zeros_like(content)
    for k, (m, s) in enumerate(zip(means, stds)):
        mask = ops.cast(ops.expand_dims(ops.equal(labels, k), -1), "float32")
        c_mean, c_std = masked_mean_std(content, mask, epsilon, unbiased)
        region = (content - c_mean) / c_std * s + m
        out = out + region * mask
    return out


def check_style_weights(style_weights, n_styles):
    """Validate interpolation weights; returns a list of floats summing to 1.

    Weights of the wrong length, negative, non-finite or all zero raise `ConfigError`.
    Weights that do not sum to 1 are **normalised with a warning** (the Lua original
    normalises them silently).
    """
    if style_weights is None:
        return [1.0 / n_styles] * n_styles
    try:
        w = [float(v) for v in style_weights]
    except (TypeError, ValueError) as e:
        raise ConfigError(f"style_weights must be a list of numbers, got {style_weights!r}.") from e
    if len(w) != n_styles:
        raise ConfigError(
            f"style_weights has {len(w)} value(s) but {n_styles} style image(s) were given; "
            "give one weight per style."
        )
    if any(not np.isfinite(v) or v < 0 for v in w):
        raise ConfigError(f"style_weights must be finite and >= 0, got {w}.")
    total = sum(w)
    if total <= 0:
        raise ConfigError("style_weights are all zero; at least one style needs a positive weight.")
    if abs(total - 1.0) > 1e-6:
        warnings.warn(
            f"style_weights {w} sum to {total:g}, not 1; they were normalised to "
            f"{[round(v / total, 6) for v in w]}.",
            UserWarning,
            stacklevel=3,
        )
    return [v / total for v in w]


def masks_to_labels(masks, height, width):
    """Turn K masks (each HxW, or HxWx1, values in [0, 1]) into an int label map HxW.

    A mask pixel belongs to the region when its value is >= 0.5. Every pixel must belong
    to exactly one mask; otherwise `ConfigError` says how many pixels are uncovered or
    doubly covered. Masks must have the content's size (``height`` x ``width``).
    """
    arrs = []
    for i, m in enumerate(masks):
        a = np.asarray(ops.convert_to_numpy(m) if not isinstance(m, np.ndarray) else m)
        if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
            a = a[..., 0]
        if a.ndim != 2:
            raise ConfigError(f"mask {i} must be a 2-D array (H, W), got shape {a.shape}.")
        if a.shape != (height, width):
            raise ConfigError(
                f"mask {i} has size {a.shape[0]}x{a.shape[1]} but the content image is "
                f"{height}x{width}; give masks of the content's size (after content_size)."
            )
        a = a.astype(np.float32)
        if a.max() > 1.0:  # 0..255 masks
            a = a / 255.0
        arrs.append(a >= 0.5)
    stack = np.stack(arrs, 0)
    count = stack.sum(0)
    if (count == 0).any():
        raise ConfigError(
            f"the masks do not cover the image: {int((count == 0).sum())} pixel(s) belong to "
            "no mask. Every pixel must be >= 0.5 in exactly one mask."
        )
    if (count > 1).any():
        raise ConfigError(
            f"the masks overlap on {int((count > 1).sum())} pixel(s). Every pixel must be "
            ">= 0.5 in exactly one mask."
        )
    return np.argmax(stack, axis=0).astype(np.int32)


def resize_labels(labels, height, width):
    """Nearest-neighbour resize of an int label map (Lua uses ``image.scale(..., 'simple')``)."""
    h0, w0 = labels.shape
    rows = np.minimum((np.arange(height) * h0 / height).astype(np.int64), h0 - 1)
    cols = np.minimum((np.arange(width) * w0 / width).astype(np.int64), w0 - 1)
    return labels[rows][:, cols]


def _mat_sqrt(x):
    u, d, vt = np.linalg.svd(x)
    return u @ np.diag(np.sqrt(d)) @ vt


def coral(source, target):
    """Match the colour mean and covariance of ``source`` (HxWx3) to ``target`` (HxWx3).

    As in both official codes (Lua ``lib/utils.lua:coral``, pytorch-AdaIN
    ``function.py:coral``): per-channel standardisation with the unbiased std,
    C = x x^T + I for each image, transform sqrt(C_t) sqrt(C_s)^-1 x_s, then the target's
    channel std and mean. Matrix square roots come from an SVD. As in the originals the
    covariances are not divided by the pixel count, so when the two images have different
    pixel counts the result's std is scaled by about sqrt(N_target / N_source) (both codes
    resize both images to 512 on the shorter side, which keeps the counts close). The result is not clipped
    (neither original clips it). A tiny 1e-8 is added to the stds so a flat (constant)
    channel does not divide by zero.
    """
    s = np.asarray(source, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    shape = s.shape
    sf = s.reshape(-1, 3).T
    tf_ = t.reshape(-1, 3).T
    s_mean = sf.mean(1, keepdims=True)
    s_std = sf.std(1, ddof=1, keepdims=True) + 1e-8
    t_mean = tf_.mean(1, keepdims=True)
    t_std = tf_.std(1, ddof=1, keepdims=True) + 1e-8
    s_norm = (sf - s_mean) / s_std
    t_norm = (tf_ - t_mean) / t_std
    s_cov = s_norm @ s_norm.T + np.eye(3)
    t_cov = t_norm @ t_norm.T + np.eye(3)
    out = _mat_sqrt(t_cov) @ np.linalg.inv(_mat_sqrt(s_cov)) @ s_norm
    out = out * t_std + t_mean
    return out.T.reshape(shape).astype(np.float32)


__all__ = [
    "adain",
    "masked_adain",
    "masked_mean_std",
    "check_style_weights",
    "masks_to_labels",
    "resize_labels",
    "coral",
]
