"""Augmentation layers (docs/augmentation.md): our own layers where Keras 3 core has none, registry
entries for Keras' own preprocessing layers, lazy keras-cv entries and the d2l fine-tuning preset."""

from keras_style.layers.augmentation.auto_contrast import AutoContrast  # noqa: F401
from keras_style.layers.augmentation.coarse_dropout import CoarseDropout  # noqa: F401
from keras_style.layers.augmentation.random_hsv_scale import RandomHSVScale  # noqa: F401
from keras_style.layers.augmentation.random_resized_crop import RandomResizedCrop  # noqa: F401

__all__ = ["AutoContrast", "CoarseDropout", "RandomHSVScale", "RandomResizedCrop"]
from keras_style.layers.augmentation import (
    keras_core,  # noqa: E402,F401
    keras_cv_interop,  # noqa: E402,F401
    presets,  # noqa: E402,F401
)
