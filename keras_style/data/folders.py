"""tf.data pipelines over image folders (Johnson et al. 2016 style / SR training data).

- `list_image_files(directory)`: the image files of a folder (recursive, jpg/png/webp...).
- `scan_image_files(files)`: split files into readable and unreadable ones (cheap header
  check with PIL); `warn_skipped` prints the ONE warning that counts the skipped files.
- `decode_image(path)`: TF graph decode of one file -> float32 HxWx3 in [0, 1].
- `resize_shorter_side`, `crop_image`: the shorter-side resize + random/centre crop.
- `image_folder(...)`: batches of float32 NHWC images in [0, 1] for ``model.fit``.
- `super_resolution_pairs(...)`: ``(low_res, high_res)`` batches: random HR patches,
  Gaussian blur sigma 1.0 then bicubic downsampling by ``scale`` (Johnson et al. 2016 §4.2;
  docs/methods/johnson.md).

The helpers are public so other pipelines (``data/content_style.py``,
``data/photo_art.py``) reuse the same decode / skip / crop behaviour.

```python
import keras_style as ks
train = ks.data.image_folder("coco/train2014", image_size=256, batch_size=4, seed=0)
pairs = ks.data.super_resolution_pairs("photos/", patch_size=288, scale=4)
```
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

from keras_style.errors import ConfigError, DataError
from keras_style.images import IMAGE_EXTENSIONS  # the one extension list (docs: images.py)

# PIL format names we accept (TF's decode_image decodes exactly these).
_DECODABLE = {"JPEG", "PNG", "WEBP", "BMP", "GIF", "MPO"}


def list_image_files(directory, recursive=True, extensions=IMAGE_EXTENSIONS) -> list[str]:
    """Sorted paths of the image files in ``directory`` (by extension, case-insensitive).

    Raises `DataError` if the folder does not exist or holds no image files.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise DataError(f"Image folder {root} does not exist (or is not a folder).")
    exts = tuple(e.lower() for e in extensions)
    it = root.rglob("*") if recursive else root.iterdir()
    files = sorted(str(p) for p in it if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise DataError(
            f"No image files ({', '.join(exts)}) in {root}"
            + (" or its sub-folders." if recursive else "; pass recursive=True to search sub-folders.")
        )
    return files


def _is_readable(path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format not in _DECODABLE:
                return False
            w, h = im.size
            return w > 0 and h > 0
    except Exception:
        return False


def scan_image_files(files, validate="header"):
    """``(good, bad)`` lists: ``validate="header"`` opens each file's header with PIL
    (fast, catches non-images and most corrupt files); ``"full"`` decodes every file;
    ``None`` trusts the extensions."""
    if validate is None:
        return list(files), []
    if validate not in ("header", "full"):
        raise ConfigError(f"validate must be 'header', 'full' or None, got {validate!r}.")
    good, bad = [], []
    for f in files:
        ok = _is_readable(f)
        if ok and validate == "full":
            from PIL import Image

            try:
                with Image.open(f) as im:
                    im.load()
            except Exception:
                ok = False
        (good if ok else bad).append(f)
    return good, bad


def warn_skipped(bad, total, where="") -> None:
    """The one warning that counts the unreadable files that are skipped."""
    if not bad:
        return
    shown = ", ".join(os.path.basename(b) for b in bad[:3]) + (", ..." if len(bad) > 3 else "")
    tiff = any(Path(b).suffix.lower().startswith(".tif") for b in bad)  # .tif / .tiff
    warnings.warn(
        f"keras_style.data: skipped {len(bad)} of {total} files{(' in ' + str(where)) if where else ''} "
        f"that are not readable images ({shown})."
        + (" TIFF files are listed but tf.data cannot decode them; convert them to PNG." if tiff else ""),
        UserWarning,
        stacklevel=3,
    )


def readable_image_files(directory, recursive=True, validate="header") -> list[str]:
    """`list_image_files` + `scan_image_files` + `warn_skipped`; `DataError` if none is readable."""
    files = list_image_files(directory, recursive=recursive)
    good, bad = scan_image_files(files, validate=validate)
    if not good:
        raise DataError(
            f"None of the {len(files)} image files in {directory} could be read "
            f"({', '.join(os.path.basename(b) for b in bad[:3])}...); check the files."
        )
    warn_skipped(bad, len(files), directory)
    return good


def decode_image(path):
    """TF: read + decode one image file -> float32 (H, W, 3) in [0, 1] (grey/alpha -> RGB)."""
    import tensorflow as tf

    raw = tf.io.read_file(path)
    img = tf.io.decode_image(raw, channels=3, expand_animations=False, dtype=tf.uint8)
    img.set_shape([None, None, 3])
    return tf.cast(img, tf.float32) / 255.0


def resize_shorter_side(image, size, only_upscale=False, method="bilinear"):
    """TF: resize so the shorter side is ``size`` (keeps the aspect ratio, antialiased).

    With ``only_upscale=True`` images already at least ``size`` are left alone.
    """
    import tensorflow as tf

    shape = tf.shape(image)
    h = tf.cast(shape[0], tf.float32)
    w = tf.cast(shape[1], tf.float32)
    short = tf.minimum(h, w)
    ratio = tf.cast(size, tf.float32) / short
    if only_upscale:
        ratio = tf.maximum(ratio, 1.0)
    nh = tf.maximum(tf.cast(tf.round(h * ratio), tf.int32), size)
    nw = tf.maximum(tf.cast(tf.round(w * ratio), tf.int32), size)
    if only_upscale:
        nh = tf.where(ratio > 1.0, nh, shape[0])
        nw = tf.where(ratio > 1.0, nw, shape[1])
    out = tf.image.resize(image, tf.stack([nh, nw]), method=method, antialias=True)
    return tf.clip_by_value(out, 0.0, 1.0)


def crop_image(image, size, crop="random", seed=None):
    """TF: a ``size`` x ``size`` crop, ``"random"`` (stateless, ``seed`` = int pair tensor)
    or ``"center"``. The image must be at least ``size`` on both sides."""
    import tensorflow as tf

    if crop == "center":
        shape = tf.shape(image)
        top = (shape[0] - size) // 2
        left = (shape[1] - size) // 2
        return image[top : top + size, left : left + size, :]
    if seed is None:
        return tf.image.random_crop(image, [size, size, 3])
    return tf.image.stateless_random_crop(image, [size, size, 3], seed=seed)


def _check_common(image_size, batch_size, crop):
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"image_size must be a positive int, got {image_size!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}.")
    if crop not in ("random", "center"):
        raise ConfigError(f"crop must be 'random' or 'center', got {crop!r}.")


def _files_dataset(files, shuffle, seed, repeat):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat(None if repeat is True else int(repeat))
    return ds


def _decoded_dataset(files, decode, cache, shuffle, seed, repeat):
    """Files -> decoded images, skipping unreadable ones.

    With ``cache`` the decoded (resized, variable-size) images are cached first and
    shuffled/repeated after, so the cache holds each image once.
    """
    import tensorflow as tf

    if not cache:
        ds = _files_dataset(files, shuffle, seed, repeat)
        return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    ds = tf.data.Dataset.from_tensor_slices(files)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat(None if repeat is True else int(repeat))
    return ds


def _with_crop_seeds(ds, seed):
    """Zip each element with a stateless-op seed pair drawn from ``Dataset.random(seed)``."""
    import tensorflow as tf

    rnd = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)
    return tf.data.Dataset.zip((ds, rnd))


