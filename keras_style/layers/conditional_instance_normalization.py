"""Conditional instance normalisation (Dumoulin, Shlens & Kudlur, ICLR 2017).

One network learns N styles: every normalisation layer keeps a table of N scale and shift
vectors, and the style decides which row is used. A convex combination of rows blends
styles (the paper's style combinations; ``docs/methods/multistyle.md``).
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import channel_axis, check_positive_int, resolve_data_format
from keras_style.layers.instance_normalization import InstanceNormalization
from keras_style.layers.style_maps import fit_style_map, is_style_map
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "conditional_instance_normalization",
    "layer",
    aliases=("conditional_instance_norm", "cin"),
    test_config={"num_styles": 3},
    paper="https://arxiv.org/abs/1610.07629",
    notes="gamma = style_weights @ gamma_table, beta likewise, on an affine-free "
    "InstanceNormalization (biased variance, float32 statistics, eps 1e-5).",
)
class ConditionalInstanceNormalization(keras.layers.Layer):
    """Instance normalisation whose scale and shift are chosen by a style: ``layer(x, style_weights)``.

    ``y = IN(x) * (w @ gamma) + (w @ beta)`` where ``IN`` is `InstanceNormalization` without
    its own affine parameters (per-sample, per-channel moments over H x W, *biased*
    variance, computed in float32), ``gamma`` and ``beta`` are ``(num_styles, C)`` tables
    and ``w`` is the ``(batch, num_styles)`` style weights: a one-hot row picks one style, a
    convex combination blends styles (Dumoulin et al. 2017, §2.1 and their style combinations).

    The normalisation is a real `InstanceNormalization` sublayer (``.norm``), so
    `keras_style.tiling.tiled_apply` finds it and tiles with whole-image statistics.

    Args:
        num_styles: rows of the ``gamma`` / ``beta`` tables.
        epsilon: added to the variance (1e-5: Magenta's ``conditional_instance_norm`` and the
            TF Android demo network).
        beta_initializer, gamma_initializer: initializers of the tables (zeros / ones: the
            identity transform, as Magenta's ``ops.conditional_instance_norm``).
        trainable_style: ``None`` (every row trains) or a row index: gradients reach only that
            row of both tables (the other rows are held by ``stop_gradient``). Dumoulin et al.
            learn a new style by training only its own gamma and beta, the network fixed.
        data_format: ``"channels_last"`` or ``"channels_first"`` (``None``: Keras' setting).

    Example:

    ```python
    cin = ConditionalInstanceNormalization(num_styles=26)
    y = cin(x, style_weights)            # x: (N, H, W, C); style_weights: (N, 26)
    ```
    """

    def __init__(
        self,
        num_styles,
        epsilon=1e-5,  # Magenta ops.conditional_instance_norm / TF Android demo graph
        beta_initializer="zeros",
        gamma_initializer="ones",
        trainable_style=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_styles = check_positive_int(num_styles, "num_styles", "ConditionalInstanceNormalization")
        try:
            epsilon = float(epsilon)
        except (TypeError, ValueError):
            raise ConfigError(
                f"ConditionalInstanceNormalization: epsilon must be a number, got {epsilon!r}."
            ) from None
        if not epsilon >= 0:
            raise ConfigError(f"ConditionalInstanceNormalization: epsilon must be >= 0, got {epsilon}.")
        self.epsilon = epsilon
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.trainable_style = self._check_style(trainable_style)
        self.data_format = resolve_data_format(data_format)
        # statistics and normalisation in float32 whatever the policy; the affine step too
        self.norm = InstanceNormalization(
            epsilon=self.epsilon,
            center=False,
            scale=False,
            data_format=self.data_format,
            name="norm",
            dtype="float32",
        )

    def _check_style(self, index):
        if index is None:
            return None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.num_styles:
            raise ConfigError(
                f"ConditionalInstanceNormalization: trainable_style must be None or an int in "
                f"0..{self.num_styles - 1}, got {index!r}."
            )
        return int(index)

    def set_trainable_style(self, index):
        """Train only row ``index`` of the tables (``None``: all rows). Re-compile afterwards."""
        self.trainable_style = self._check_style(index)

    def build(self, x_shape, style_weights_shape=None):
        channels = x_shape[channel_axis(self.data_format)]
        if channels is None:
            raise ConfigError(
                "ConditionalInstanceNormalization needs a known channel dimension; got input "
                f"shape {tuple(x_shape)} ({self.data_format})."
            )
        if style_weights_shape is not None and style_weights_shape[-1] not in (None, self.num_styles):
            raise ConfigError(
                f"ConditionalInstanceNormalization(num_styles={self.num_styles}) got style "
                f"weights of shape {tuple(style_weights_shape)}; expected (batch, {self.num_styles})."
            )
        self.gamma = self.add_weight(
            shape=(self.num_styles, channels), name="gamma", initializer=self.gamma_initializer
        )
        self.beta = self.add_weight(
            shape=(self.num_styles, channels), name="beta", initializer=self.beta_initializer
        )
        self.norm.build(x_shape)
        self.built = True

    def _table(self, var):
        t = ops.cast(var, "float32")
        if self.trainable_style is None:
            return t
        rows = ops.reshape(ops.arange(self.num_styles) == self.trainable_style, (-1, 1))
        return ops.where(rows, t, ops.stop_gradient(t))

    def call(self, x, style_weights):
        w = ops.cast(style_weights, "float32")
        if len(w.shape) == 1:
            w = ops.expand_dims(w, 0)
        if len(w.shape) not in (2, 4) or (w.shape[-1] is not None and w.shape[-1] != self.num_styles):
            raise ConfigError(
                f"ConditionalInstanceNormalization(num_styles={self.num_styles}) needs style "
                f"weights of shape (batch, {self.num_styles}) or a style map (batch, H, W, "
                f"{self.num_styles}); got {tuple(w.shape)}."
            )
        y = self.norm(x)  # float32 (the sublayer's policy)
        if is_style_map(w):
            # per-pixel weights: the whole-map statistics, a per-pixel scale and shift
            # (keras_style.layers.style_maps)
            if self.data_format != "channels_last":
                raise ConfigError("ConditionalInstanceNormalization: style maps need channels_last.")
            w = fit_style_map(w, y)
            gamma = ops.matmul(w, self._table(self.gamma))  # (B, H, W, C)
            beta = ops.matmul(w, self._table(self.beta))
            return ops.cast(y * gamma + beta, self.compute_dtype)
        gamma = ops.matmul(w, self._table(self.gamma))  # (B, C)
        beta = ops.matmul(w, self._table(self.beta))
        ndim = len(y.shape)
        if self.data_format == "channels_last":
            shape = [-1] + [1] * (ndim - 2) + [gamma.shape[-1]]
        else:
            shape = [-1, gamma.shape[-1]] + [1] * (ndim - 2)
        out = y * ops.reshape(gamma, shape) + ops.reshape(beta, shape)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, x_shape, style_weights_shape=None):
        return tuple(x_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_styles": self.num_styles,
                "epsilon": self.epsilon,
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
                "trainable_style": self.trainable_style,
                "data_format": self.data_format,
            }
        )
        return config
