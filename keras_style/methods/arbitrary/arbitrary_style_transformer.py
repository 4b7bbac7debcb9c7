"""The style transformer network of Ghiasi et al. (BMVC 2017), conditioned on a style vector.

Architecture (Magenta ``magenta/models/arbitrary_image_stylization/nza_model.py``
``transform`` with ``model_util.conv2d`` / ``residual_block`` / ``upsampling`` from
``magenta/models/image_stylization/model.py``; channel counts ``int(alpha * c)``):

- contract: reflect-pad + 9x9 conv ``32a`` s1, 3x3 ``64a`` s2, 3x3 ``128a`` s2, each with a
  bias and ReLU (batch norm during Magenta's training, folded into the bias in the
  shipped TFLite file, which is the form built here);
- 5 residual blocks of ``128a``: reflect-pad + 3x3 conv, style norm, ReLU, reflect-pad +
  3x3 conv, style norm, then ``x + h`` (no ReLU after the sum);
- expand: nearest x2 + 3x3 conv ``64a``, nearest x2 + 3x3 conv ``32a`` (style norm, ReLU),
  9x9 conv 3 + style norm + sigmoid (Magenta's third ``upsampling`` has stride 1: its
  nearest resize is the identity and is skipped).

The shipped arbitrary_transform.onnx is ``alpha = 0.25`` (8, 16, 32 channels; see
``docs/methods/arbitrary.md``), hence ``width=0.25`` by default.

Every "style norm" is `StyleConditionedNormalization`: instance normalisation without
affine parameters (our shared `InstanceNormalization`, so that `keras_style.tiling`
computes whole-image statistics for tiles), then a per-sample scale and offset that are
linear maps (Magenta's 1x1 convs, ``StyleNorm/Conv_1`` and ``StyleNorm/Conv``) of the
style vector (Dumoulin et al., ICLR 2017; Magenta ``image_stylization/ops.py``
``conditional_style_norm``: ``tf.nn.moments`` over H, W and epsilon 1e-5).
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers.instance_normalization import InstanceNormalization
from keras_style.layers.reflection_padding import ReflectionPadding2D
from keras_style.layers.style_maps import fit_style_map, is_style_map, style_map_levels
from keras_style.layers.upsample_conv import NearestUpsampling2D

STYLE_DIM = 100  # Magenta style_prediction_bottleneck=100


def _channels(c, width):
    return max(1, int(width * c))  # Magenta: int(alpha * c)


@keras.saving.register_keras_serializable(package="keras_style")
class StyleConditionedNormalization(keras.layers.Layer):
    """Instance norm whose scale and offset are predicted from a style vector.

    ``y = IN(x) * (s @ W_scale + b_scale) + (s @ W_offset + b_offset)`` per sample, with
    ``IN`` the shared `InstanceNormalization` (biased variance over H, W; no affine
    parameters) computed in float32. Called on ``[x, style]`` with ``x`` (N, H, W, C) and
    ``style`` (N, D), (N, 1, 1, D) or a style map (N, h, w, D) (per-pixel scale and
    offset; `keras_style.layers.style_maps`). Channels-last only.

    Args:
        channels: C, the number of channels of ``x``.
        epsilon: 1e-5 (Magenta ``conditional_style_norm``; also the dequantised constant
            of the shipped ONNX file).
    """

    def __init__(self, channels, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ConfigError(f"channels must be a positive int, got {channels!r}.")
        self.channels = channels
        self.epsilon = float(epsilon)
        self.norm = InstanceNormalization(
            epsilon=self.epsilon,
            center=False,
            scale=False,
            data_format="channels_last",
            name="norm",
        )
        # creation order = Magenta's: beta (StyleNorm/Conv) first, then gamma (StyleNorm/Conv_1)
        self.offset = keras.layers.Dense(channels, name="offset")
        # scale starts near 1 (the usual instance-norm initialisation) so that a new
        # network's norms pass their input on
        self.scale = keras.layers.Dense(channels, bias_initializer="ones", name="scale")

    def build(self, input_shape):
        x_shape, s_shape = input_shape
        if x_shape[-1] is not None and x_shape[-1] != self.channels:
            raise ConfigError(
                f"StyleConditionedNormalization({self.channels}) got {x_shape[-1]} channels."
            )
        d = s_shape[-1]
        self.norm.build(tuple(x_shape))
        self.offset.build((None, d))
        self.scale.build((None, d))
        self.built = True

    def call(self, inputs):
        x, s = inputs
        y = ops.cast(self.norm(x), "float32")
        if is_style_map(s):
            # a style map (N, h, w, D): the scale and offset vary over the image
            # (keras_style.layers.style_maps); (N, 1, 1, D) is one style per image
            s = fit_style_map(ops.cast(s, "float32"), y)
            gamma = ops.cast(self.scale(s), "float32")
            beta = ops.cast(self.offset(s), "float32")
            return ops.cast(y * gamma + beta, self.compute_dtype)
        s = ops.cast(ops.reshape(s, (ops.shape(s)[0], -1)), "float32")
        gamma = ops.cast(self.scale(s), "float32")[:, None, None, :]
        beta = ops.cast(self.offset(s), "float32")[:, None, None, :]
        return ops.cast(y * gamma + beta, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels, "epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="keras_style")
class ArbitraryStyleTransformer(keras.Model):
    """Ghiasi et al.'s transformer: ``model([content, style_vector])`` -> stylized images.

    Inputs: content float32 NHWC RGB in [0, 1] of any size (fully convolutional) and the
    style vector (N, ``style_dim``), (N, 1, 1, ``style_dim``) or a style map
    (N, H, W, ``style_dim``) at the content's size. Output: sigmoid RGB in
    [0, 1] of size ``4 * ceil(ceil(H / 2) / 2)`` x the same for W (the two stride-2
    convs round up; ``H, W`` multiples of 4 give the input size back).

    Args:
        width: Magenta's ``alpha`` (channel multiplier): 0.25 for the shipped lite model,
            1.0 for the paper's network (32, 64, 128 channels).
        num_residual_blocks: 5 (Magenta).
        style_dim: length of the style vector (Magenta's bottleneck, 100).
        epsilon: instance-norm epsilon (1e-5).
    """

    def __init__(
        self, width=0.25, num_residual_blocks=5, style_dim=STYLE_DIM, epsilon=1e-5, **kwargs
    ):
        super().__init__(**kwargs)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
            raise ConfigError(f"width must be a positive number, got {width!r}.")
        if not isinstance(num_residual_blocks, int) or num_residual_blocks < 0:
            raise ConfigError(
                f"num_residual_blocks must be an int >= 0, got {num_residual_blocks!r}."
            )
        if not isinstance(style_dim, int) or isinstance(style_dim, bool) or style_dim < 1:
            raise ConfigError(f"style_dim must be a positive int, got {style_dim!r}.")
        self.width = float(width)
        self.num_residual_blocks = num_residual_blocks
        self.style_dim = style_dim
        self.epsilon = float(epsilon)
        c1, c2, c3 = (_channels(c, self.width) for c in (32, 64, 128))
        conv = keras.layers.Conv2D
        # contract: conv + bias + ReLU (the TFLite file's folded batch norm)
        self.pad9 = ReflectionPadding2D(4, data_format="channels_last", name="pad9")
        self.pad3 = ReflectionPadding2D(1, data_format="channels_last", name="pad3")
        self.contract_conv1 = conv(c1, 9, activation="relu", name="contract_conv1")
        self.contract_conv2 = conv(c2, 3, strides=2, activation="relu", name="contract_conv2")
        self.contract_conv3 = conv(c3, 3, strides=2, activation="relu", name="contract_conv3")
        self.residual = []
        for i in range(1, num_residual_blocks + 1):
            # slim.conv2d with a normalizer_fn has no bias (Magenta); the norm removes any
            self.residual.append(
                (
                    conv(c3, 3, use_bias=False, name=f"residual{i}_conv1"),
                    StyleConditionedNormalization(c3, self.epsilon, name=f"residual{i}_conv1_norm"),
                    conv(c3, 3, use_bias=False, name=f"residual{i}_conv2"),
                    StyleConditionedNormalization(c3, self.epsilon, name=f"residual{i}_conv2_norm"),
                )
            )
        self.upsample = NearestUpsampling2D(2, name="upsample")
        self.expand_conv1 = conv(c2, 3, use_bias=False, name="expand_conv1")
        self.expand_conv1_norm = StyleConditionedNormalization(
            c2, self.epsilon, name="expand_conv1_norm"
        )
        self.expand_conv2 = conv(c1, 3, use_bias=False, name="expand_conv2")
        self.expand_conv2_norm = StyleConditionedNormalization(
            c1, self.epsilon, name="expand_conv2_norm"
        )
        self.expand_conv3 = conv(3, 9, use_bias=False, name="expand_conv3")
        self.expand_conv3_norm = StyleConditionedNormalization(
            3, self.epsilon, name="expand_conv3_norm"
        )
        self._build_once()

    @property
    def stride(self):
        """Total stride (two stride-2 convs): sizes that are multiples of 4 round-trip."""
        return 4

    def norm_layers(self):
        """The `StyleConditionedNormalization` layers in network order."""
        out = []
        for block in self.residual:
            out += [block[1], block[3]]
        return out + [self.expand_conv1_norm, self.expand_conv2_norm, self.expand_conv3_norm]

    def _build_once(self):
        self.call([ops.zeros((1, 16, 16, 3)), ops.zeros((1, self.style_dim))])
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs, training=None):
        x, s = inputs
        s = ops.cast(s, "float32")
        if is_style_map(s):
            # per-pixel style vectors at the image's size, taken at 1/4 (residual blocks),
            # 1/2 and full resolution (keras_style.layers.style_maps)
            full, half, quarter = style_map_levels(s, 3)
        else:
            full = half = quarter = ops.reshape(s, (ops.shape(s)[0], self.style_dim))
        h = ops.cast(x, self.compute_dtype)
        h = self.contract_conv1(self.pad9(h))
        h = self.contract_conv2(self.pad3(h))
        h = self.contract_conv3(self.pad3(h))
        for conv1, norm1, conv2, norm2 in self.residual:
            r = ops.relu(norm1([conv1(self.pad3(h)), quarter]))
            r = norm2([conv2(self.pad3(r)), quarter])
            h = h + r
        h = ops.relu(self.expand_conv1_norm([self.expand_conv1(self.pad3(self.upsample(h))), half]))
        h = ops.relu(self.expand_conv2_norm([self.expand_conv2(self.pad3(self.upsample(h))), full]))
        h = self.expand_conv3_norm([self.expand_conv3(self.pad9(h)), full])
        return ops.sigmoid(ops.cast(h, "float32"))

    def get_config(self):
        return {
            "name": self.name,
            "width": self.width,
            "num_residual_blocks": self.num_residual_blocks,
            "style_dim": self.style_dim,
            "epsilon": self.epsilon,
        }


class StyleBoundTransformer(keras.layers.Layer):
    """The transformer with a fixed style vector: ``layer(content)`` (for `tiled_apply`).

    `keras_style.tiling.tiled_apply` calls a one-input function and finds the
    `InstanceNormalization` layers inside it; this wraps the transformer and one style
    vector so that tiles share whole-image statistics. A transient helper of
    `ArbitraryStylization.transform`: not serialisable, never saved.
    """

    def __init__(self, transformer, style_vector, masked=False, **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self._style = ops.convert_to_tensor(style_vector, "float32")
        # masked: ``style_vector`` is (K, D), one vector per mask, and the input carries K
        # per-pixel mask weights after its 3 colour channels (cropped with the image by
        # `tiled_apply`); the style map is weights @ vectors
        self.masked = bool(masked)

    @property
    def stride(self):
        return self.transformer.stride

    def call(self, x):
        if self.masked:
            vectors = ops.reshape(self._style, (-1, self.transformer.style_dim))
            return self.transformer([x[..., :3], ops.matmul(x[..., 3:], vectors)], training=False)
        s = ops.reshape(self._style, (-1, self.transformer.style_dim))
        if s.shape[0] == 1:
            s = ops.repeat(s, ops.shape(x)[0], axis=0)
        return self.transformer([x, s], training=False)


__all__ = [
    "ArbitraryStyleTransformer",
    "StyleConditionedNormalization",
    "StyleBoundTransformer",
    "STYLE_DIM",
]