def image_folder(
    directory,
    image_size=256,
    batch_size=4,
    shuffle=True,
    seed=None,
    crop="random",
    repeat=False,
    cache=False,
    recursive=True,
    validate="header",
    drop_remainder=None,
    prefetch=True,
    resize=None,
    exclude=None,
):
    """Batches of float32 images ``(batch, image_size, image_size, 3)`` in [0, 1].

    Each image's shorter side is resized to ``image_size`` (pytorch/examples: ``Resize(256)``
    then ``CenterCrop(256)``, ``neural_style.py``; the Lua code squashes to 256x256 instead,
    ``scripts/make_style_dataset.py``), then a random (default, for training) or centre crop is taken.

    Args:
        directory: folder searched recursively (``recursive``) for jpg/png/webp/bmp/gif.
        image_size: crop size; the paper trains at 256.
        batch_size: the paper uses 4.
        shuffle: reshuffle the file order every epoch (seeded by ``seed``).
        seed: int for reproducible order and crops.
        crop: ``"random"`` or ``"center"``.
        repeat: ``True`` repeats forever (use ``steps_per_epoch`` in ``fit``), an int
            repeats that many times.
        cache: ``True`` caches the decoded, resized images in memory, a path caches to
            disk (crops stay random).
        validate: ``"header"`` (default), ``"full"`` or ``None``: unreadable files are
            skipped with one warning that counts them; a file that still fails to decode
            later is dropped by ``ignore_errors`` so a long run never crashes.
        drop_remainder: default: drop the last partial batch (static shapes) unless the
            dataset has fewer images than one batch.
        resize: shorter side before cropping (default ``image_size``); a larger value
            gives crops of a smaller part of each image (more crops per photo).
        exclude: file names (or paths; compared by file name) to leave out, e.g. the
            photos held out for evaluation.

    Raises:
        DataError: the folder is missing, empty or holds no readable image.
    """
    import tensorflow as tf

    _check_common(image_size, batch_size, crop)
    resize = image_size if resize is None else int(resize)
    if resize < image_size:
        raise ConfigError(f"resize ({resize}) must be >= image_size ({image_size}).")
    files = readable_image_files(directory, recursive=recursive, validate=validate)
    if exclude:
        from pathlib import Path

        if isinstance(exclude, (str, bytes)):
            exclude = [exclude]
        drop = {Path(str(e)).name for e in exclude}
        files = [f for f in files if Path(f).name not in drop]
        if not files:
            raise DataError(f"Every image in {directory} is excluded ({sorted(drop)}).")
    if drop_remainder is None:
        drop_remainder = bool(repeat) or len(files) >= batch_size
    decode = lambda p: resize_shorter_side(decode_image(p), resize)  # noqa: E731
    ds = _decoded_dataset(files, decode, cache, shuffle, seed, repeat)
    if crop == "random" and seed is not None:
        ds = _with_crop_seeds(ds, seed)
        ds = ds.map(lambda im, s: crop_image(im, image_size, "random", s),
                    num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda im: crop_image(im, image_size, crop), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def gaussian_kernel_1d(sigma, radius=None):
    """Normalised 1-D Gaussian taps, radius ``ceil(3 sigma)`` by default (NumPy)."""
    import numpy as np

    radius = int(math.ceil(3 * sigma)) if radius is None else int(radius)
    x = np.arange(-radius, radius + 1, dtype="float64")
    k = np.exp(-(x**2) / (2 * sigma**2))
    return (k / k.sum()).astype("float32")


def gaussian_blur(images, sigma=1.0):
    """TF: separable Gaussian blur of NHWC (or HWC) images with reflect padding."""
    import tensorflow as tf

    if sigma <= 0:
        return images
    squeeze = images.shape.rank == 3
    x = images[None] if squeeze else images
    k = gaussian_kernel_1d(sigma)
    r = len(k) // 2
    kx = tf.reshape(tf.tile(tf.constant(k)[None, :, None, None], [1, 1, 3, 1]), [1, len(k), 3, 1])
    ky = tf.reshape(tf.tile(tf.constant(k)[:, None, None, None], [1, 1, 3, 1]), [len(k), 1, 3, 1])
    x = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "VALID")
    return x[0] if squeeze else x


