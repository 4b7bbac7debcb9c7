"""keras_style.methods: importing this package registers its entries."""
from keras_style.methods import adain  # noqa: E402,F401
from keras_style.methods import style_aware  # noqa: E402,F401  (issue 7)
from keras_style.methods import gatys  # noqa: E402,F401  (issue 3)
from keras_style.methods import finetune  # noqa: E402,F401  (issue 6)
from keras_style.methods import deepdream  # noqa: E402,F401  (issue 3)
from keras_style.methods import johnson  # noqa: E402,F401  (issue 4)
from keras_style.methods import arbitrary  # noqa: E402,F401
from keras_style.methods import super_resolution  # noqa: E402,F401
from keras_style.methods import multistyle  # noqa: E402,F401
