"""``CoarseDropout`` with imgaug's semantics (docs/augmentation.md, "CoarseDropout")."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keras_style.errors import ConfigError
from keras_style.layers.augmentation.base import BaseAugmentation, check_range, uniform
from keras_style.registry import register


def _check_size_px(size_px, who):
    def ok(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if ok(size_px):
        return (int(size_px), int(size_px))
    if isinstance(size_px, (list, tuple)) and len(size_px) == 2 and all(ok(v) for v in size_px):
        if size_px[0] > size_px[1]:
            raise ConfigError(f"{who}: size_px={tuple(size_px)!r} is inverted; give (min, max).")
        return (int(size_px[0]), int(size_px[1]))
    raise ConfigError(f"{who}: size_px must be a positive int or a pair of them; got {size_px!r}.")


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "coarse_dropout",
    "augmentation",
    test_config={"p": 0.1, "size_percent": 0.5},
    notes=(
        "imgaug CoarseDropout: a Bernoulli keep-mask drawn at low resolution and upsampled "
        "with nearest neighbour (rectangular blocks). Keras' RandomErasing erases one "
        "rectangle per image with noise and only ~50% of images by default (docs/augmentation.md)."
    ),
)
class CoarseDropout(BaseAugmentation):
    """Set rectangular blocks of pixels to black (imgaug ``CoarseDropout``).

    Per image: a keep-mask with ``P(drop) = p`` is drawn at a low resolution
    ``h_small x w_small`` and upsampled to the image size with nearest-neighbour
    interpolation, then multiplies the image (dropped pixels become ``value_range[0]``,
    i.e. black, as imgaug's multiplication by 0).  The low resolution is
    ``int(size_percent * H) x int(size_percent * W)`` or ``size_px``, at least ``min_size``
    (imgaug ``FromLowerResolution``).

    Args:
        p: drop probability, a number or a range ``(a, b)`` from which one value per image
            is drawn uniformly (imgaug default ``(0.02, 0.1)``).  Must lie in [0, 1].
        size_percent: fraction of the image size for the mask resolution: a number in
            ``(0, 1]`` or a range whose height and width fractions are drawn independently
            per image.  Smaller = larger blocks.
        size_px: the same in absolute pixels (int or ``(min, max)``, integers drawn
            independently for height and width).  Give at most one of ``size_percent`` and
            ``size_px``; with neither, ``size_px=(3, 8)`` (imgaug's default).
        per_channel: ``False`` (one mask for all channels), ``True`` (a mask per channel) or
            a probability ``q`` of using per-channel masks for an image.
        min_size: smallest mask side (imgaug default 3).
        value_range, seed, data_format: as for every keras_style augmentation layer.
    """

    def __init__(
        self,
        p=(0.02, 0.1),
        size_percent=None,
        size_px=None,
        per_channel=False,
        min_size=3,
        value_range=(0.0, 1.0),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        who = "CoarseDropout"
        self.p = check_range(p, "p", who, low=0.0, high=1.0)
        if size_percent is not None and size_px is not None:
            raise ConfigError(f"{who}: give size_percent or size_px, not both.")
        if size_percent is None and size_px is None:
            size_px = (3, 8)  # imgaug's default when neither is given
        self.size_percent = None
        self.size_px = None
        if size_percent is not None:
            self.size_percent = check_range(size_percent, "size_percent", who, low=0.0, high=1.0)
            if self.size_percent[0] <= 0:
                raise ConfigError(f"{who}: size_percent={size_percent!r} must be > 0.")
        else:
            self.size_px = _check_size_px(size_px, who)
        if isinstance(per_channel, bool):
            self.per_channel = per_channel
        elif isinstance(per_channel, numbers.Real) and 0 <= per_channel <= 1:
            self.per_channel = float(per_channel)
        else:
            raise ConfigError(
                f"{who}: per_channel must be True, False or a probability in [0, 1]; got {per_channel!r}."
            )
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
            raise ConfigError(f"{who}: min_size must be a positive int, got {min_size!r}.")
        self.min_size = min_size

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        seed = self.generator if seed is None else seed
        shape = ops.shape(images)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        hf, wf = ops.cast(h, "float32"), ops.cast(w, "float32")
        if self.size_percent is not None:
            frac = uniform((n, 2), self.size_percent, seed)
            hs = ops.floor(frac[:, 0] * hf)
            ws = ops.floor(frac[:, 1] * wf)
            cap_h, cap_w = h, w
        else:
            lo, hi = self.size_px
            if lo == hi:
                hs = ops.full((n,), float(lo))
                ws = ops.full((n,), float(lo))
            else:
                u = keras.random.uniform((n, 2), 0.0, 1.0, seed=seed)
                hs = ops.minimum(ops.floor(lo + u[:, 0] * (hi - lo + 1)), float(hi))
                ws = ops.minimum(ops.floor(lo + u[:, 1] * (hi - lo + 1)), float(hi))
            cap_h = cap_w = hi
        hs = ops.maximum(hs, float(self.min_size))
        ws = ops.maximum(ws, float(self.min_size))
        grid_h = ops.maximum(cap_h, self.min_size)
        grid_w = ops.maximum(cap_w, self.min_size)
        p = uniform((n,), self.p, seed)
        channels = 1 if self.per_channel is False else c
        noise = keras.random.uniform((n, grid_h, grid_w, channels), 0.0, 1.0, seed=seed)
        if isinstance(self.per_channel, float):
            per_image = keras.random.uniform((n,), 0.0, 1.0, seed=seed) < self.per_channel
        else:
            per_image = None
        return {"h_small": hs, "w_small": ws, "p": p, "noise": noise, "per_channel": per_image}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        t = transformation
        shape = ops.shape(images)
        n, h, w = shape[0], shape[1], shape[2]
        noise = t["noise"]
        nshape = ops.shape(noise)
        gh, gw = nshape[1], nshape[2]
        yf = ops.cast(ops.arange(h), "float32")
        xf = ops.cast(ops.arange(w), "float32")
        hf, wf = ops.cast(h, "float32"), ops.cast(w, "float32")
        # nearest upsampling as OpenCV's INTER_NEAREST: src = floor(dst * small / big)
        cy = ops.minimum(ops.floor(yf[None, :] * t["h_small"][:, None] / hf), t["h_small"][:, None] - 1)
        cx = ops.minimum(ops.floor(xf[None, :] * t["w_small"][:, None] / wf), t["w_small"][:, None] - 1)
        cy = ops.cast(cy, "int32")
        cx = ops.cast(cx, "int32")
        gw_i = ops.cast(gw, "int32")
        base = ops.cast(ops.arange(n), "int32") * ops.cast(gh * gw, "int32")
        idx = base[:, None, None] + cy[:, :, None] * gw_i + cx[:, None, :]
        flat = ops.reshape(noise, (-1, nshape[3]))
        u = ops.take(flat, idx, axis=0)  # (n, h, w, channels)
        keep = u >= t["p"][:, None, None, None]
        if t["per_channel"] is not None:
            keep = ops.where(t["per_channel"][:, None, None, None], keep, keep[..., :1])
        keep = ops.cast(keep, images.dtype)
        low = self.value_range[0]
        if low == 0.0:
            return images * keep
        return (images - low) * keep + low

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "p": list(self.p),
                "size_percent": None if self.size_percent is None else list(self.size_percent),
                "size_px": None if self.size_px is None else list(self.size_px),
                "per_channel": self.per_channel,
                "min_size": self.min_size,
            }
        )
        return config
