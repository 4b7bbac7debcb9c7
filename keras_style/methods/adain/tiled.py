"""Exact tiled AdaIN inference for images too large to run in one piece.

AdaIN normalises the *whole* content feature map (relu4_1) with its mean and std, so tiles
cannot be stylized independently: each tile would get its own statistics and the seams
would show. Here the whole pipeline, encoder -> AdaIN -> decoder, is one network whose only
whole-image quantity is the content statistics, computed by a
`keras_style.layers.InstanceNormalization` layer (`ContentNormalization`). That is exactly
what `keras_style.tiling.tiled_apply` handles for Johnson's network: a first pass over the
tiles (stopping at that layer) sums x and x^2 over each tile's *core* of the feature map,
the layer's statistics are fixed to the whole-image moments, and a second pass runs every
tile through the whole pipeline. Crops are aligned to 8 px (the encoder's stride, so its
pooling grid is the whole image's) and extend ``overlap`` px beyond their core: with an
overlap over the pipeline's receptive-field radius (about 70 px: 37 for the encoder to
relu4_1, 30 for the decoder) every core is the untiled result, so
``stylize(..., tile=t) == stylize(...)`` up to float rounding.

Masks (spatial control, Lua ``-mask``) work the same way: the label map at the feature-map
size travels with the image as a fourth channel, and the layer gathers the moments of
``x * m_k`` and ``m_k`` for each region ``k``, from which the region means and stds follow
(``mean_k = E[x m_k] / E[m_k]``, ``E[x^2 | k] = E[(x m_k)^2] / E[m_k]``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers.instance_normalization import InstanceNormalization

STRIDE = 8  # relu4_1 is 1/8 of the image (three 2x2 poolings)


@keras.saving.register_keras_serializable(package="keras_style")
class ContentNormalization(InstanceNormalization):
    """AdaIN's content normalisation, region by region: ``(x - mean_k) / std_k``.

    Input: the concatenation ``[x m_1, ..., x m_K, m_1, ..., m_K]`` (K regions of C
    channels; for ``K = 1`` just ``x``). Output: ``K`` normalised copies of ``x`` (N, h, w,
    K*C), each with its region's statistics. ``std = sqrt(var + epsilon)`` with the unbiased
    (pytorch-AdaIN ``calc_mean_std``) or biased (Lua) variance, as
    `keras_style.methods.adain.controls.masked_mean_std`. Under tiling (``fixed_moments``
    set) ``total_count`` must be the number of positions of the whole feature map.
    """

    def __init__(self, regions=1, unbiased=True, epsilon=1e-5, **kwargs):
        kwargs.setdefault("center", False)
        kwargs.setdefault("scale", False)
        super().__init__(epsilon=epsilon, **kwargs)
        self.regions = int(regions)
        self.unbiased = bool(unbiased)
        self.total_count = None

    def call(self, inputs):
        y = ops.cast(inputs, "float32")
        mean, var = self._moments(y)  # E[y], E[y^2] - E[y]^2 (whole image when fixed)
        shape = ops.shape(y)
        n = self.total_count if self.fixed_moments is not None else None
        n = ops.cast(shape[1] * shape[2], "float32") if n is None else float(n)
        k = self.regions
        if k == 1:
            c_mean, v = mean, var
            count = n
            x = y
        else:
            c = (y.shape[-1] - k) // k  # K*C feature channels, then K mask channels
            frac = mean[..., k * c :]  # E[m_k], (N, 1, 1, K)
            means, vars_, counts = [], [], []
            for i in range(k):
                e1 = mean[..., i * c : (i + 1) * c]
                e2 = var[..., i * c : (i + 1) * c] + ops.square(e1)
                p = frac[..., i : i + 1]
                p_safe = ops.maximum(p, 1e-12)
                m = e1 / p_safe
                means.append(m)
                vars_.append(ops.maximum(e2 / p_safe - ops.square(m), 0.0))
                counts.append(p * n)
            out = []
            x_sum = 0.0
            for i in range(k):  # x = sum_k x m_k (the masks partition the map)
                x_sum = x_sum + y[..., i * c : (i + 1) * c]
            for i in range(k):
                cnt = counts[i]
                if self.unbiased:
                    v = vars_[i] * cnt / ops.maximum(cnt - 1.0, 1.0)
                else:
                    v = vars_[i] * cnt / ops.maximum(cnt, 1.0)
                out.append((x_sum - means[i]) / ops.sqrt(v + self.epsilon))
            return ops.concatenate(out, axis=-1)
        if self.unbiased:
            v = v * count / ops.maximum(count - 1.0, 1.0)
        return (x - c_mean) / ops.sqrt(v + self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(regions=self.regions, unbiased=self.unbiased)
        return config


class AdaINPipeline(keras.Model):
    """Image (plus an optional label channel) -> encoder -> AdaIN -> decoder, one network.

    ``styles``: list of (mean, std) arrays of shape (1, 1, 1, C); ``weights``: interpolation
    weights (no masks) or ``None`` with ``regions = len(styles)`` (masks: channel 4 of the
    input holds the region index at the feature-map size, repeated over 8x8 pixels).
    """

    def __init__(self, model, styles, weights, masked, alpha, **kwargs):
        super().__init__(name="adain_pipeline", **kwargs)
        self.adain = model
        self.encoder = model.encoder
        self.decoder = model.decoder
        self.masked = bool(masked)
        self.norm = ContentNormalization(
            regions=len(styles) if masked else 1, unbiased=model.unbiased, epsilon=model.epsilon
        )
        object.__setattr__(self, "_styles", [(np.asarray(m, "float32"), np.asarray(s, "float32")) for m, s in styles])
        object.__setattr__(self, "_weights", None if weights is None else [float(w) for w in weights])
        self.alpha = float(alpha)

    @property
    def stride(self):
        return STRIDE

    def call(self, x):
        from keras_style.methods.adain.adain import CONTENT_LAYER

        x = ops.cast(x, "float32")
        feat = ops.cast(self.encoder(self.adain._pad8(x[..., :3]))[CONTENT_LAYER], "float32")
        c = feat.shape[-1]
        if self.masked:
            k = len(self._styles)
            labels = x[:, ::STRIDE, ::STRIDE, 3:4]
            labels = labels[:, : ops.shape(feat)[1], : ops.shape(feat)[2], :]
            masks = [ops.cast(ops.equal(ops.round(labels), float(i)), "float32") for i in range(k)]
            normed = self.norm(ops.concatenate([feat * m for m in masks] + masks, axis=-1))
            t = 0.0
            for i, ((m, s), mask) in enumerate(zip(self._styles, masks)):
                t = t + (normed[..., i * c : (i + 1) * c] * s + m) * mask
        else:
            normed = self.norm(feat)
            t = 0.0
            for wk, (m, s) in zip(self._weights, self._styles):
                if wk == 0.0:
                    continue
                t = t + wk * (normed * s + m)
        if self.alpha != 1.0:
            t = self.alpha * t + (1.0 - self.alpha) * feat
        return self.decoder(t)


def stylize_tiled(model, image, encoded, weights, labels, alpha, tile, overlap, verbose=0):
    """Tiled version of `AdaIN.stylize`'s core; returns the (H, W, 3) output, not clipped."""
    import warnings

    from keras_style.methods.adain import controls
    from keras_style.tiling import tiled_apply

    if not isinstance(tile, int) or isinstance(tile, bool) or tile < 16:
        raise ConfigError(f"tile must be an int >= 16 (pixels), got {tile!r}.")
    if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
        raise ConfigError(f"overlap must be an int >= 0 (pixels), got {overlap!r}.")
    h, w = image.shape[:2]
    hf, wf = -(-h // STRIDE), -(-w // STRIDE)
    x = np.asarray(image, "float32")[None]
    if labels is not None:
        fl = controls.resize_labels(np.asarray(labels), hf, wf)
        present = set(np.unique(fl).tolist())
        for k in range(len(encoded)):
            if k not in present:
                warnings.warn(
                    f"mask {k} vanishes at the feature-map size ({hf}x{wf}, 1/8 of the image); "
                    "its style is not used.",
                    UserWarning,
                    stacklevel=3,
                )
        up = np.repeat(np.repeat(fl, STRIDE, axis=0), STRIDE, axis=1)[:h, :w]
        x = np.concatenate([x, up[None, :, :, None].astype("float32")], axis=-1)
    pipe = AdaINPipeline(
        model, [(e.mean, e.std) for e in encoded], weights, labels is not None, alpha
    )
    pipe.norm.total_count = hf * wf
    out = tiled_apply(pipe, x, tile=int(tile), overlap=int(overlap), align=STRIDE, verbose=verbose)
    return out[0, :h, :w, :3]


__all__ = ["stylize_tiled", "AdaINPipeline", "ContentNormalization"]
