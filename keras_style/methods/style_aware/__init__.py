"""Sanakoyeu et al. (ECCV 2018) style-aware content loss GAN: registers ``style_aware`` and its losses."""

from keras_style.methods.style_aware.losses import (  # noqa: F401
    StyleAwareContentLoss,
    StyleAwareDiscriminatorLoss,
    StyleAwareGeneratorAdversarialLoss,
    TransformedImageLoss,
)
from keras_style.methods.style_aware.style_aware import StyleAware  # noqa: F401

__all__ = [
    "StyleAware",
    "StyleAwareContentLoss",
    "StyleAwareDiscriminatorLoss",
    "StyleAwareGeneratorAdversarialLoss",
    "TransformedImageLoss",
]
