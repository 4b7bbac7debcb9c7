"""keras-style: classic image-transformation methods as one Keras 3 model zoo.

```python
import keras_style as ks
ks.names(kind="method")
out = ks.get("gatys").stylize("photo.jpg", "painting.jpg", steps=300)
ks.save_image(out, "out.png")
```
"""

__version__ = "0.1.0"

# The `keras-style` command answers --version/--help before Keras loads and keeps TensorFlow's
# start-up lines off stderr (keras_style/cli/_startup.py); a no-op for every other importer.
from keras_style.cli._startup import before_heavy_imports as _before_heavy_imports  # noqa: E402

_before_heavy_imports()

from keras_style import errors  # noqa: E402
from keras_style.errors import *  # noqa: E402,F401,F403
from keras_style.registry import describe, get, names, register, register_object  # noqa: E402
from keras_style.images import load_image, save_image  # noqa: E402
from keras_style import weights  # noqa: E402

# Importing these packages registers their entries (each package's __init__ imports its
# modules). Order matters only in that later packages may use earlier ones.
from keras_style import layers  # noqa: E402,F401
from keras_style import losses  # noqa: E402,F401
from keras_style import backbones  # noqa: E402,F401
from keras_style import metrics  # noqa: E402,F401
from keras_style import callbacks  # noqa: E402,F401
from keras_style import methods  # noqa: E402,F401
from keras_style import presets as _presets  # noqa: E402

_presets.register_presets()

_LAZY_MODULES = {
    "data": "keras_style.data",
    "video": "keras_style.video",
    "convert": "keras_style.convert",
    "tiling": "keras_style.tiling",
    "presets": "keras_style.presets",
}
# name -> (module, attribute): public functions that live in a method's folder.
_LAZY_ATTRS = {
    "denoise_tv": ("keras_style.methods.gatys", "denoise_tv"),
}


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    if name in _LAZY_ATTRS:
        mod, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'keras_style' has no attribute {name!r}")


__all__ = [
    "__version__",
    "get",
    "names",
    "register",
    "register_object",
    "describe",
    "load_image",
    "save_image",
    "weights",
    "errors",
    *_LAZY_MODULES,
    *_LAZY_ATTRS,
]
