"""Registry entries (kind ``"augmentation"``) for Keras 3 core image preprocessing layers.

``keras_style.get("random_flip", mode="horizontal")`` returns Keras' own
``keras.layers.RandomFlip`` (nothing is re-implemented).  The only change is a default:
layers that take ``value_range`` get ``value_range=(0, 1)``, keras_style's image convention
(Keras defaults to ``(0, 255)``); pass ``value_range=(0, 255)`` for 8-bit-scaled images.
Where Keras' semantics differ from torchvision's / imgaug's (docs/augmentation.md), the entry's
``notes`` (shown by ``keras_style.describe``) say so (docs/augmentation.md); measured
on Keras 3.15.1.
"""

from __future__ import annotations

import functools
import inspect

import keras

from keras_style.registry import register_object

_RANGE = "value_range defaults to (0, 1) here (Keras: (0, 255))."

# snake name -> (Keras class name, tiny test config, notes)
KERAS_CORE_LAYERS = {
    "random_flip": ("RandomFlip", {"mode": "horizontal"},
                    "Per image, flips with probability 0.5; identity at inference."),
    "random_crop": ("RandomCrop", {"height": 8, "width": 8},
                    "Fixed-size crop at ONE location for the whole batch; resizes at inference. "
                    "For torchvision's RandomResizedCrop (area/aspect sampling, per image) use "
                    "'random_resized_crop'."),
    "random_zoom": ("RandomZoom", {"height_factor": 0.1},
                    "Zoom with fill (reflect); no area/aspect sampling like RandomResizedCrop."),
    "random_rotation": ("RandomRotation", {"factor": 0.1}, "factor is a fraction of 2*pi."),
    "random_translation": ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1}, None),
    "random_shear": ("RandomShear", {"x_factor": (0.0, 0.1)},
                     "Pitfall (Keras 3.15.1): a single float x_factor/y_factor f is stored as (-f, f), "
                     "which from_config() rejects, so such a layer cannot be reloaded; pass a pair "
                     "(0, f)."),
    "random_perspective": ("RandomPerspective", {}, None),
    "random_elastic_transform": ("RandomElasticTransform", {}, _RANGE),
    "random_brightness": ("RandomBrightness", {"factor": (-0.2, 0.2)},
                          "ADDITIVE: adds U(f0, f1) * (range width) per image, then clips; a single "
                          "float f means (-f, f). The seed's multiplicative brightness x[0.5, 1.5] is "
                          "'random_hsv_scale' (brightness=...). " + _RANGE),
    "random_contrast": ("RandomContrast", {"factor": (0.5, 0.5)},
                        "factor ~ U(1 - f0, 1 + f1). Pitfall: bounds are (0, 1), so a single float 0.5 "
                        "becomes (0, 0.5) and only samples [1.0, 1.5]; pass factor=(0.5, 0.5) for "
                        "[0.5, 1.5]. " + _RANGE),
    "random_saturation": ("RandomSaturation", {"factor": (1 / 3, 0.6)},
                          "Sampled f in [f0, f1] becomes the multiplier f / (1 - f) (f = 0.5 is a no-op); "
                          "x[0.5, 1.5] needs factor=(1/3, 0.6). Pitfall: a single float f means (-f, f), "
                          "so factor=0.2 gives multipliers in [-0.17, 0.25] (mostly grey); always pass "
                          "a pair. The seed's scaling is 'random_hsv_scale'. " + _RANGE),
    "random_hue": ("RandomHue", {"factor": 0.5},
                   "ADDITIVE hue rotation by +-0.5 * f, f ~ U(f0, f1); a single float f gives shifts "
                   "in U(-f/2, f/2), i.e. torchvision ColorJitter(hue=h) with f = 2h; a pair (f0 > 0, "
                   "f1) leaves a gap around 0. Not multiplicative hue scaling ('random_hsv_scale'). " + _RANGE),
    "random_color_jitter": ("RandomColorJitter", {"brightness_factor": (-0.1, 0.1)},
                            "Brightness -> contrast -> saturation -> hue in a FIXED order (torchvision's "
                            "ColorJitter uses a random order); uses the single layers, so their quirks "
                            "apply (additive brightness, f/(1-f) saturation). " + _RANGE),
    "random_color_degeneration": ("RandomColorDegeneration", {"factor": 0.5}, _RANGE),
    "random_erasing": ("RandomErasing", {"factor": (1.0, 1.0)},
                       "ONE rectangle per image, applied with probability p ~ U(factor range). Pitfall: "
                       "the default factor=1.0 becomes (0, 1), so only ~50% of images are erased "
                       "(measured 0.497); use factor=(1.0, 1.0) to always erase. Fill is noise "
                       "N(0,1)*range by default. For imgaug's CoarseDropout (many blocks, zero fill, "
                       "per_channel) use 'coarse_dropout'. " + _RANGE),
    "random_gaussian_blur": ("RandomGaussianBlur", {}, _RANGE),
    "random_grayscale": ("RandomGrayscale", {}, None),
    "random_invert": ("RandomInvert", {}, _RANGE),
    "random_posterization": ("RandomPosterization", {"factor": (1, 8)}, _RANGE),
    "random_sharpness": ("RandomSharpness", {"factor": 0.5}, _RANGE),
    "rand_augment": ("RandAugment", {},
                     "RandAugment (num_ops=2, factor=0.5): shear, translation, rotation, brightness, "
                     "colour degeneration, contrast, sharpness, posterisation, solarisation, "
                     "auto contrast, equalisation. " + _RANGE),
    "aug_mix": ("AugMix", {}, _RANGE),
    "cut_mix": ("CutMix", {}, "Mixes images and labels across the batch (needs a dict with labels)."),
    "mix_up": ("MixUp", {}, "Mixes images and labels across the batch (needs a dict with labels)."),
    "equalization": ("Equalization", {}, "Histogram equalisation; active at inference too. " + _RANGE),
    "solarization": ("Solarization", {}, _RANGE),
    "keras_auto_contrast": ("AutoContrast", {},
                            "Keras' AutoContrast: per image/channel min-max stretch, NO cutoff, active "
                            "at inference too. 'auto_contrast' is keras_style's PIL-semantics layer "
                            "with cutoff. " + _RANGE),
    "contrast_limited_adaptive_histogram_equalization": (
        "ContrastLimitedAdaptiveHistogramEqualization", {}, "CLAHE. " + _RANGE),
    "center_crop": ("CenterCrop", {"height": 8, "width": 8}, None),
    "resizing": ("Resizing", {"height": 8, "width": 8}, None),
    "rescaling": ("Rescaling", {"scale": 1.0 / 255}, None),
    "max_num_bounding_boxes": ("MaxNumBoundingBoxes", {"max_number": 4},
                               "Pads/truncates bounding boxes to a fixed count."),
}

