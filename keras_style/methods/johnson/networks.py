"""Johnson et al. (2016) image transformation networks (supplementary Tables 1 and 2).

`JohnsonTransformer` (style transfer, Table 1) and `JohnsonSRNetwork` (super-resolution,
Table 2). Both map float32 NHWC RGB in [0, 1] to RGB (in [0, 1] for ``output="tanh"``).

Layouts of `JohnsonTransformer` (docs/methods/johnson.md):

- ``layout="paper"`` (default): supplementary Table 1: reflection padding of
  ``8 * num_residual_blocks`` px (40 for 5 blocks), c9s1-32, d64, d128, 5 residual blocks
  with *unpadded* 3x3 convs (each shrinks the map by 4; shortcut centre-cropped), two
  x2 upsamplings to 64 and 32 filters, c9s1-3, then the output activation. With the
  defaults (batch norm, transposed convs, zero padding, scaled tanh) this is the paper's
  network and the Lua code's ``models/eccv16`` models.
- ``layout="pytorch_examples"``: pytorch/examples ``TransformerNet`` exactly (transformer_net.py):
  reflect-padded convs, padded residual blocks, instance norm, nearest x2 + conv
  upsampling, no output activation, input and output in [0, 255] (we scale by 255 in and
  1/255 out so the model still speaks [0, 1]). ``normalization``, ``upsampling``,
  ``padding`` and ``output`` are fixed by this layout. Layer names match the state-dict
  prefixes (``conv1``, ``in1``, ..., ``res1`` ... ``res5``, ``deconv1``, ``in4``, ...) so
  `keras_style.convert.johnson_from_torch` maps tensors by name.

The Lua code feeds VGG-preprocessed BGR 0-255 images and outputs ``150 * tanh`` in that
space (Lua preprocess.lua); we feed [0, 1] RGB and output ``(tanh + 1) / 2``, the paper's
"scaled tanh so that pixels fall in [0, 255]" in our units. With a normalisation layer
right after the first conv the input affine map only rescales that conv's weights.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_style.errors import ConfigError, ImageError
from keras_style.layers.residual_block import ResidualBlock, make_normalization
from keras_style.layers.upsample_conv import UpsampleConv2D
from keras_style.registry import register

NORMALIZATIONS = ("instance", "batch", None)
UPSAMPLINGS = ("transposed", "resize_conv")
PADDINGS = ("reflect", "zero")
OUTPUTS = ("tanh", "linear")
LAYOUTS = ("paper", "padded", "pytorch_examples")


def _channels(c, width):
    return max(1, int(round(c * width)))


def _norm(kind, name):
    # eps 1e-5: PyTorch/Torch7; batch norm momentum 0.9 == their 0.1 (docs/conversions.md)
    return make_normalization(kind, "channels_last", name, None)


def reflect_pad_any(x, pad):
    """Reflection padding by ``pad`` px on every side, also when ``pad >= size``
    (repeated reflections, i.e. chunked ``ops.pad(mode="reflect")``)."""
    remaining = pad
    while remaining > 0:
        h, w = x.shape[1], x.shape[2]
        step = remaining
        if h is not None and w is not None:
            step = min(remaining, int(h) - 1, int(w) - 1)
            if step < 1:
                raise ImageError(f"Cannot reflection-pad an image of {h}x{w} pixels; use >= 2 px.")
        x = ops.pad(x, ((0, 0), (step, step), (step, step), (0, 0)), mode="reflect")
        remaining -= step
    return x


class _PaddedConv(keras.layers.Layer):
    """Explicit padding (reflect/zero, PyTorch-style) then a 'valid' Conv2D named ``conv2d``."""

    def __init__(self, filters, kernel_size, strides=1, padding="reflect", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.padding = filters, kernel_size, strides, padding
        self.conv2d = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="valid", name="conv2d")

    def build(self, input_shape):
        p = self.kernel_size // 2
        shape = (input_shape[0], None, None, input_shape[-1])
        del p
        self.conv2d.build(shape)
        self.built = True

    def call(self, x):
        p = self.kernel_size // 2
        if p:
            x = ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect" if self.padding == "reflect" else "constant")
        return self.conv2d(x)

    def compute_output_shape(self, s):
        f = lambda v: None if v is None else (v - 1) // self.strides + 1  # noqa: E731
        return (s[0], f(s[1]), f(s[2]), self.filters)

    def get_config(self):
        c = super().get_config()
        c.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides, padding=self.padding)
        return c


class _TransposedUp(keras.layers.Layer):
    """Transposed conv k3 s2 equal to PyTorch ``ConvTranspose2d(3, 2, padding=1,
    output_padding=1)`` / Torch7 ``SpatialFullConvolution(3,3,2,2,1,1,1,1)``: Keras 'valid'
    then crop one row/column at the top-left (docs/conversions.md)."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv2d = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="valid", name="conv2d")

    def build(self, input_shape):
        self.conv2d.build((input_shape[0], None, None, input_shape[-1]))
        self.built = True

    def call(self, x):
        y = self.conv2d(x)
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        return y[:, 1 : 1 + 2 * h, 1 : 1 + 2 * w, :]

    def compute_output_shape(self, s):
        f = lambda v: None if v is None else 2 * v  # noqa: E731
        return (s[0], f(s[1]), f(s[2]), self.filters)

    def get_config(self):
        c = super().get_config()
        c.update(filters=self.filters)
        return c


