"""``RandomHSVScale``: multiply hue, saturation and value by per-image random factors."""

from __future__ import annotations

import keras
from keras import ops

from keras_style.layers.augmentation.base import BaseAugmentation, check_range, uniform
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "random_hsv_scale",
    "augmentation",
    test_config={},
    notes=(
        "Multiplicative in all three HSV channels, as d2l's fine-tuning recipe: 'scale hue, saturation and "
        "brightness by a factor in [0.5, 1.5]'. Keras' RandomBrightness is additive and "
        "RandomHue additive, RandomSaturation uses f/(1-f) (docs/augmentation.md); torchvision's "
        "ColorJitter hue is an additive shift."
    ),
)
class RandomHSVScale(BaseAugmentation):
    """Scale hue, saturation and brightness (HSV value) by random factors, per image.

    Each image gets three independent factors ``f_h ~ U(hue)``, ``f_s ~ U(saturation)``,
    ``f_v ~ U(brightness)``; in HSV space (``keras.ops.image.rgb_to_hsv``, H in [0, 1))
    the output is ``H' = (H * f_h) mod 1``, ``S' = clip(S * f_s, 0, 1)``,
    ``V' = clip(V * f_v, 0, 1)``.  The default ranges ``(0.5, 1.5)`` are the d2l recipe's
    "[0.5, 1.5]" (docs/augmentation.md, "Colour").  Scaling V equals multiplying the RGB image (blending
    with black), i.e. torchvision's ``ColorJitter(brightness=0.5)``.

    Args:
        hue, saturation, brightness: ``(min, max)`` factor ranges, or a number ``v`` meaning
            ``(max(0, 1 - v), 1 + v)`` (torchvision's convention), or ``None`` to leave that
            channel alone.  Factors must be >= 0.
        value_range, seed, data_format: as for every keras_style augmentation layer.
    """

    def __init__(
        self,
        hue=(0.5, 1.5),
        saturation=(0.5, 1.5),
        brightness=(0.5, 1.5),
        value_range=(0.0, 1.0),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        who = "RandomHSVScale"
        kw = dict(low=0.0, allow_none=True, symmetric_around=1.0)
        self.hue = check_range(hue, "hue", who, **kw)
        self.saturation = check_range(saturation, "saturation", who, **kw)
        self.brightness = check_range(brightness, "brightness", who, **kw)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        seed = self.generator if seed is None else seed
        n = ops.shape(images)[0]
        out = {}
        for name in ("hue", "saturation", "brightness"):
            rng = getattr(self, name)
            out[name] = None if rng is None else uniform((n,), rng, seed)
        return out

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        x = ops.clip(self._to_unit(images), 0.0, 1.0)
        t = transformation
        if t["hue"] is None and t["saturation"] is None:
            if t["brightness"] is None:
                return images
            # only V changes: clip(V * f) per pixel = clip(rgb * f), no HSV round trip
            y = ops.clip(x * ops.cast(t["brightness"][:, None, None, None], x.dtype), 0.0, 1.0)
            return self._from_unit(y)
        hsv = ops.image.rgb_to_hsv(x, data_format="channels_last")
        h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]

        def f(k):
            return ops.cast(t[k][:, None, None], x.dtype)

        if t["hue"] is not None:
            h = h * f("hue")
            h = h - ops.floor(h)
        if t["saturation"] is not None:
            s = ops.clip(s * f("saturation"), 0.0, 1.0)
        if t["brightness"] is not None:
            v = ops.clip(v * f("brightness"), 0.0, 1.0)
        y = ops.image.hsv_to_rgb(ops.stack([h, s, v], axis=-1), data_format="channels_last")
        return self._from_unit(ops.clip(y, 0.0, 1.0))

    def get_config(self):
        config = super().get_config()
        for name in ("hue", "saturation", "brightness"):
            v = getattr(self, name)
            config[name] = None if v is None else list(v)
        return config
