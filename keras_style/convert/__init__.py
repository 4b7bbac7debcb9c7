"""keras_style.convert: importing this package registers its entries."""
from keras_style.convert.adain import adain_from_torch  # noqa: E402,F401
from keras_style.convert.style_aware import style_aware_from_tf  # noqa: E402,F401  (issue 7)
from keras_style.convert.johnson import johnson_from_torch  # noqa: E402,F401  (issue 4)