def degrade(hr, scale=4, blur_sigma=1.0, method="bicubic"):
    """TF: the paper's SR degradation: Gaussian blur (sigma 1.0) then bicubic downsampling
    by ``scale`` (not antialiased; docs/methods/johnson.md). ``hr``: (H, W, 3) or NHWC in [0, 1]."""
    import tensorflow as tf

    shape = tf.shape(hr)
    h, w = (shape[0], shape[1]) if hr.shape.rank == 3 else (shape[1], shape[2])
    x = gaussian_blur(hr, blur_sigma)
    x = tf.image.resize(x, tf.stack([h // scale, w // scale]), method=method, antialias=False)
    return tf.clip_by_value(x, 0.0, 1.0)


def super_resolution_pairs(
    directory,
    patch_size=288,
    scale=4,
    batch_size=4,
    blur_sigma=1.0,
    shuffle=True,
    seed=None,
    repeat=False,
    cache=False,
    recursive=True,
    validate="header",
    drop_remainder=None,
    prefetch=True,
):
    """``(low_res, high_res)`` batches for super-resolution training (Johnson et al. 2016).

    Random ``patch_size`` x ``patch_size`` high-resolution patches (288 in the paper)
    are blurred with a Gaussian of ``blur_sigma`` (1.0 in the paper) and
    downsampled bicubically by ``scale`` (4 or 8 in the paper) to give the input.
    Images whose shorter side is below ``patch_size`` are upscaled to it first.
    Other arguments as in `image_folder`.
    """
    import tensorflow as tf

    _check_common(patch_size, batch_size, "random")
    if not isinstance(scale, int) or scale < 2:
        raise ConfigError(f"scale must be an int >= 2, got {scale!r}.")
    if patch_size % scale:
        raise ConfigError(f"patch_size {patch_size} must be a multiple of scale {scale}.")
    files = readable_image_files(directory, recursive=recursive, validate=validate)
    if drop_remainder is None:
        drop_remainder = bool(repeat) or len(files) >= batch_size

    def decode(p):
        return resize_shorter_side(decode_image(p), patch_size, only_upscale=True)

    ds = _decoded_dataset(files, decode, cache, shuffle, seed, repeat)

    def pair(hr):
        return degrade(hr, scale, blur_sigma), hr

    if seed is not None:
        ds = _with_crop_seeds(ds, seed)
        ds = ds.map(lambda im, s: pair(crop_image(im, patch_size, "random", s)),
                    num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda im: pair(crop_image(im, patch_size, "random")),
                    num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


__all__ = [
    "IMAGE_EXTENSIONS",
    "list_image_files",
    "scan_image_files",
    "readable_image_files",
    "warn_skipped",
    "decode_image",
    "resize_shorter_side",
    "crop_image",
    "image_folder",
    "gaussian_kernel_1d",
    "gaussian_blur",
    "degrade",
    "super_resolution_pairs",
]