def _check_choice(value, allowed, what, who):
    if value not in allowed:
        raise ConfigError(f"{who}: {what} must be one of {allowed}, got {value!r}.")


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "johnson_transformer",
    "network",
    test_config={"width": 0.125, "num_residual_blocks": 1},
    paper="https://arxiv.org/abs/1603.08155",
)
class JohnsonTransformer(keras.Model):
    """The style-transfer network of Johnson et al. (2016), supplementary Table 1.

    Args:
        width: channel multiplier (1.0 = 32/64/128 filters; the Lua ``instance_norm``
            models use 0.5, docs/methods/johnson.md).
        num_residual_blocks: 5 in the paper.
        normalization: ``"batch"`` (paper, §3 "spatial batch normalization"; Lua
            ``models/eccv16``), ``"instance"`` (Lua ``train.lua`` default
            ``-use_instance_norm 1`` and pytorch/examples) or ``None``.
        upsampling: ``"transposed"`` (paper: fractionally strided convs; Lua ``uX``) or
            ``"resize_conv"`` (nearest x2 then 3x3 conv, pytorch/examples; no checkerboard).
        padding: padding of the non-residual convs, ``"zero"`` (what the Lua code really
            does with ``reflect-start``, docs/methods/johnson.md) or ``"reflect"`` (pytorch/examples).
            In the paper layout the residual blocks are unpadded and the input is
            reflection-padded by ``8 * num_residual_blocks`` px instead.
        output: ``"tanh"`` (paper: scaled tanh, here ``(tanh + 1) / 2`` in [0, 1]) or
            ``"linear"`` (pytorch/examples).
        layout: ``"paper"``, ``"padded"`` or ``"pytorch_examples"`` (module docstring).

    Input: float32 NHWC RGB in [0, 1] of any size >= `min_input_size`; the output is
    ``4 * ceil(ceil(H / 2) / 2)`` rows (the strides round odd sizes up, as in the original
    networks; `JohnsonStyleTransfer.stylize` crops it to the input's size).
    """

    def __init__(
        self,
        width=1.0,
        num_residual_blocks=5,  # paper Table 1 / Lua -arch ...R128 x5
        normalization="batch",  # paper (BN); the Lua train.lua default is instance norm
        upsampling="transposed",  # paper / Lua 'u' tokens (fractionally strided convs)
        padding="zero",  # Lua code's effective conv padding (models.lua padding quirk)
        output="tanh",  # paper: scaled tanh; pytorch/examples: linear
        layout="paper",
        **kwargs,
    ):
        super().__init__(**kwargs)
        who = "JohnsonTransformer"
        if not isinstance(width, (int, float)) or width <= 0:
            raise ConfigError(f"{who}: width must be a positive number, got {width!r}.")
        if not isinstance(num_residual_blocks, int) or num_residual_blocks < 0:
            raise ConfigError(f"{who}: num_residual_blocks must be an int >= 0, got {num_residual_blocks!r}.")
        _check_choice(layout, LAYOUTS, "layout", who)
        if layout == "pytorch_examples":
            # fixed by TransformerNet (pytorch/examples transformer_net.py)
            normalization, upsampling, padding, output = "instance", "resize_conv", "reflect", "linear"
        _check_choice(normalization, NORMALIZATIONS, "normalization", who)
        _check_choice(upsampling, UPSAMPLINGS, "upsampling", who)
        _check_choice(padding, PADDINGS, "padding", who)
        _check_choice(output, OUTPUTS, "output", who)
        self.width = float(width)
        self.num_residual_blocks = num_residual_blocks
        self.normalization = normalization
        self.upsampling = upsampling
        self.padding = padding
        self.output_kind = output
        self.layout = layout
        c32, c64, c128 = (_channels(c, width) for c in (32, 64, 128))
        self.conv1 = _PaddedConv(c32, 9, 1, padding, name="conv1")
        self.in1 = _norm(normalization, "in1")
        self.conv2 = _PaddedConv(c64, 3, 2, padding, name="conv2")
        self.in2 = _norm(normalization, "in2")
        self.conv3 = _PaddedConv(c128, 3, 2, padding, name="conv3")
        self.in3 = _norm(normalization, "in3")
        res_pad = "valid" if layout == "paper" else padding
        self.res = [
            ResidualBlock(c128, 3, padding=res_pad, normalization=normalization, name=f"res{i + 1}")
            for i in range(num_residual_blocks)
        ]
        if upsampling == "transposed":
            self.deconv1 = _TransposedUp(c64, name="deconv1")
            self.deconv2 = _TransposedUp(c32, name="deconv2")
        else:
            self.deconv1 = UpsampleConv2D(c64, 3, size=2, padding=padding, name="deconv1")
            self.deconv2 = UpsampleConv2D(c32, 3, size=2, padding=padding, name="deconv2")
        self.in4 = _norm(normalization, "in4")
        self.in5 = _norm(normalization, "in5")
        self.deconv3 = _PaddedConv(3, 9, 1, padding, name="deconv3")
        self.build((None, None, None, 3))

    @property
    def input_padding(self):
        """Reflection padding of the paper layout (40 px for 5 valid residual blocks)."""
        return 8 * self.num_residual_blocks if self.layout == "paper" else 0

    @property
    def stride(self):
        return 4

    @property
    def min_input_size(self):
        """Smallest side the network takes: its stride, and 5 px where the first 9x9 conv
        reflection-pads the image itself by 4 px (reflection needs pad < size)."""
        return 5 if (self.padding == "reflect" and self.layout != "paper") else self.stride

    def build(self, input_shape):
        shape = (None, None, None, 3)
        for lyr in (self.conv1, self.in1, self.conv2, self.in2, self.conv3, self.in3):
            if lyr is not None:
                lyr.build(shape)
                shape = lyr.compute_output_shape(shape)
        for r in self.res:
            r.build(shape)
        for lyr in (self.deconv1, self.in4, self.deconv2, self.in5, self.deconv3):
            if lyr is not None:
                lyr.build(shape)
                shape = lyr.compute_output_shape(shape)
        self.built = True

    def _block(self, conv, norm, x, training):
        x = conv(x)
        if norm is not None:
            x = norm(x, training=training)
        return ops.relu(x)

    def call(self, inputs, training=None):
        x = ops.cast(inputs, self.compute_dtype)
        if self.layout == "pytorch_examples":
            x = x * 255.0  # TransformerNet takes RGB in [0, 255] (neural_style.py)
        if self.input_padding:
            x = reflect_pad_any(x, self.input_padding)
        x = self._block(self.conv1, self.in1, x, training)
        x = self._block(self.conv2, self.in2, x, training)
        x = self._block(self.conv3, self.in3, x, training)
        for r in self.res:
            x = r(x, training=training)
        x = self._block(self.deconv1, self.in4, x, training)
        x = self._block(self.deconv2, self.in5, x, training)
        x = self.deconv3(x)
        x = ops.cast(x, "float32")
        if self.output_kind == "tanh":
            return (ops.tanh(x) + 1.0) * 0.5
        if self.layout == "pytorch_examples":
            return x / 255.0
        return x

    def compute_output_shape(self, s):
        f = lambda v: None if v is None else 4 * math.ceil(math.ceil(v / 2) / 2)  # noqa: E731
        return (s[0], f(s[1]), f(s[2]), 3)

    def get_config(self):
        return {
            "name": self.name,
            "width": self.width,
            "num_residual_blocks": self.num_residual_blocks,
            "normalization": self.normalization,
            "upsampling": self.upsampling,
            "padding": self.padding,
            "output": self.output_kind,
            "layout": self.layout,
        }


