"""Adaptive instance normalisation (Huang & Belongie, ICCV 2017)."""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import resolve_data_format
from keras_style.losses.functional import mean_std
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "adaptive_instance_normalization",
    "layer",
    aliases=("adain_layer",),
    test_config={"epsilon": 1e-5},
    paper="https://arxiv.org/abs/1703.06868",
    notes="unbiased=True mirrors pytorch-AdaIN calc_mean_std; unbiased=False the Lua code / "
    "keras-io (docs/methods/adain.md).",
)
class AdaptiveInstanceNormalization(keras.layers.Layer):
    """AdaIN: ``sigma(style) * (content - mu(content)) / sigma(content) + mu(style)``.

    Called on ``[content, style]`` (two feature maps with the same channel count; their
    spatial sizes may differ).  Statistics are per sample and channel over the spatial
    positions, computed in float32 by ``keras_style.losses.functional.mean_std``; the output
    has the layer's compute dtype.  No weights.

    Args:
        epsilon: added to the variance inside the square root, for both content and style;
            1e-5 in every reference implementation (docs/methods/adain.md).
        unbiased: ``True`` (default) mirrors pytorch-AdaIN's ``calc_mean_std``,
            ``sigma = sqrt(var_unbiased + eps)`` (needed to reproduce the published PyTorch
            weights); ``False`` uses the biased variance (divide by H*W) of the Lua original
            (``lib/AdaptiveInstanceNormalization.lua``) and of keras-io's ``adain.py``,
            ``sigma = sqrt(var_biased + eps)``.  (The Lua code additionally leaves eps out of
            the *style* sigma; the difference is eps / (2 sigma), negligible unless a style
            channel is nearly constant.)
        data_format: ``"channels_last"`` or ``"channels_first"`` (``None``: Keras' setting).

    Precomputed style statistics (e.g. an interpolation of several styles) go through
    ``from_statistics(content, style_mean, style_std)``.

    Example:

    ```python
    adain = AdaptiveInstanceNormalization()
    t = adain([content_features, style_features])
    t = adain.from_statistics(content_features, mean, std)     # mean/std: (N, C) or (N, 1, 1, C)
    ```
    """

    def __init__(
        self,
        epsilon=1e-5,  # pytorch-AdaIN function.py calc_mean_std and the Lua code
        unbiased=True,  # pytorch-AdaIN calc_mean_std uses torch.var (unbiased)
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        try:
            epsilon = float(epsilon)
        except (TypeError, ValueError):
            raise ConfigError(
                f"AdaptiveInstanceNormalization: epsilon must be a number, got {epsilon!r}."
            ) from None
        if not epsilon >= 0:
            raise ConfigError(
                f"AdaptiveInstanceNormalization: epsilon must be >= 0, got {epsilon}."
            )
        self.epsilon = epsilon
        self.unbiased = bool(unbiased)
        self.data_format = resolve_data_format(data_format)
        self.built = True

    def _stats(self, x):
        return mean_std(
            x, epsilon=self.epsilon, unbiased=self.unbiased, data_format=self.data_format
        )

    def _as_keepdims(self, t, ndim):
        t = ops.cast(ops.convert_to_tensor(t), "float32")
        if len(t.shape) == ndim:
            return t
        if len(t.shape) == 1:  # (C,) -> (1, C)
            t = ops.expand_dims(t, 0)
        if len(t.shape) != 2:
            raise ConfigError(
                "AdaptiveInstanceNormalization: style statistics must have shape (C,), (N, C) or "
                f"the keep-dims shape of rank {ndim}; got rank {len(t.shape)}."
            )
        for _ in range(ndim - 2):
            t = ops.expand_dims(t, 1 if self.data_format == "channels_last" else -1)
        return t

    def _normalise(self, content, style_mean, style_std):
        c = ops.cast(content, "float32")
        c_mean, c_std = self._stats(c)
        out = (c - c_mean) / c_std * style_std + style_mean
        return ops.cast(out, self.compute_dtype)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ConfigError(
                "AdaptiveInstanceNormalization is called on [content, style]; use "
                "from_statistics(content, mean, std) for precomputed style statistics."
            )
        content, style = inputs
        s_mean, s_std = self._stats(style)
        return self._normalise(content, s_mean, s_std)

    def from_statistics(self, content, style_mean, style_std):
        """AdaIN with given style statistics: ``style_std * normalised(content) + style_mean``.

        ``style_mean`` / ``style_std`` have shape ``(C,)``, ``(N, C)`` or the keep-dims shape
        (``(N, 1, 1, C)``, or ``(N, C, 1, 1)`` channels-first), e.g. from
        ``keras_style.losses.functional.mean_std(features, unbiased=layer.unbiased)``.
        """
        content = ops.convert_to_tensor(content)
        ndim = len(content.shape)
        return self._normalise(
            content, self._as_keepdims(style_mean, ndim), self._as_keepdims(style_std, ndim)
        )

    def compute_output_shape(self, input_shape):
        content_shape = input_shape[0]
        return tuple(content_shape)

    def compute_output_spec(self, inputs):
        content = inputs[0]
        return keras.KerasTensor(content.shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"epsilon": self.epsilon, "unbiased": self.unbiased, "data_format": self.data_format}
        )
        return config
