"""keras_style.backbones: importing this package registers its entries."""
from keras_style.backbones.vgg import (  # noqa: E402,F401
    VGGFeatures,
    load_hed_vgg16,
    vgg16,
    vgg19,
    vgg19_normalised,
)
