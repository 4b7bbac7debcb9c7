"""Reflection padding for 2-D feature maps (PyTorch ``ReflectionPad2d`` / Torch7
``SpatialReflectionPadding`` / TF ``tf.pad(..., "REFLECT")``)."""

from __future__ import annotations

import keras

from keras_style.errors import ConfigError
from keras_style.layers._common import pad_spatial, resolve_data_format
from keras_style.registry import register


def normalize_padding(padding, who="ReflectionPadding2D"):
    """``1`` | ``(ph, pw)`` | ``((top, bottom), (left, right))`` -> ``((t, b), (l, r))`` of ints."""

    def _int(v):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{who}: padding values must be non-negative ints, got {padding!r}.")
        return int(v)

    if isinstance(padding, int) and not isinstance(padding, bool):
        p = _int(padding)
        return ((p, p), (p, p))
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        a, b = padding
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
            return ((_int(a), _int(a)), (_int(b), _int(b)))
        if all(isinstance(v, (list, tuple)) and len(v) == 2 for v in (a, b)):
            return ((_int(a[0]), _int(a[1])), (_int(b[0]), _int(b[1])))
    raise ConfigError(
        f"{who}: padding must be an int, a pair (pad_h, pad_w) or ((top, bottom), (left, right)); "
        f"got {padding!r}."
    )


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "reflection_padding_2d",
    "layer",
    aliases=("reflection_pad_2d",),
    test_config={"padding": 1},
    notes="keras.ops.pad(mode='reflect') == PyTorch ReflectionPad2d (docs/conversions.md).",
)
class ReflectionPadding2D(keras.layers.Layer):
    """Reflection padding of the two spatial dimensions (the edge pixel is not repeated).

    Equals PyTorch ``nn.ReflectionPad2d``, Torch7 ``SpatialReflectionPadding`` and
    ``tf.pad(x, ..., "REFLECT")`` (docs/conversions.md).

    Args:
        padding: ``int`` (same on all four sides), ``(pad_h, pad_w)`` (symmetric) or
            ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` (NHWC) or ``"channels_first"`` (NCHW); ``None``
            uses ``keras.config.image_data_format()``.

    Reflection needs every padding amount to be smaller than the padded dimension
    (``pad < H`` and ``pad < W``).  When the spatial size is known (at build time or at an
    eager call) a ``ConfigError`` says so; in a graph traced with unknown sizes the backend
    raises its own error at run time instead.

    Example:

    ```python
    y = ReflectionPadding2D(4)(x)          # (N, H, W, C) -> (N, H + 8, W + 8, C)
    ```
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_padding(padding)
        self.data_format = resolve_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def _spatial(self, shape):
        return (shape[1], shape[2]) if self.data_format == "channels_last" else (shape[2], shape[3])

    def _check_size(self, shape):
        for size, (a, b), dim in zip(self._spatial(shape), self.padding, ("height", "width")):
            if size is None:
                continue
            try:
                size = int(size)
            except (TypeError, ValueError):  # symbolic size inside a graph
                continue
            if max(a, b) >= size:
                raise ConfigError(
                    f"ReflectionPadding2D: padding {max(a, b)} along the {dim} needs an input "
                    f"larger than {max(a, b)} pixels, got {size}. Use a smaller padding or a "
                    "larger input (or zero padding)."
                )

    def build(self, input_shape):
        self._check_size(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_size(tuple(inputs.shape))
        return pad_spatial(inputs, self.padding, self.data_format, "reflect")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        for ax, (a, b) in zip(axes, self.padding):
            if shape[ax] is not None:
                shape[ax] = shape[ax] + a + b
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
