"""keras-cv's augmentation layers as registry entries ``keras_cv.<name>`` (lazy).

``keras_style.get("keras_cv.RandomCropAndResize", target_size=(224, 224), ...)`` returns the
keras-cv layer itself; ``keras_style.names(kind="augmentation")`` lists them.  keras-cv is
an optional extra (``pip install "keras-style[cv]"``) and slow to import, so it is imported
only when such a name, or the augmentation listing, is first needed (through
``keras_style.registry.register_namespace``).  Names are snake_case
(``keras_cv.random_crop_and_resize``) with the lower-cased class name as an alias, so the
CamelCase class name works too (lookups are case-insensitive).
"""

from __future__ import annotations

import inspect
import re
import warnings

from keras_style.errors import ConfigError
from keras_style.registry import register_namespace, register_object

PREFIX = "keras_cv"
INSTALL_HINT = 'pip install "keras-style[cv]"'

# Tiny constructor arguments for keras-cv layers whose arguments have no default; used as
# each entry's test_config (the registry sweep builds every entry from it).
_REQUIRED_ARGS = {
    "value_range": (0, 1),
    "factor": 0.5,
    "bits": 4,
    "target_size": (8, 8),
    "scale_factor": (0.8, 1.25),
    "brightness_factor": 0.1,
    "contrast_factor": 0.1,
    "saturation_factor": 0.5,
    "hue_factor": 0.1,
    "height": 8,
    "width": 8,
    "crop_area_factor": (0.08, 1.0),
    "aspect_ratio_factor": (3 / 4, 4 / 3),
    "height_factor": 0.2,
    "width_factor": 0.2,
    "kernel_size": 3,
    "scale": 1 / 255,
    "augmentations_per_image": 1,
}
_PER_CLASS_ARGS = {
    "RandomAspectRatio": {"factor": (0.9, 1.1)},
    "RandomJpegQuality": {"factor": (75, 100)},
}
# arguments that take other layers
_LAYER_ARGS = {"layer": "one", "layers": "list", "augmenters": "list"}


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def import_keras_cv():
    """Import keras_cv (quietly) or raise ConfigError saying what to install."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import keras_cv
    except ImportError as e:
        raise ConfigError(
            f"keras-cv is not installed ({e}); keras_cv.* augmentation names need it: "
            f"{INSTALL_HINT}"
        ) from e
    except Exception as e:  # e.g. a keras-cv release incompatible with this Keras
        import keras

        raise ConfigError(
            f"keras-cv is installed but failed to import with keras {keras.__version__}: "
            f"{type(e).__name__}: {e}. Install a compatible release: {INSTALL_HINT}"
        ) from e
    return keras_cv


def keras_cv_layer_classes():
    """{ClassName: class} of keras-cv's 2-D image augmentation layers."""
    keras_cv = import_keras_cv()
    out = {}
    for name in dir(keras_cv.layers):
        cls = getattr(keras_cv.layers, name)
        if (
            inspect.isclass(cls)
            and cls.__module__.startswith("keras_cv.src.layers.preprocessing.")
            and not name.startswith(("Base", "Vectorized"))
        ):
            out[name] = cls
    return out


def _test_config(name, cls, keras_cv):
    config = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not inspect.Parameter.empty:
            continue
        if p.name in _LAYER_ARGS:
            flip = keras_cv.layers.RandomFlip()
            config[p.name] = flip if _LAYER_ARGS[p.name] == "one" else [flip]
        elif p.name in _PER_CLASS_ARGS.get(name, {}):
            config[p.name] = _PER_CLASS_ARGS[name][p.name]
        elif p.name in _REQUIRED_ARGS:
            config[p.name] = _REQUIRED_ARGS[p.name]
        else:
            return None  # unknown required argument: no test config
    return config


def populate():
    keras_cv = import_keras_cv()
    for name, cls in sorted(keras_cv_layer_classes().items()):
        snake = _snake(name)
        aliases = () if name.lower() == snake else (f"{PREFIX}.{name.lower()}",)
        doc = (inspect.getdoc(cls) or name).strip().splitlines()[0]
        register_object(
            f"{PREFIX}.{snake}",
            "augmentation",
            cls,
            aliases=aliases,
            test_config=_test_config(name, cls, keras_cv),
            summary=f"keras_cv.layers.{name}: {doc}",
            notes=f"keras-cv {getattr(keras_cv, '__version__', '?')} layer (optional extra: "
            f"{INSTALL_HINT}); its own value_range/factor conventions apply.",
        )


register_namespace(PREFIX, populate, kind="augmentation")
