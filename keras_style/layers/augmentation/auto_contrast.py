"""``AutoContrast`` with PIL's ``cutoff`` semantics (docs/augmentation.md)."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers.augmentation.base import BaseAugmentation
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "auto_contrast",
    "augmentation",
    aliases=("autocontrast",),
    test_config={"cutoff": 2},
    notes=(
        "PIL.ImageOps.autocontrast(cutoff=...) semantics (histogram trimming per channel on "
        "8-bit levels, truncating lookup table). Keras' own AutoContrast (no cutoff, active at "
        "inference too) is registered as 'keras_auto_contrast' (docs/augmentation.md)."
    ),
)
class AutoContrast(BaseAugmentation):
    """Stretch each channel's histogram to the full range, ignoring ``cutoff`` % at each end.

    Reproduces ``PIL.ImageOps.autocontrast(image, cutoff)`` per image and per channel
    (PIL ``ImageOps.autocontrast``): values are quantised to 256 levels; with ``n`` pixels,
    ``int(n * low // 100)`` darkest and ``int(n * high // 100)`` brightest pixels are
    discarded; with ``lo``/``hi`` the remaining extremes the lookup table is
    ``clamp(int(i * 255 / (hi - lo) - lo * 255 / (hi - lo)), 0, 255)`` (identity when
    ``hi <= lo``).  The output is on the 256 levels, in ``value_range``; it matches PIL to
    1/255 of the range (float32 instead of float64 in the table).

    Deterministic, but applied only when ``training`` is true like the other augmentation
    layers (Keras' ``AutoContrast`` also runs at inference).

    Args:
        cutoff: percent to cut from each end, a number or a pair ``(low, high)``, each in
            ``[0, 50)`` (PIL's meaning of a pair, not imgaug's random range).
        value_range, seed, data_format: as for every keras_style augmentation layer.
    """

    def __init__(self, cutoff=0.0, value_range=(0.0, 1.0), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        if isinstance(cutoff, numbers.Real) and not isinstance(cutoff, bool):
            pair = (float(cutoff), float(cutoff))
        elif (
            isinstance(cutoff, (list, tuple))
            and len(cutoff) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in cutoff)
        ):
            pair = (float(cutoff[0]), float(cutoff[1]))
        else:
            raise ConfigError(f"AutoContrast: cutoff must be a number or (low, high); got {cutoff!r}.")
        if not all(0 <= v < 50 for v in pair):
            raise ConfigError(
                f"AutoContrast: cutoff={cutoff!r} must lie in [0, 50) percent at each end."
            )
        self.cutoff = pair

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        x = ops.clip(self._to_unit(images), 0.0, 1.0)
        q = ops.round(ops.cast(x, "float32") * 255.0)  # the 8-bit levels PIL works on
        shape = ops.shape(q)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        flat = ops.reshape(ops.transpose(q, (0, 3, 1, 2)), (n, c, -1))  # (N, C, HW)
        if self.cutoff == (0.0, 0.0):
            lo = ops.min(flat, axis=-1)
            hi = ops.max(flat, axis=-1)
        else:
            count = h * w
            srt = ops.sort(flat, axis=-1)
            # PIL: cut = int(n * cutoff // 100); lo = level of the (cut+1)-th darkest pixel
            count_f = ops.cast(count, "float32")
            cut_lo = ops.cast(ops.floor(count_f * self.cutoff[0] / 100.0), "int32")
            cut_hi = ops.cast(ops.floor(count_f * self.cutoff[1] / 100.0), "int32")
            lo = ops.take(srt, cut_lo, axis=-1)
            hi = ops.take(srt, ops.cast(count, "int32") - 1 - cut_hi, axis=-1)
        lo = lo[:, None, None, :]
        hi = hi[:, None, None, :]
        valid = hi > lo
        scale = 255.0 / ops.where(valid, hi - lo, ops.ones_like(hi))
        mapped = q * scale - lo * scale
        # int() truncates toward zero; negatives are clamped to 0 anyway
        mapped = ops.clip(ops.floor(ops.maximum(mapped, 0.0)), 0.0, 255.0)
        out = ops.where(valid, mapped, q) / 255.0
        return self._from_unit(ops.cast(out, images.dtype))

    def get_config(self):
        config = super().get_config()
        config["cutoff"] = list(self.cutoff)
        return config
