"""keras_style.layers: importing this package registers its entries."""

# Shared layers (docs/design.md)
from keras_style.layers.adaptive_instance_normalization import (  # noqa: E402,F401
    AdaptiveInstanceNormalization,
)
from keras_style.layers.batch_normalization import SyncBatchNormalization  # noqa: E402,F401
from keras_style.layers.instance_normalization import InstanceNormalization  # noqa: E402,F401
from keras_style.layers.conditional_instance_normalization import ConditionalInstanceNormalization  # noqa: E402,F401
from keras_style.layers.reflection_padding import ReflectionPadding2D  # noqa: E402,F401
from keras_style.layers.residual_block import ResidualBlock  # noqa: E402,F401
from keras_style.layers.upsample_conv import NearestUpsampling2D, UpsampleConv2D  # noqa: E402,F401
# Augmentation layers (docs/augmentation.md)
from keras_style.layers import augmentation  # noqa: E402,F401