ALIASES = {
    "contrast_limited_adaptive_histogram_equalization": ("clahe",),
    "rand_augment": ("randaugment",),
    "aug_mix": ("augmix",),
    "cut_mix": ("cutmix",),
    "mix_up": ("mixup",),
}


def _factory(cls):
    takes_range = "value_range" in inspect.signature(cls.__init__).parameters

    @functools.wraps(cls, assigned=("__doc__",), updated=())
    def build(**kwargs):
        if takes_range:
            kwargs.setdefault("value_range", (0.0, 1.0))
        return cls(**kwargs)

    build.__name__ = cls.__name__
    return build, takes_range


def _defaults(cls, takes_range):
    out = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = None if p.default is inspect.Parameter.empty else p.default
    if takes_range:
        out["value_range"] = (0.0, 1.0)
    return out


def register_keras_core():
    for name, (class_name, test_config, notes) in KERAS_CORE_LAYERS.items():
        cls = getattr(keras.layers, class_name, None)
        if cls is None:  # an older/newer Keras without this layer
            continue
        factory, takes_range = _factory(cls)
        doc = (inspect.getdoc(cls) or class_name).strip().splitlines()[0]
        entry = register_object(
            name,
            "augmentation",
            factory,
            aliases=ALIASES.get(name, ()),
            test_config=test_config,
            summary=f"keras.layers.{class_name}: {doc}",
            notes=notes,
        )
        entry.defaults = _defaults(cls, takes_range)


register_keras_core()
