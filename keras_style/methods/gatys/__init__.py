"""Gatys et al. neural style (`gatys`) and total-variation denoising (`denoise_tv`)."""

from keras_style.methods.gatys.denoise import denoise_tv  # noqa: F401
from keras_style.methods.gatys.gatys import Gatys  # noqa: F401
