"""Ghiasi et al. (BMVC 2017): fast arbitrary style transfer with a style prediction network."""

from keras_style.methods.arbitrary.model import ArbitraryStylization  # noqa: F401
from keras_style.methods.arbitrary.style_predictor import StylePredictor  # noqa: F401
from keras_style.methods.arbitrary.transformer import (  # noqa: F401
    ArbitraryStyleTransformer,
    StyleBoundTransformer,
    StyleConditionedNormalization,
)