def _bilinear_upsample(x, scale):
    """Bilinear x``scale`` (half-pixel centres, no antialiasing: ``keras.ops.image.resize``).
    On tensorflow through ``tf.image.resize``, which takes a dynamic size (Keras' op wants
    Python ints, which a graph with unknown height and width does not have)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        shape = tf.shape(x)
        return tf.image.resize(x, tf.stack([shape[1] * scale, shape[2] * scale]), method="bilinear")
    h, w = int(x.shape[1]), int(x.shape[2])
    return ops.image.resize(x, (h * scale, w * scale), interpolation="bilinear", antialias=False)


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "johnson_sr_network",
    "network",
    test_config={"scale": 4, "width": 0.125, "num_residual_blocks": 1},
    paper="https://arxiv.org/abs/1603.08155",
)
class JohnsonSRNetwork(keras.Model):
    """The super-resolution networks of Johnson et al. (2016), supplementary Table 2.

    c9s1-64 + norm + ReLU, 4 residual blocks of 64 filters (padded 3x3 convs), log2(scale)
    x2 upsampling convs of 64 filters (+ norm + ReLU), c9s1-3, scaled tanh
    (docs/methods/johnson.md, "Super-resolution networks").

    Args:
        scale: 4 or 8.
        width: channel multiplier (1.0 = 64 filters).
        num_residual_blocks: 4 in the paper.
        normalization: ``"batch"`` (paper), ``"instance"`` or ``None``.
        upsampling: ``"transposed"`` (paper) or ``"resize_conv"``.
        padding: ``"zero"`` (paper's padded convs) or ``"reflect"``.
        output: ``"tanh"`` ((tanh + 1) / 2 in [0, 1]) or ``"linear"``.
        skip: ``None`` (paper) or ``"bilinear"``: not in the paper, a global residual as in
            VDSR (Kim et al. 2016, https://arxiv.org/abs/1511.04587): the network adds its
            last conv to the bilinear upsampling of the input, so a short training starts
            from interpolation instead of from a grey image; needs ``output="linear"``
            (docs/methods/johnson.md, "Super-resolution networks").
    """

    def __init__(
        self,
        scale=4,
        width=1.0,
        num_residual_blocks=4,  # paper Table 2
        normalization="batch",  # paper: BN after every non-residual conv
        upsampling="transposed",  # paper: stride-1/2 convs
        padding="zero",
        output="tanh",  # paper: scaled tanh
        skip=None,  # paper: none
        **kwargs,
    ):
        super().__init__(**kwargs)
        who = "JohnsonSRNetwork"
        if skip not in (None, "bilinear"):
            raise ConfigError(f"{who}: skip must be None or 'bilinear', got {skip!r}.")
        if skip is not None and output != "linear":
            raise ConfigError(f"{who}: skip={skip!r} adds a residual to the upsampled input; use output='linear'.")
        self.skip = skip
        if scale not in (4, 8):
            raise ConfigError(f"{who}: scale must be 4 or 8 (the paper's models), got {scale!r}.")
        if not isinstance(width, (int, float)) or width <= 0:
            raise ConfigError(f"{who}: width must be a positive number, got {width!r}.")
        _check_choice(normalization, NORMALIZATIONS, "normalization", who)
        _check_choice(upsampling, UPSAMPLINGS, "upsampling", who)
        _check_choice(padding, PADDINGS, "padding", who)
        _check_choice(output, OUTPUTS, "output", who)
        self.scale = scale
        self.width = float(width)
        self.num_residual_blocks = int(num_residual_blocks)
        self.normalization, self.upsampling, self.padding, self.output_kind = normalization, upsampling, padding, output
        c = _channels(64, width)
        self.conv1 = _PaddedConv(c, 9, 1, padding, name="conv1")
        self.in1 = _norm(normalization, "in1")
        self.res = [
            ResidualBlock(c, 3, padding=padding, normalization=normalization, name=f"res{i + 1}")
            for i in range(self.num_residual_blocks)
        ]
        n_up = int(round(math.log2(scale)))
        self.ups, self.up_norms = [], []
        for i in range(n_up):
            if upsampling == "transposed":
                self.ups.append(_TransposedUp(c, name=f"deconv{i + 1}"))
            else:
                self.ups.append(UpsampleConv2D(c, 3, size=2, padding=padding, name=f"deconv{i + 1}"))
            self.up_norms.append(_norm(normalization, f"in{i + 2}"))
        self.conv_out = _PaddedConv(3, 9, 1, padding, name="conv_out")
        self.build((None, None, None, 3))

    @property
    def stride(self):
        return 1

    def build(self, input_shape):
        shape = (None, None, None, 3)
        self.conv1.build(shape)
        shape = (None, None, None, self.conv1.filters)
        if self.in1 is not None:
            self.in1.build(shape)
        for r in self.res:
            r.build(shape)
        for up, n in zip(self.ups, self.up_norms):
            up.build(shape)
            if n is not None:
                n.build(shape)
        self.conv_out.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = ops.cast(inputs, self.compute_dtype)
        x = self.conv1(x)
        if self.in1 is not None:
            x = self.in1(x, training=training)
        x = ops.relu(x)
        for r in self.res:
            x = r(x, training=training)
        for up, n in zip(self.ups, self.up_norms):
            x = up(x)
            if n is not None:
                x = n(x, training=training)
            x = ops.relu(x)
        x = ops.cast(self.conv_out(x), "float32")
        if self.output_kind == "tanh":
            return (ops.tanh(x) + 1.0) * 0.5
        if self.skip == "bilinear":
            x = x + _bilinear_upsample(ops.cast(inputs, "float32"), self.scale)
        return x

    def compute_output_shape(self, s):
        f = lambda v: None if v is None else v * self.scale  # noqa: E731
        return (s[0], f(s[1]), f(s[2]), 3)

    def get_config(self):
        return {
            "name": self.name,
            "scale": self.scale,
            "width": self.width,
            "num_residual_blocks": self.num_residual_blocks,
            "normalization": self.normalization,
            "upsampling": self.upsampling,
            "padding": self.padding,
            "output": self.output_kind,
            "skip": self.skip,
        }


__all__ = ["JohnsonTransformer", "JohnsonSRNetwork", "reflect_pad_any"]
