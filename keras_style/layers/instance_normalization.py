"""Instance normalisation (Ulyanov et al. 2016) with float32 statistics."""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import channel_axis, resolve_data_format
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "instance_normalization",
    "layer",
    aliases=("instance_norm",),
    test_config={"epsilon": 1e-5},
    paper="https://arxiv.org/abs/1607.08022",
    notes="Same numbers as keras.layers.GroupNormalization(groups=-1) and PyTorch "
    "InstanceNorm2d(affine=True) (docs/conversions.md).",
)
class InstanceNormalization(keras.layers.Layer):
    """Per-sample, per-channel normalisation over the spatial positions, then ``gamma * x + beta``.

    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the *biased* variance of each
    (sample, channel) over H x W: the semantics of ``keras.layers.GroupNormalization(groups=-1)``,
    PyTorch ``InstanceNorm2d(affine=True)`` and Torch7 ``InstanceNormalization.lua``
    (docs/conversions.md).  The weights are named ``gamma`` and ``beta`` like GroupNormalization's.
    The statistics and the normalisation run in float32 even under a mixed-precision policy;
    the output has the layer's compute dtype.

    Args:
        epsilon: added to the variance; 1e-5 as PyTorch ``InstanceNorm2d`` and the Torch7 code
            (Keras' GroupNormalization defaults to 1e-3, docs/conversions.md).
        center: learn ``beta``.
        scale: learn ``gamma``.
        beta_initializer, gamma_initializer: Keras initializers (identifiers or instances).
            (Torch7 initialises gamma uniform(0, 1); pass ``"random_uniform"``-style
            initializers to mimic it.)
        data_format: ``"channels_last"`` or ``"channels_first"`` (``None``: Keras' global setting).

    Tiling hook (used by ``keras_style.tiling``): the moments come from ``self._moments(x)``,
    which computes them from ``x`` unless ``self.fixed_moments`` is a ``(mean, variance)`` pair,
    in which case that pair is returned instead.  Each tensor may have the keep-dims shape
    ``(N, 1, 1, C)`` (``(N, C, 1, 1)`` channels-first), ``(N, C)`` or ``(C,)``; it is reshaped to
    broadcast against ``x``.  ``fixed_moments`` is a plain attribute: it is not a weight, is not
    serialised and defaults to ``None``.  To *collect* whole-image statistics, call
    ``layer.compute_moments(x)`` (the unfixed computation) or wrap ``layer._moments`` on the
    instance.  Calls inside an already traced function (``predict``/``jit_compile``) do not see a
    later change of ``fixed_moments``; call the model eagerly (``model(x)``) while it is set.

    Example:

    ```python
    norm = InstanceNormalization(epsilon=1e-5)
    y = norm(x)                                   # x: (N, H, W, C)
    norm.fixed_moments = norm.compute_moments(big_image_features)   # freeze statistics
    ```
    """

    def __init__(
        self,
        epsilon=1e-5,  # PyTorch InstanceNorm2d / Torch7 InstanceNormalization.lua
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        try:
            epsilon = float(epsilon)
        except (TypeError, ValueError):
            raise ConfigError(
                f"InstanceNormalization: epsilon must be a number, got {epsilon!r}."
            ) from None
        if not epsilon >= 0:
            raise ConfigError(f"InstanceNormalization: epsilon must be >= 0, got {epsilon}.")
        self.epsilon = epsilon
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.data_format = resolve_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(min_ndim=3)
        self.supports_masking = False
        self.fixed_moments = None

    # ``fixed_moments`` bypasses Keras' attribute tracking (a pair of Variables must never
    # become weights of the layer).
    @property
    def fixed_moments(self):
        return self.__dict__.get("_fixed_moments_value")

    @fixed_moments.setter
    def fixed_moments(self, value):
        if value is not None:
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ConfigError(
                    "InstanceNormalization.fixed_moments must be None or a (mean, variance) pair."
                )
            value = tuple(value)
        self.__dict__["_fixed_moments_value"] = value

    def __setattr__(self, name, value):
        if name == "fixed_moments":  # skip Keras' tracking (and torch.nn.Module's registration)
            type(self).fixed_moments.fset(self, value)
            return
        super().__setattr__(name, value)

    def build(self, input_shape):
        axis = channel_axis(self.data_format)
        channels = input_shape[axis]
        if channels is None:
            raise ConfigError(
                "InstanceNormalization needs a known channel dimension; got input shape "
                f"{tuple(input_shape)} ({self.data_format})."
            )
        self.input_spec = keras.layers.InputSpec(ndim=len(input_shape), axes={axis: channels})
        self.gamma = (
            self.add_weight(shape=(channels,), name="gamma", initializer=self.gamma_initializer)
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(shape=(channels,), name="beta", initializer=self.beta_initializer)
            if self.center
            else None
        )
        self.built = True

    def _reduce_axes(self, ndim):
        if self.data_format == "channels_last":
            return tuple(range(1, ndim - 1))
        return tuple(range(2, ndim))

    def compute_moments(self, x):
        """Biased per-(sample, channel) mean and variance of ``x`` in float32 (keep-dims shape)."""
        x = ops.cast(x, "float32")
        axes = self._reduce_axes(len(x.shape))
        mean = ops.mean(x, axis=axes, keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=axes, keepdims=True)
        return mean, var

    def _broadcastable(self, t, ndim):
        t = ops.cast(ops.convert_to_tensor(t), "float32")
        if len(t.shape) == ndim:
            return t
        if len(t.shape) == 1:  # (C,)
            t = ops.expand_dims(t, 0)
        if len(t.shape) != 2:
            raise ConfigError(
                "InstanceNormalization.fixed_moments tensors must have shape (C,), (N, C) or the "
                f"keep-dims shape of rank {ndim}; got rank {len(t.shape)}."
            )
        for _ in range(ndim - 2):  # (N, C) -> (N, 1, 1, C) or (N, C, 1, 1)
            t = ops.expand_dims(t, 1 if self.data_format == "channels_last" else -1)
        return t

    def _moments(self, x):
        """The moments used by ``call``: ``fixed_moments`` when set, else computed from ``x``."""
        if self.fixed_moments is not None:
            mean, var = self.fixed_moments
            ndim = len(x.shape)
            return self._broadcastable(mean, ndim), self._broadcastable(var, ndim)
        return self.compute_moments(x)

    def _param_shape(self, ndim):
        shape = [1] * ndim
        shape[channel_axis(self.data_format)] = -1
        return shape

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean, var = self._moments(x)
        y = (x - mean) * ops.rsqrt(var + self.epsilon)
        ndim = len(x.shape)
        if self.gamma is not None:
            y = y * ops.reshape(ops.cast(self.gamma, "float32"), self._param_shape(ndim))
        if self.beta is not None:
            y = y + ops.reshape(ops.cast(self.beta, "float32"), self._param_shape(ndim))
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
                "data_format": self.data_format,
            }
        )
        return config
