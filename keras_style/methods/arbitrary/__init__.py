"""Ghiasi et al. (BMVC 2017): fast arbitrary style transfer with a style prediction network."""

from keras_style.methods.arbitrary.arbitrary_stylization import ArbitraryStylization  # noqa: F401
from keras_style.methods.arbitrary.style_predictor import StylePredictor  # noqa: F401
from keras_style.methods.arbitrary.arbitrary_style_transformer import (  # noqa: F401
    ArbitraryStyleTransformer,
    StyleBoundTransformer,
    StyleConditionedNormalization,
)
