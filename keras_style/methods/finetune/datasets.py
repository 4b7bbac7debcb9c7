"""Image-folder datasets for fine-tuning: one sub-folder per class (docs/methods/finetune.md).

Training images are resized to ``image_size * 256 / 224`` and get the ``seed_augment`` pipeline
(flip + random resized crop + HSV scale), the resize-256 / crop-224 recipe of d2l's fine-tuning
chapter; validation images are resized to ``image_size``.
"""

from __future__ import annotations

from pathlib import Path

from keras_style.errors import DataError


def image_datasets(data, val, image_size, batch_size, seed, augment=True):
    """(train_ds, val_ds or None, class_names): tf.data pipelines of images in [0, 1]."""
    import keras
    import tensorflow as tf

    from keras_style.registry import get

    data = Path(data)
    if not data.is_dir():
        raise DataError(f"{data} is not a folder with one sub-folder per class.")
    classes = sorted(d.name for d in data.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise DataError(f"{data} needs at least two class sub-folders, found {classes}.")
    load = round(image_size * 256 / 224) if augment else image_size  # resize 256 -> crop 224 (d2l)
    train = keras.utils.image_dataset_from_directory(
        data, labels="inferred", label_mode="int", class_names=classes, image_size=(load, load),
        batch_size=batch_size, shuffle=True, seed=seed, crop_to_aspect_ratio=True, verbose=False,
    )
    train = train.map(lambda x, y: (x / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        aug = get("seed_augment", size=image_size, seed=seed)
        train = train.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    val_ds = None
    if val:
        val_ds = keras.utils.image_dataset_from_directory(
            val, labels="inferred", label_mode="int", class_names=classes,
            image_size=(image_size, image_size), batch_size=batch_size, shuffle=False,
            crop_to_aspect_ratio=True, verbose=False,
        ).map(lambda x, y: (x / 255.0, y))
    return train.prefetch(tf.data.AUTOTUNE), val_ds, classes


__all__ = ["image_datasets"]
