"""keras_style.metrics: importing this package registers its entries."""
from keras_style.metrics.image_quality import PSNR, SSIM, psnr, rgb_to_y, ssim  # noqa: E402,F401
from keras_style.metrics.style_distance import StyleYardstick, style_distance  # noqa: E402,F401
