"""``RandomResizedCrop`` with torchvision's sampling (docs/augmentation.md), one crop per image."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_style.errors import ConfigError, ImageError
from keras_style.layers.augmentation.base import BaseAugmentation, check_range
from keras_style.registry import register

# Number of (area, aspect) draws before the centre-crop fallback: torchvision
# `RandomResizedCrop.get_params` (torchvision/transforms/transforms.py).
_ATTEMPTS = 10
_BOX_FORMATS = (
    "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
    "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh",
)


def _pair_size(size, who):
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise ConfigError(f"{who}: size must be a positive int or a pair (height, width); got {size!r}.")
    return (int(size[0]), int(size[1]))


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "random_resized_crop",
    "augmentation",
    test_config={"size": (8, 8)},
    notes=(
        "torchvision semantics: area fraction ~ U(scale), aspect w/h log-uniform in ratio, 10 "
        "attempts, then a centre crop clamped to the ratio range; a different crop per image. "
        "Keras 3.15 has no such layer (RandomCrop uses one location per batch)."
    ),
)
class RandomResizedCrop(BaseAugmentation):
    """Crop a random area/aspect region of each image and resize it to ``size`` (torchvision).

    For each image (independently within a batch) and up to 10 attempts: the crop area is
    ``U(scale) * H * W``, the aspect ratio ``w / h`` is log-uniform in ``ratio``,
    ``w = round(sqrt(area * aspect))``, ``h = round(sqrt(area / aspect))``; the first attempt
    that fits is placed uniformly at random.  If none fits, the whole image is centre-cropped
    to the nearest aspect ratio in ``ratio`` (torchvision's fallback).  The
    crop is then resized to ``size`` with bilinear (half-pixel centres, no antialias, like
    torchvision on tensors) or nearest interpolation.

    Args:
        size: output ``(height, width)`` (or an int for a square).
        scale: range of the crop area as a fraction of the image area; torchvision default
            ``(0.08, 1.0)`` (torchvision's default).
        ratio: range of the aspect ratio ``width / height``; torchvision default ``(3/4, 4/3)``.
        interpolation: ``"bilinear"`` or ``"nearest"`` (masks always use nearest).
        allow_upscale: when False (default) an image whose static size is smaller than
            ``size`` raises ``ImageError`` (every crop would be upsampled, usually a mistake
            such as size=224 on 32 px images); set True to allow it.
        bounding_box_format: format of ``data["bounding_boxes"]["boxes"]`` when a dict is
            passed (``"xyxy"``, ``"rel_xyxy"``, ``"xywh"``, ... as in Keras).  Boxes are
            moved with the crop, clipped to it, and those left with no area get label -1.
        value_range, seed, data_format: as for every keras_style augmentation layer.

    Inference (``training=False``) centre-crops to the aspect ratio of ``size`` and resizes
    (deterministic, like Keras' ``RandomCrop``), so the output shape never depends on
    ``training``.
    """

    _changes_shape = True

    def __init__(
        self,
        size,
        scale=(0.08, 1.0),
        ratio=(3.0 / 4.0, 4.0 / 3.0),
        interpolation="bilinear",
        allow_upscale=False,
        bounding_box_format=None,
        value_range=(0.0, 1.0),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        who = "RandomResizedCrop"
        self.size = _pair_size(size, who)
        self.scale = check_range(scale, "scale", who, low=0.0, high=1.0)
        if self.scale[1] <= 0:
            raise ConfigError(f"{who}: scale={scale!r} must allow a positive area.")
        self.ratio = check_range(ratio, "ratio", who, low=1e-6)
        if interpolation not in ("bilinear", "nearest"):
            raise ConfigError(f"{who}: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}.")
        self.interpolation = interpolation
        self.allow_upscale = bool(allow_upscale)
        if bounding_box_format is not None and bounding_box_format not in _BOX_FORMATS:
            raise ConfigError(
                f"{who}: bounding_box_format must be one of {', '.join(_BOX_FORMATS)}; got "
                f"{bounding_box_format!r}."
            )
        self.bounding_box_format = bounding_box_format

    # ----- sampling -----
    def get_random_transformation(self, data, training=True, seed=None):
        """Per image crop boxes: dict of float32 ``top``, ``left``, ``height``, ``width`` (N,)."""
        images = data["images"] if isinstance(data, dict) else data
        seed = self.generator if seed is None else seed
        shape = ops.shape(images)
        n = shape[0]
        h_img = ops.cast(shape[1], "float32")
        w_img = ops.cast(shape[2], "float32")
        area = h_img * w_img
        log_r = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        target_area = area * keras.random.uniform(
            (n, _ATTEMPTS), self.scale[0], self.scale[1], seed=seed
        )
        aspect = ops.exp(keras.random.uniform((n, _ATTEMPTS), log_r[0], log_r[1], seed=seed))
        # round half to even (Python's round, as torchvision uses) - ops.round does the same.
        w = ops.round(ops.sqrt(target_area * aspect))
        h = ops.round(ops.sqrt(target_area / aspect))
        ok = ops.logical_and(
            ops.logical_and(w > 0, w <= w_img), ops.logical_and(h > 0, h <= h_img)
        )
        # first successful attempt (argmax of a 0/1 row returns the first maximum)
        first = ops.argmax(ops.cast(ok, "int32"), axis=1)
        any_ok = ops.any(ok, axis=1)
        onehot = ops.one_hot(first, _ATTEMPTS, dtype="float32")
        w_try = ops.sum(w * onehot, axis=1)
        h_try = ops.sum(h * onehot, axis=1)

        # centre-crop fallback (torchvision): clamp the image's own ratio into `ratio`
        in_ratio = w_img / h_img
        r0, r1 = self.ratio
        w_fb = ops.where(
            in_ratio < r0, w_img, ops.where(in_ratio > r1, ops.round(h_img * r1), w_img)
        )
        h_fb = ops.where(
            in_ratio < r0, ops.round(w_img / r0), ops.where(in_ratio > r1, h_img, h_img)
        )
        w_fb = ops.broadcast_to(w_fb, (n,))
        h_fb = ops.broadcast_to(h_fb, (n,))

        u = keras.random.uniform((n, 2), 0.0, 1.0, seed=seed)
        # randint in [0, H - h] inclusive
        top_rand = ops.floor(u[:, 0] * (h_img - h_try + 1.0))
        left_rand = ops.floor(u[:, 1] * (w_img - w_try + 1.0))
        top_rand = ops.minimum(top_rand, h_img - h_try)
        left_rand = ops.minimum(left_rand, w_img - w_try)
        top_fb = ops.floor((h_img - h_fb) / 2.0)
        left_fb = ops.floor((w_img - w_fb) / 2.0)
        return {
            "top": ops.where(any_ok, top_rand, top_fb),
            "left": ops.where(any_ok, left_rand, left_fb),
            "height": ops.where(any_ok, h_try, h_fb),
            "width": ops.where(any_ok, w_try, w_fb),
            "image_height": h_img,
            "image_width": w_img,
        }

    def get_inference_transformation(self, data):
        """Centre crop with the output's aspect ratio (then resized to ``size``)."""
        images = data["images"] if isinstance(data, dict) else data
        shape = ops.shape(images)
        n = shape[0]
        h_img = ops.cast(shape[1], "float32")
        w_img = ops.cast(shape[2], "float32")
        target = self.size[1] / self.size[0]
        wider = w_img / h_img > target
        w = ops.where(wider, ops.round(h_img * target), w_img)
        h = ops.where(wider, h_img, ops.round(w_img / target))
        ones = ops.ones((n,), "float32")
        return {
            "top": ones * ops.floor((h_img - h) / 2.0),
            "left": ones * ops.floor((w_img - w) / 2.0),
            "height": ones * h,
            "width": ones * w,
            "image_height": h_img,
            "image_width": w_img,
        }

    # ----- applying -----
    def _check_size(self, images):
        h, w = images.shape[1], images.shape[2]
        if self.allow_upscale or h is None or w is None:
            return
        if h < self.size[0] or w < self.size[1]:
            raise ImageError(
                f"RandomResizedCrop: images of {h}x{w} are smaller than the output size "
                f"{self.size[0]}x{self.size[1]}, so every crop would be upsampled. Resize the "
                "images first, choose a smaller size, or pass allow_upscale=True."
            )

    def _sample(self, images, t, method):
        """Resample each image's crop box onto the output grid (gather-based)."""
        shape = ops.shape(images)
        n, h_img, w_img = shape[0], shape[1], shape[2]
        oh, ow = self.size
        hf = ops.cast(h_img, "float32")
        wf = ops.cast(w_img, "float32")
        i = ops.cast(ops.arange(oh), "float32")
        j = ops.cast(ops.arange(ow), "float32")
        # half-pixel centres: src = top + (i + 0.5) * h / oh - 0.5
        ys = t["top"][:, None] + (i[None, :] + 0.5) * (t["height"][:, None] / oh) - 0.5
        xs = t["left"][:, None] + (j[None, :] + 0.5) * (t["width"][:, None] / ow) - 0.5
        base = ops.cast(ops.arange(n), "int32") * ops.cast(h_img * w_img, "int32")
        flat = ops.reshape(images, (-1, ops.shape(images)[3]))
        w_int = ops.cast(w_img, "int32")

        def gather(yi, xi):
            idx = base[:, None, None] + yi[:, :, None] * w_int + xi[:, None, :]
            return ops.take(flat, idx, axis=0)

        if method == "nearest":
            yi = ops.cast(ops.clip(ops.floor(ys + 0.5), 0.0, hf - 1.0), "int32")
            xi = ops.cast(ops.clip(ops.floor(xs + 0.5), 0.0, wf - 1.0), "int32")
            return gather(yi, xi)
        ys = ops.clip(ys, 0.0, hf - 1.0)
        xs = ops.clip(xs, 0.0, wf - 1.0)
        y0 = ops.floor(ys)
        x0 = ops.floor(xs)
        wy = (ys - y0)[:, :, None, None]
        wx = (xs - x0)[:, None, :, None]
        y0i = ops.cast(y0, "int32")
        x0i = ops.cast(x0, "int32")
        y1i = ops.minimum(y0i + 1, ops.cast(h_img, "int32") - 1)
        x1i = ops.minimum(x0i + 1, w_int - 1)
        dtype = images.dtype
        wy = ops.cast(wy, dtype)
        wx = ops.cast(wx, dtype)
        top = gather(y0i, x0i) * (1 - wx) + gather(y0i, x1i) * wx
        bottom = gather(y1i, x0i) * (1 - wx) + gather(y1i, x1i) * wx
        return top * (1 - wy) + bottom * wy

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        self._check_size(images)
        return self._sample(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return self._sample(segmentation_masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        if self.bounding_box_format is None:
            raise ConfigError(
                "RandomResizedCrop received 'bounding_boxes' but no bounding_box_format; pass "
                "e.g. bounding_box_format='xyxy'."
            )
        # the image size is needed for relative formats; it is carried by the transformation
        h_img, w_img = transformation["image_height"], transformation["image_width"]
        oh, ow = self.size
        boxes = ops.cast(bounding_boxes["boxes"], "float32")
        boxes = keras.utils.bounding_boxes.convert_format(
            boxes, source=self.bounding_box_format, target="xyxy", height=h_img, width=w_img
        )
        t = transformation
        sx = (ow / t["width"])[:, None]
        sy = (oh / t["height"])[:, None]
        x1 = ops.clip((boxes[..., 0] - t["left"][:, None]) * sx, 0.0, float(ow))
        y1 = ops.clip((boxes[..., 1] - t["top"][:, None]) * sy, 0.0, float(oh))
        x2 = ops.clip((boxes[..., 2] - t["left"][:, None]) * sx, 0.0, float(ow))
        y2 = ops.clip((boxes[..., 3] - t["top"][:, None]) * sy, 0.0, float(oh))
        valid = ops.logical_and(x2 > x1, y2 > y1)
        new = ops.stack([x1, y1, x2, y2], axis=-1)
        new = ops.where(valid[..., None], new, -ops.ones_like(new))
        new = keras.utils.bounding_boxes.convert_format(
            new, source="xyxy", target=self.bounding_box_format, height=oh, width=ow
        )
        out = dict(bounding_boxes)
        out["boxes"] = ops.where(valid[..., None], new, -ops.ones_like(new))
        if "labels" in bounding_boxes:
            labels = bounding_boxes["labels"]
            out["labels"] = ops.where(valid, labels, -ops.ones_like(labels))
        return out

    def _image_output_shape(self, shape):
        if len(shape) == 4:
            if self.data_format == "channels_last":
                return (shape[0], self.size[0], self.size[1], shape[3])
            return (shape[0], shape[1], self.size[0], self.size[1])
        if self.data_format == "channels_last":
            return (self.size[0], self.size[1], shape[2])
        return (shape[0], self.size[0], self.size[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": list(self.size),
                "scale": list(self.scale),
                "ratio": list(self.ratio),
                "interpolation": self.interpolation,
                "allow_upscale": self.allow_upscale,
                "bounding_box_format": self.bounding_box_format,
            }
        )
        return config
