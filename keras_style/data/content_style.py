"""Content/style pairs for arbitrary-style training (AdaIN, Huang & Belongie 2017).

```python
import keras_style as ks
ds = ks.data.content_style_pairs("coco/", "wikiart/", image_size=256, batch_size=8)
model = ks.get("adain", encoder_weights=...)
model.compile()
model.fit(ds, epochs=1)
```
"""

from __future__ import annotations

from keras_style.data.folders import (
    _files_dataset,
    _with_crop_seeds,
    crop_image,
    decode_image,
    readable_image_files,
    resize_shorter_side,
)
from keras_style.errors import ConfigError


def _stream(files, image_size, load_size, resize, shuffle, seed, repeat):
    import tensorflow as tf

    ds = _files_dataset(files, shuffle, seed, bool(repeat))

    def load(path):
        img = decode_image(path)
        if resize == "square":
            img = tf.clip_by_value(
                tf.image.resize(img, (load_size, load_size), antialias=True), 0.0, 1.0
            )
        else:
            img = resize_shorter_side(img, load_size)
        return img

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    if seed is not None:
        ds = _with_crop_seeds(ds, seed)
        ds = ds.map(
            lambda im, s: crop_image(im, image_size, "random", s),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(
            lambda im: crop_image(im, image_size, "random"), num_parallel_calls=tf.data.AUTOTUNE
        )
    return ds


def content_style_pairs(
    content_dir,
    style_dir,
    image_size=256,
    batch_size=8,
    load_size=512,
    resize="shorter",
    shuffle=True,
    seed=None,
    repeat=False,
    recursive=True,
    validate="header",
    prefetch=True,
):
    """Batches ``{"content": (B, S, S, 3), "style": (B, S, S, 3)}`` float32 in [0, 1].

    The two folders are shuffled **independently** (every content image meets random
    styles), as both official codes sample them.

    Args:
        content_dir, style_dir: image folders (MS-COCO and WikiArt in the paper).
        image_size: random crop size; 256 in both codes.
        batch_size: 8 content-style pairs (paper; both codes).
        load_size: size before cropping, 512 (both codes).
        resize: ``"shorter"`` (default): the shorter side becomes ``load_size``, aspect kept,
            as the Lua original does (``image.scale(img, "^512")``) and the paper says;
            ``"square"``: resize to ``load_size`` x ``load_size`` (aspect distorted), as the
            PyTorch port does (``Resize((512, 512))``).
        shuffle: reshuffle both folders every pass.
        seed: int for a reproducible order and crops (the style stream uses ``seed + 1``).
        repeat: ``False`` (default): one epoch = one pass over the content images, styles are
            drawn from an endless, independently reshuffled stream; ``True``: endless (use
            ``steps_per_epoch``), as the official codes' infinite samplers.
        validate: unreadable files are skipped with one warning that counts them.

    Raises:
        DataError: a folder is missing, empty or has no readable image.
        ConfigError: bad sizes.
    """
    import tensorflow as tf

    for name, v in (
        ("image_size", image_size),
        ("batch_size", batch_size),
        ("load_size", load_size),
    ):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{name} must be a positive int, got {v!r}.")
    if load_size < image_size:
        raise ConfigError(
            f"load_size ({load_size}) must be >= image_size ({image_size}): images are resized "
            "to load_size, then cropped to image_size."
        )
    if resize not in ("shorter", "square"):
        raise ConfigError(
            f"resize must be 'shorter' (Lua) or 'square' (PyTorch port), got {resize!r}."
        )
    content_files = readable_image_files(content_dir, recursive=recursive, validate=validate)
    style_files = readable_image_files(style_dir, recursive=recursive, validate=validate)
    c = _stream(content_files, image_size, load_size, resize, shuffle, seed, repeat)
    s = _stream(
        style_files,
        image_size,
        load_size,
        resize,
        shuffle,
        None if seed is None else seed + 1,
        True,
    )
    drop = bool(repeat) or len(content_files) >= batch_size
    c = c.batch(batch_size, drop_remainder=drop)
    s = s.batch(batch_size, drop_remainder=True)
    ds = tf.data.Dataset.zip((c, s))

    def pair(ci, si):
        n = tf.shape(ci)[0]
        return {"content": ci, "style": si[:n]}

    ds = ds.map(pair)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


__all__ = ["content_style_pairs"]
