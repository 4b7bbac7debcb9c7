"""Residual block of the Johnson et al. (2016) transformation network."""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import (
    channel_axis,
    check_odd_kernel,
    check_positive_int,
    pad_spatial,
    resolve_data_format,
)
from keras_style.layers.batch_normalization import SyncBatchNormalization
from keras_style.layers.instance_normalization import InstanceNormalization
from keras_style.registry import register

PADDINGS = ("reflect", "zero", "valid")
NORMALIZATIONS = ("instance", "batch", None)


def make_normalization(kind, data_format, name, dtype):
    """``"instance"`` | ``"batch"`` | ``None`` -> a normalisation layer (or None).

    Both use epsilon 1e-5 (PyTorch / Torch7 defaults); batch norm momentum 0.9 is PyTorch's
    ``momentum=0.1`` in Keras' convention.
    """
    if kind is None:
        return None
    if kind == "instance":
        return InstanceNormalization(epsilon=1e-5, data_format=data_format, name=name, dtype=dtype)
    if kind == "batch":
        # statistics of the global batch under tf.distribute (layers/batch_normalization.py)
        return SyncBatchNormalization(
            axis=channel_axis(data_format), epsilon=1e-5, momentum=0.9, name=name, dtype=dtype
        )
    raise ConfigError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}.")


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "residual_block",
    "layer",
    test_config={"filters": 4},
    paper="https://arxiv.org/abs/1603.08155",
    notes="conv-norm-ReLU-conv-norm + identity, no ReLU after the add (Johnson et al. 2016, "
    "supplementary Table 1; Gross & Wilber's residual variant).",
)
class ResidualBlock(keras.layers.Layer):
    """``x + norm2(conv2(relu(norm1(conv1(x)))))`` with no activation after the sum.

    Args:
        filters: channels of both convolutions; must equal the input channels (identity skip).
        kernel_size: odd kernel size of both convolutions (3 in the paper).
        padding: ``"reflect"`` (reflection-pad ``kernel_size // 2`` before each conv: the
            usual PyTorch ports), ``"zero"`` (zero padding, PyTorch ``padding=k//2``) or
            ``"valid"`` (unpadded convs; the shortcut is centre-cropped by
            ``2 * (kernel_size // 2)`` pixels on every side, as in Johnson et al.'s
            supplementary Table 1 and the Lua code, so the block shrinks H and W by 4 for k=3).
        normalization: ``"instance"`` (`InstanceNormalization`, eps 1e-5), ``"batch"``
            (`SyncBatchNormalization`, eps 1e-5, momentum 0.9 = PyTorch 0.1) or
            ``None``.
        use_bias: conv biases.
        data_format: ``"channels_last"`` or ``"channels_first"`` (channels-first convs need a
            backend that supports them on the device, e.g. torch; TF on CPU does not).
        kernel_initializer: initializer of both conv kernels (Keras' default; e.g.
            ``TruncatedNormal(stddev=0.02)`` for the style-aware TF code).

    Sub-layers with stable names for converters: ``conv1``, ``norm1``, ``conv2``, ``norm2``
    (``norm*`` are ``None`` without normalisation), e.g. ``block.conv1.kernel``
    (``(k, k, in, out)``) and ``block.norm1.gamma``.

    Example:

    ```python
    y = ResidualBlock(128, padding="reflect", normalization="instance")(x)
    ```
    """

    def __init__(
        self,
        filters,
        kernel_size=3,  # 3x3 convs (Johnson et al. 2016, supplementary Table 1)
        padding="reflect",
        normalization="instance",
        use_bias=True,
        data_format=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters", "ResidualBlock")
        check_odd_kernel(kernel_size, "ResidualBlock")
        self.kernel_size = int(kernel_size)
        if padding not in PADDINGS:
            raise ConfigError(f"ResidualBlock: padding must be one of {PADDINGS}, got {padding!r}.")
        self.padding = padding
        if normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"ResidualBlock: normalization must be one of {NORMALIZATIONS}, got {normalization!r}."
            )
        self.normalization = normalization
        self.use_bias = bool(use_bias)
        self.data_format = resolve_data_format(data_format)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        dtype = self.dtype_policy
        self.conv1 = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            padding="valid",
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            data_format=self.data_format,
            name="conv1",
            dtype=dtype,
        )
        self.norm1 = make_normalization(normalization, self.data_format, "norm1", dtype)
        self.conv2 = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            padding="valid",
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            data_format=self.data_format,
            name="conv2",
            dtype=dtype,
        )
        self.norm2 = make_normalization(normalization, self.data_format, "norm2", dtype)

    @property
    def _pad(self):
        p = self.kernel_size // 2
        return ((p, p), (p, p))

    def _conv_input_shape(self, shape):
        if self.padding == "valid":
            return tuple(shape)
        shape = list(shape)
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        for ax in axes:
            if shape[ax] is not None:
                shape[ax] += 2 * (self.kernel_size // 2)
        return tuple(shape)

    def build(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
        if channels is not None and channels != self.filters:
            raise ConfigError(
                f"ResidualBlock(filters={self.filters}) has an identity shortcut, so its input "
                f"needs {self.filters} channels; got {channels}. Add a 1x1 conv before it."
            )
        shape = self._conv_input_shape(input_shape)
        self.conv1.build(shape)
        shape = self.conv1.compute_output_shape(shape)
        if self.norm1 is not None:
            self.norm1.build(shape)
        shape = self._conv_input_shape(shape)
        self.conv2.build(shape)
        shape = self.conv2.compute_output_shape(shape)
        if self.norm2 is not None:
            self.norm2.build(shape)
        self.built = True

    def _padded(self, x):
        if self.padding == "valid":
            return x
        mode = "reflect" if self.padding == "reflect" else "constant"
        return pad_spatial(x, self._pad, self.data_format, mode)

    def call(self, inputs, training=None):
        y = self.conv1(self._padded(inputs))
        if self.norm1 is not None:
            y = self.norm1(y, training=training)
        y = ops.relu(y)
        y = self.conv2(self._padded(y))
        if self.norm2 is not None:
            y = self.norm2(y, training=training)
        x = inputs
        if self.padding == "valid":
            c = 2 * (self.kernel_size // 2)
            if self.data_format == "channels_last":
                x = x[:, c:-c, c:-c, :]
            else:
                x = x[:, :, c:-c, c:-c]
        return ops.cast(x, y.dtype) + y

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if self.padding == "valid":
            shrink = 4 * (self.kernel_size // 2)
            axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
            for ax in axes:
                if shape[ax] is not None:
                    shape[ax] -= shrink
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "padding": self.padding,
                "normalization": self.normalization,
                "use_bias": self.use_bias,
                "data_format": self.data_format,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
