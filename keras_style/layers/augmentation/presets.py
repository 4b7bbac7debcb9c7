"""Augmentation pipelines built from registry entries (``seed_augment``)."""

from __future__ import annotations

import keras

from keras_style.layers.augmentation.random_hsv_scale import RandomHSVScale
from keras_style.layers.augmentation.random_resized_crop import RandomResizedCrop
from keras_style.registry import register


@register(
    "seed_augment",
    "augmentation",
    test_config={"size": 8},
    notes=(
        "The lecture's training augmentation: horizontal flip, RandomResizedCrop (area "
        "[0.08, 1], aspect [3/4, 4/3]) and hue/saturation/brightness scaled by [0.5, 1.5] "
        "(docs/augmentation.md). Returns a keras.layers.Pipeline, usable in tf.data.map."
    ),
)
def seed_augment(
    size=224,
    scale=(0.08, 1.0),
    ratio=(3.0 / 4.0, 4.0 / 3.0),
    hue=(0.5, 1.5),
    saturation=(0.5, 1.5),
    brightness=(0.5, 1.5),
    flip="horizontal",
    allow_upscale=True,
    value_range=(0.0, 1.0),
    seed=None,
):
    """The seed's flip + random resized crop + HSV scale pipeline, as one Keras layer.

    Args:
        size: output size (int or ``(height, width)``); torchvision/d2l use 224.
        scale, ratio: `RandomResizedCrop` ranges (torchvision defaults).
        hue, saturation, brightness: `RandomHSVScale` factor ranges (d2l's [0.5, 1.5], docs/augmentation.md).
        flip: ``keras.layers.RandomFlip`` mode, or ``None`` for no flip.
        allow_upscale: allow inputs smaller than ``size`` (True here: photo collections mix
            sizes).
        value_range, seed: passed to every layer (seeds are offset per layer).

    Returns:
        ``keras.layers.Pipeline``: call it on images (``training=True`` by default) or map it
        over a ``tf.data.Dataset`` (TensorFlow backend).
    """
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip(mode=flip, seed=seed, name="flip"))
    layers.append(
        RandomResizedCrop(
            size,
            scale=scale,
            ratio=ratio,
            allow_upscale=allow_upscale,
            value_range=value_range,
            seed=None if seed is None else seed + 1,
            name="random_resized_crop",
        )
    )
    layers.append(
        RandomHSVScale(
            hue=hue,
            saturation=saturation,
            brightness=brightness,
            value_range=value_range,
            seed=None if seed is None else seed + 2,
            name="random_hsv_scale",
        )
    )
    return keras.layers.Pipeline(layers, name="seed_augment")
