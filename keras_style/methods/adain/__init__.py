"""AdaIN arbitrary style transfer (Huang & Belongie, ICCV 2017): ``keras_style.get("adain")``.

See `keras_style.methods.adain.adain.AdaIN` for the model, its training defaults and the
test-time controls (alpha, interpolation, colour preservation, masks, sizes, tiles).
"""

from keras_style.methods.adain.controls import coral  # noqa: F401
from keras_style.methods.adain.adain import (  # noqa: F401
    AdaIN,
    EncodedStyle,
    adain_learning_rate,
    build_decoder,
)

__all__ = ["AdaIN", "EncodedStyle", "adain_learning_rate", "build_decoder", "coral"]
