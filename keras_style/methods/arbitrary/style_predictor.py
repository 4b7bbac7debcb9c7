"""The style prediction network: MobileNetV2 features -> mean -> a 100-number style vector.

Ghiasi et al. (BMVC 2017) predict the style vector with Inception-v3; Magenta's mobile
model (``magenta/models/arbitrary_image_stylization/
arbitrary_image_stylization_build_mobilenet_model.py``, ``style_prediction_mobilenet``)
uses MobileNetV2 (Sandler et al., CVPR 2018; TF-slim ``nets/mobilenet/mobilenet_v2.py``
``V2_DEF``) up to ``layer_19`` (the 1x1 conv to 1280 channels), a spatial mean
(``bottleneck``) and a 1x1 conv with bias to the bottleneck (``mobilenet_conv``).

The shipped arbitrary_predict.onnx has every batch norm folded into its conv's bias, so
this network is convs with biases and ReLU6 (TF-slim's activation), TF "SAME" padding
(Keras ``padding="same"``: for stride 2 it pads bottom/right first, as TensorFlow does).
The input is RGB in [0, 1], used as it is (Magenta feeds ``style_input_`` straight into
``mobilenet_base``; the file's first conv reads the [0, 1] image).

``keras.applications.MobileNetV2`` is not used: its batch-norm layers are not in the
file, so its layers do not map one to one.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_style.errors import ConfigError

STYLE_DIM = 100  # Magenta style_prediction_bottleneck=100

# (expansion t, output channels c, repeats n, first stride s): Sandler et al. Table 2,
# TF-slim V2_DEF (expanded_conv .. expanded_conv_16).
MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(v, divisor=8, min_value=None):
    """TF-slim ``mobilenet._make_divisible``: round ``v`` to a multiple of ``divisor``,
    never below 90% of ``v``."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return int(new_v)


def block_names():
    """TF-slim scope of each inverted-residual block: expanded_conv, expanded_conv_1, ..."""
    n = sum(r for _, _, r, _ in MOBILENET_V2_BLOCKS)
    return ["expanded_conv"] + [f"expanded_conv_{i}" for i in range(1, n)]


@keras.saving.register_keras_serializable(package="keras_style")
class StylePredictor(keras.Model):
    """MobileNetV2 (batch norm folded) + mean + dense: ``model(images)`` -> (N, style_dim).

    Args:
        alpha: MobileNetV2 width multiplier (1.0 in the shipped file: 32 ... 320, 1280).
            Channels are ``make_divisible(c * alpha)``; the last conv keeps 1280 channels
            for ``alpha <= 1`` (TF-slim / keras.applications convention).
        style_dim: length of the style vector (100).

    Input: float32 NHWC RGB in [0, 1]; the pipeline feeds a 256 x 256 centre crop.
    Layer names follow TF-slim: ``Conv``, ``expanded_conv_{i}_{expand|depthwise|project}``,
    ``Conv_1``, ``mobilenet_conv``.
    """

    def __init__(self, alpha=1.0, style_dim=STYLE_DIM, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ConfigError(f"alpha must be a positive number, got {alpha!r}.")
        if not isinstance(style_dim, int) or isinstance(style_dim, bool) or style_dim < 1:
            raise ConfigError(f"style_dim must be a positive int, got {style_dim!r}.")
        self.alpha = float(alpha)
        self.style_dim = style_dim
        # He initialisation: without batch norm (folded in the file) Glorot's would let the
        # activations vanish over the 52 layers of a randomly initialised network
        def conv(*args, **kw):
            return keras.layers.Conv2D(*args, kernel_initializer="he_normal", **kw)

        self.stem = conv(
            make_divisible(32 * self.alpha),
            3,
            strides=2,
            padding="same",
            activation="relu6",
            name="Conv",
        )
        self.blocks = []
        names = iter(block_names())
        cin = self.stem.filters
        for t, c, n, s in MOBILENET_V2_BLOCKS:
            cout = make_divisible(c * self.alpha)
            for i in range(n):
                name = next(names)
                stride = s if i == 0 else 1
                expand = (
                    conv(cin * t, 1, padding="same", activation="relu6", name=f"{name}_expand")
                    if t != 1
                    else None
                )
                depthwise = keras.layers.DepthwiseConv2D(
                    3,
                    strides=stride,
                    padding="same",
                    activation="relu6",
                    # He for a depthwise kernel (kh, kw, C, 1): fan_out = kh * kw is its fan-in
                    depthwise_initializer=keras.initializers.VarianceScaling(2.0, "fan_out"),
                    name=f"{name}_depthwise",
                )
                project = conv(cout, 1, padding="same", name=f"{name}_project")
                residual = stride == 1 and cin == cout
                self.blocks.append((expand, depthwise, project, residual))
                cin = cout
        last = 1280 if self.alpha <= 1.0 else make_divisible(1280 * self.alpha)
        self.head = conv(last, 1, padding="same", activation="relu6", name="Conv_1")
        # mobilenet_conv: a 1x1 conv on the pooled 1x1 map, i.e. a dense layer
        self.bottleneck = keras.layers.Dense(style_dim, name="mobilenet_conv")
        self.call(ops.zeros((1, 32, 32, 3)))
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    def features(self, images):
        """The 1280-channel ``layer_19`` feature map."""
        h = self.stem(ops.cast(images, self.compute_dtype))
        for expand, depthwise, project, residual in self.blocks:
            y = expand(h) if expand is not None else h
            y = project(depthwise(y))
            h = h + y if residual else y
        return self.head(h)

    def call(self, images, training=None):
        f = ops.cast(self.features(images), "float32")
        pooled = ops.mean(f, axis=(1, 2))  # Magenta "bottleneck": reduce_mean over H, W
        return ops.cast(self.bottleneck(pooled), "float32")

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha, "style_dim": self.style_dim}


__all__ = ["StylePredictor", "MOBILENET_V2_BLOCKS", "make_divisible", "block_names", "STYLE_DIM"]
