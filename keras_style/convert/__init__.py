"""keras_style.convert: importing this package registers its entries."""
from keras_style.convert.adain import adain_from_torch  # noqa: E402,F401
