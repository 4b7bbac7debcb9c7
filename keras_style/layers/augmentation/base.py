"""Shared machinery of keras_style's augmentation layers (not public API).

The layers follow the contract of Keras 3's image preprocessing layers without importing
its private base class: ``call`` draws one transformation per batch with
``get_random_transformation(data, training, seed)`` and applies it with
``transform_images`` / ``transform_segmentation_masks`` / ``transform_bounding_boxes`` /
``transform_labels``.  Inputs are an image tensor (``(H, W, C)`` or ``(N, H, W, C)``, or
channels-first) or a dict with ``"images"`` and optionally ``"segmentation_masks"``,
``"bounding_boxes"`` (``{"boxes": (N, B, 4), "labels": (N, B)}``) and ``"labels"``.

Everything is written with ``keras.ops`` and ``keras.random`` (with a
``keras.random.SeedGenerator``), so the layers run eagerly and compiled on every backend,
and inside ``tf.data.Dataset.map`` when the backend is TensorFlow (where ``keras.ops`` *are*
TensorFlow ops).  ``training=False`` returns the input unchanged (cast to the layer dtype).
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keras_style.errors import ConfigError, ImageError
from keras_style.layers._common import resolve_data_format


def check_value_range(value_range, who):
    if (
        not isinstance(value_range, (list, tuple))
        or len(value_range) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)
        or not value_range[0] < value_range[1]
    ):
        raise ConfigError(
            f"{who}: value_range must be a pair (low, high) with low < high, e.g. (0, 1) or "
            f"(0, 255); got {value_range!r}."
        )
    return (float(value_range[0]), float(value_range[1]))


def check_range(value, what, who, *, low=None, high=None, allow_none=False, symmetric_around=None):
    """Validate a sampling range given as a pair (or a number ``v`` that means
    ``(max(low, c - v), c + v)`` around ``symmetric_around=c``); returns a float pair."""
    if value is None:
        if allow_none:
            return None
        raise ConfigError(f"{who}: {what} must not be None.")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if symmetric_around is None:
            pair = (float(value), float(value))
        else:
            if value < 0:
                raise ConfigError(f"{who}: {what}={value!r} must be >= 0 (it means the range "
                                  f"[{symmetric_around} - v, {symmetric_around} + v]).")
            lo = symmetric_around - float(value)
            pair = (lo if low is None else max(low, lo), symmetric_around + float(value))
    elif (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    ):
        pair = (float(value[0]), float(value[1]))
    else:
        raise ConfigError(f"{who}: {what} must be a number or a pair (min, max); got {value!r}.")
    if pair[0] > pair[1]:
        raise ConfigError(
            f"{who}: {what}={tuple(value)!r} is inverted; give it as (min, max), "
            f"e.g. {(pair[1], pair[0])!r}."
        )
    if low is not None and pair[0] < low or high is not None and pair[1] > high:
        raise ConfigError(
            f"{who}: {what}={value!r} is out of bounds; both ends must lie in "
            f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]."
        )
    return pair


def uniform(shape, pair, seed, dtype="float32"):
    lo, hi = pair
    if lo == hi:
        return ops.full(shape, lo, dtype=dtype)
    return keras.random.uniform(shape, minval=lo, maxval=hi, seed=seed, dtype=dtype)


class BaseAugmentation(keras.layers.Layer):
    """Base class: input handling, seeding, ``training``, ``value_range``, ``data_format``."""

    def __init__(self, value_range=(0.0, 1.0), seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.value_range = check_value_range(value_range, who)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"{who}: seed must be an int or None, got {seed!r}.")
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.data_format = resolve_data_format(data_format)
        self.supports_jit = False  # data-dependent shapes in some subclasses

    # Layers whose output size differs from the input's (crops) also transform at
    # inference, deterministically, so that a model's output shape does not depend on
    # `training`; they set this to True and implement `get_inference_transformation`.
    _changes_shape = False

    def get_inference_transformation(self, data):
        return None

    # ----- the Keras contract (subclasses override these) -----
    def get_random_transformation(self, data, training=True, seed=None):
        return None

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    # ----- helpers -----
    def _to_unit(self, images):
        lo, hi = self.value_range
        if (lo, hi) == (0.0, 1.0):
            return images
        return (images - lo) / (hi - lo)

    def _from_unit(self, images):
        lo, hi = self.value_range
        if (lo, hi) == (0.0, 1.0):
            return images
        return images * (hi - lo) + lo

    def _check_images(self, images):
        who = type(self).__name__
        dtype = keras.backend.standardize_dtype(images.dtype)
        if "float" not in dtype:
            raise ImageError(
                f"{who} expects floating-point images in value_range={self.value_range}, got "
                f"dtype {dtype}; convert first, e.g. keras.ops.cast(x, 'float32') / 255 with "
                "value_range=(0, 1), or cast to float and pass value_range=(0, 255)."
            )
        rank = len(images.shape)
        if rank not in (3, 4):
            raise ImageError(
                f"{who} expects an image (H, W, C) or a batch (N, H, W, C) (channels-first "
                f"with data_format='channels_first'); got rank {rank} with shape {images.shape}."
            )
        return rank == 4

    def _nhwc(self, x):
        return x if self.data_format == "channels_last" else ops.transpose(x, (0, 2, 3, 1))

    def _back(self, x):
        return x if self.data_format == "channels_last" else ops.transpose(x, (0, 3, 1, 2))

    def call(self, data, training=True):
        is_dict = isinstance(data, dict)
        if is_dict:
            if "images" not in data:
                raise ImageError(
                    f"{type(self).__name__}: a dict input needs an 'images' key (got keys "
                    f"{sorted(data)})."
                )
            data = dict(data)
            images = ops.convert_to_tensor(data["images"])
        else:
            images = ops.convert_to_tensor(data)
        batched = self._check_images(images)
        images = ops.cast(images, self.compute_dtype)
        if not training and not self._changes_shape:
            if is_dict:
                data["images"] = images
                return data
            return images

        def expand(x):
            return x if batched else ops.expand_dims(x, 0)

        def squeeze(x):
            return x if batched else ops.squeeze(x, 0)

        work = {"images": self._nhwc(expand(images))}
        if is_dict:
            if "segmentation_masks" in data:
                work["segmentation_masks"] = self._nhwc(
                    expand(ops.convert_to_tensor(data["segmentation_masks"]))
                )
            if "bounding_boxes" in data:
                bb = data["bounding_boxes"]
                if not isinstance(bb, dict) or "boxes" not in bb:
                    raise ImageError(
                        f"{type(self).__name__}: 'bounding_boxes' must be a dict with 'boxes' "
                        "(N, B, 4) and optionally 'labels' (N, B)."
                    )
                work["bounding_boxes"] = {k: expand(ops.convert_to_tensor(v)) for k, v in bb.items()}
            if "labels" in data:
                work["labels"] = expand(ops.convert_to_tensor(data["labels"]))

        if training:
            transformation = self.get_random_transformation(work, training=True)
        else:
            transformation = self.get_inference_transformation(work)
        out = self.transform_images(work["images"], transformation, training=True)
        out = squeeze(self._back(out))
        if not is_dict:
            return out
        data["images"] = out
        if "segmentation_masks" in work:
            m = self.transform_segmentation_masks(work["segmentation_masks"], transformation)
            data["segmentation_masks"] = squeeze(self._back(m))
        if "bounding_boxes" in work:
            b = self.transform_bounding_boxes(work["bounding_boxes"], transformation)
            data["bounding_boxes"] = {k: squeeze(v) for k, v in b.items()}
        if "labels" in work:
            data["labels"] = squeeze(self.transform_labels(work["labels"], transformation))
        return data

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            out = dict(input_shape)
            out["images"] = self._image_output_shape(tuple(input_shape["images"]))
            if "segmentation_masks" in input_shape:
                out["segmentation_masks"] = self._image_output_shape(
                    tuple(input_shape["segmentation_masks"])
                )
            return out
        return self._image_output_shape(tuple(input_shape))

    def _image_output_shape(self, shape):
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"value_range": list(self.value_range), "seed": self.seed, "data_format": self.data_format}
        )
        return config
