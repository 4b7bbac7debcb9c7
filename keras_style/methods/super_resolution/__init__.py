"""Super-resolution networks converted from published ncnn models: waifu2x upconv_7 (x2)
and RRDBNet / Real-ESRGAN x4plus (x4). See docs/methods/super_resolution.md."""
from keras_style.methods.super_resolution.super_resolution_model import SuperResolutionModel  # noqa: F401
from keras_style.methods.super_resolution.waifu2x import EdgePadding2D, Waifu2xUpConv7  # noqa: F401
from keras_style.methods.super_resolution.rrdbnet import RRDB, RRDBNet, ResidualDenseBlock  # noqa: F401
