"""Nearest-neighbour upsampling followed by a convolution (resize-convolution)."""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import (
    check_odd_kernel,
    check_positive_int,
    pad_spatial,
    resolve_data_format,
    spatial_axes,
)
from keras_style.registry import register

PADDINGS = ("reflect", "zero")


def nearest_upsample(x, size, data_format="channels_last"):
    """Nearest upsampling by an integer ``size`` as 4-D reshape + tile + reshape, one spatial
    axis at a time (the values of ``ops.repeat`` on each axis, i.e. Keras ``UpSampling2D``
    nearest). Static channel counts and rank-4 tensors keep every op a builtin of LiteRT
    (whose conv needs a known input depth) and of ONNX; see ``docs/export.md``."""
    s = int(size)
    if s == 1:
        return x
    shape = ops.shape(x)
    if data_format == "channels_last":
        h, w, c = shape[1], shape[2], x.shape[3]
        x = ops.tile(ops.reshape(x, (-1, w, 1, c)), (1, 1, s, 1))  # (N H, W, s, C)
        x = ops.tile(ops.reshape(x, (-1, h, 1, w * s * c)), (1, 1, s, 1))  # (N, H, s, W s C)
        return ops.reshape(x, (-1, h * s, w * s, c))
    c, h, w = x.shape[1], shape[2], shape[3]
    x = ops.tile(ops.reshape(x, (-1, w, 1)), (1, 1, s))  # (N C H, W, s)
    x = ops.tile(ops.reshape(x, (-1, h, 1, w * s)), (1, 1, s, 1))  # (N C, H, s, W s)
    return ops.reshape(x, (-1, c, h * s, w * s))


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "nearest_upsampling_2d",
    "layer",
    test_config={"size": 2},
    notes="Same values as keras.layers.UpSampling2D(interpolation='nearest'); exports to LiteRT "
    "builtins and ONNX with dynamic height and width (docs/export.md).",
)
class NearestUpsampling2D(keras.layers.Layer):
    """Nearest upsampling by an integer ``size``: Keras ``UpSampling2D(size,
    interpolation="nearest")`` (and PyTorch ``Upsample(mode="nearest")``) with the same
    values, written with reshape and tile so that a following conv keeps a static input
    depth in exported graphs (`nearest_upsample`).

    Args:
        size: integer factor on height and width.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(self, size=2, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int(size, "size", "NearestUpsampling2D")
        self.data_format = resolve_data_format(data_format)

    def call(self, inputs):
        return nearest_upsample(inputs, self.size, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for ax in spatial_axes(self.data_format):
            if shape[ax] is not None:
                shape[ax] = shape[ax] * self.size
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "upsample_conv_2d",
    "layer",
    aliases=("upsample_conv",),
    test_config={"filters": 4},
    paper="https://distill.pub/2016/deconv-checkerboard/",
    notes="Nearest x size == PyTorch Upsample(mode='nearest') (docs/conversions.md), then an "
    "explicitly padded 'valid' conv as in PyTorch ports.",
)
class UpsampleConv2D(keras.layers.Layer):
    """Nearest upsampling by ``size`` (each pixel repeated ``size x size``), then a padded conv.

    Equals PyTorch ``nn.Upsample(scale_factor=size, mode="nearest")`` followed by
    ``ReflectionPad2d(k // 2)`` (or zero padding ``k // 2``) and ``Conv2d(k, stride=strides)``,
    the "UpsampleConvLayer" of the common PyTorch fast-neural-style ports and the resize-conv
    of Odena et al. (2016) that avoids checkerboard artefacts.

    Args:
        filters: output channels.
        kernel_size: odd conv kernel size.
        size: integer nearest-upsampling factor (1 disables upsampling).
        padding: ``"reflect"`` or ``"zero"``; ``kernel_size // 2`` pixels on each side.
        use_bias: conv bias.
        strides: conv stride (applied after the explicit padding, PyTorch-style).
        data_format: ``"channels_last"`` or ``"channels_first"`` (channels-first convs need a
            backend that supports them on the device, e.g. torch; TF on CPU does not).
        kernel_initializer: initializer of the conv kernel (Keras' default).

    The convolution is exposed as ``.conv`` (a ``keras.layers.Conv2D`` named ``"conv"``).

    Example:

    ```python
    y = UpsampleConv2D(64, kernel_size=3, size=2)(x)    # (N, H, W, C) -> (N, 2H, 2W, 64)
    ```
    """

    def __init__(
        self,
        filters,
        kernel_size=3,  # 3x3 as the up-sampling convs of Johnson et al.'s network (Table 1)
        size=2,  # x2 per stage (Johnson et al.; fractionally strided conv stride 1/2)
        padding="reflect",
        use_bias=True,
        strides=1,
        data_format=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters", "UpsampleConv2D")
        check_odd_kernel(kernel_size, "UpsampleConv2D")
        self.kernel_size = int(kernel_size)
        self.size = check_positive_int(size, "size", "UpsampleConv2D")
        if padding not in PADDINGS:
            raise ConfigError(
                f"UpsampleConv2D: padding must be one of {PADDINGS}, got {padding!r}."
            )
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.strides = check_positive_int(strides, "strides", "UpsampleConv2D")
        self.data_format = resolve_data_format(data_format)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conv = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            strides=self.strides,
            padding="valid",
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            data_format=self.data_format,
            name="conv",
            dtype=self.dtype_policy,
        )

    def _upsampled_shape(self, shape):
        shape = list(shape)
        for ax in spatial_axes(self.data_format):
            if shape[ax] is not None:
                shape[ax] = shape[ax] * self.size + 2 * (self.kernel_size // 2)
        return tuple(shape)

    def build(self, input_shape):
        self.conv.build(self._upsampled_shape(input_shape))
        self.built = True

    def call(self, inputs):
        x = inputs
        if self.size > 1:
            x = self._nearest(x)
        p = self.kernel_size // 2
        mode = "reflect" if self.padding == "reflect" else "constant"
        x = pad_spatial(x, ((p, p), (p, p)), self.data_format, mode)
        return self.conv(x)

    def _nearest(self, x):
        return nearest_upsample(x, self.size, self.data_format)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(self._upsampled_shape(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "size": self.size,
                "padding": self.padding,
                "use_bias": self.use_bias,
                "strides": self.strides,
                "data_format": self.data_format,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
