"""Photo / painting pairs for the style-aware GAN (Sanakoyeu et al. 2018), with its augmentation.

`photo_art_pairs(photo_dir, art_dir, image_size=768, batch_size=1, ...)` -> an endless
``tf.data.Dataset`` of dicts ``{"photo": (B, S, S, 3), "art": (B, S, S, 3)}``, float32 in [0, 1].

Each sample follows the official pipeline (``prepare_dataset.py``, ``img_augm.py``; docs/methods/style_aware.md),
with its sizes scaled by ``image_size / 768``:

1. pick a random photo and a random painting (with replacement, as ``random.choice``);
2. photos are first upscaled x2 (``photo_upscale``); then a longer side above 1800 px is
   brought down to 1800; an image whose shorter side is below 800 px is upscaled, keeping its
   aspect ratio, until the shorter side is 800 px;
3. augmentation: scale (p 0.5, each axis x U[0.8, 1.2]), reflect-pad a quarter on each side,
   rotation (p 0.5, U[-13.5, 13.5] degrees), affine jitter (p 0.5, +-0.05), un-pad, random
   ``image_size`` crop, HSV jitter (p 1: hue +-0.05; saturation and value x U[1/1.05, 1.05] and
   +-0.05), horizontal flip (p 0.5), no vertical flip.

Bugs of the official code that are fixed here (set ``official_bugs=True`` to keep the first two):

- the scale augmentation drew ``uniform(-0.2, -0.2)``, so it always shrank by exactly 0.8; we
  draw from U[-0.2, 0.2] as intended;
- the small-image branch computed ``min(image.shape)`` over (H, W, 3), i.e. always 3, so every
  image with a longer side below 800 px was squashed to 800x800; we upscale keeping the aspect
  ratio (the other branch's spurious ``np.expand_dims`` is gone with it);
- hue is shifted modulo 1 (the code clipped it to [0.01, 0.99], so reds could not wrap).

Photos smaller than the crop are therefore upscaled (never an error). The art folder needs at
least 2 readable paintings: the method learns an artist's style from a collection (the paper used
the artist's whole WikiArt collection; more paintings -> a style rather than one painting's).

Examples:

```python
import keras_style as ks
pairs = ks.data.photo_art_pairs("places/", "van_gogh/", image_size=768, batch_size=1, seed=0)
model.fit(pairs, steps_per_epoch=1000, epochs=300)
```
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from keras_style.errors import ConfigError, DataError
from keras_style.images import load_image, resize_uint8_cv2, scale_uint8_cv2

MIN_PAINTINGS = 2
# prepare_dataset.py sizes for the 768 crop (main.py --image_size 768)
_REF_CROP, _REF_MIN, _REF_MAX = 768.0, 800.0, 1800.0


# Pillow and NumPy only (no OpenCV, which only the `video` extra installs; the resizes are
# keras_style.images.resize_uint8_cv2 / scale_uint8_cv2). The official code used
# cv2/scipy; the geometry here is the same (OpenCV's pixel-centre convention, its rotation and
# affine matrices), the resampling kernels are Pillow's: box (area) filter when shrinking, as
# cv2.INTER_AREA; bicubic when enlarging (a = -0.5 rather than OpenCV's -0.75); bilinear warps
# with black borders, as cv2.warpAffine's defaults.


def _rotation_matrix(center, angle, scale=1.0):
    """cv2.getRotationMatrix2D: 2x3, degrees, counter-clockwise for positive angles."""
    a = np.deg2rad(angle)
    alpha, beta = scale * np.cos(a), scale * np.sin(a)
    cx, cy = center
    return np.array(
        [[alpha, beta, (1 - alpha) * cx - beta * cy], [-beta, alpha, beta * cx + (1 - alpha) * cy]],
        np.float64,
    )


def _affine_from_points(src, dst):
    """cv2.getAffineTransform: the 2x3 matrix taking three points src to dst."""
    a = np.concatenate([np.asarray(src, np.float64), np.ones((3, 1))], axis=1)
    return np.linalg.solve(a, np.asarray(dst, np.float64)).T


def _warp_affine(image, m, size):
    """cv2.warpAffine(image, m, (w, h)): dst(x) = src(m^-1 x), bilinear, zero border."""
    from PIL import Image

    full = np.vstack([np.asarray(m, np.float64), [0.0, 0.0, 1.0]])
    inv = np.linalg.inv(full)[:2]
    # OpenCV puts pixel centres at integers, Pillow at +0.5: shift both sides by half a pixel
    a = inv[:, :2]
    t = inv[:, 2] + 0.5 - a @ np.array([0.5, 0.5])
    coeffs = (a[0, 0], a[0, 1], t[0], a[1, 0], a[1, 1], t[1])
    pil = Image.fromarray(np.ascontiguousarray(image))
    return np.asarray(pil.transform(size, Image.AFFINE, coeffs, resample=Image.BILINEAR))


def prepare_image(img, image_size, upscale=1.0, official_bugs=False):
    """prepare_dataset.py sizing (scaled to ``image_size``): upscale, cap the longer side, ensure the shorter side."""
    k = image_size / _REF_CROP
    min_side, max_side = _REF_MIN * k, _REF_MAX * k
    if upscale != 1.0:
        img = resize_uint8_cv2(img, (img.shape[0] * upscale, img.shape[1] * upscale))
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        r = max_side / max(h, w)
        img = resize_uint8_cv2(img, (h * r, w * r))
        h, w = img.shape[:2]
    if official_bugs:
        if max(h, w) < min_side:
            img = resize_uint8_cv2(img, (min_side, min_side))  # min(shape) was the channel count: always squashed
        return img
    if min(h, w) < min_side:
        r = min_side / min(h, w)
        img = resize_uint8_cv2(img, (h * r, w * r))
    return img


class Augmentor:
    """img_augm.Augmentor with the training settings of model.py (NumPy + Pillow, uint8 HxWx3)."""

    def __init__(
        self,
        crop_size,
        scale_prb=0.5,  # img_augm.py scale_augm_prb
        scale_range=0.2,  # img_augm.py scale_augm_range
        rotation_prb=0.5,  # rotation_augm_prb
        rotation_range=0.15,  # x 90 degrees = 13.5
        affine_prb=0.5,  # affine_trnsfm_prb
        affine_range=0.05,  # affine_trnsfm_range
        hue_shift=0.05,  # model.py: hue_augm_shift
        saturation_shift=0.05,
        saturation_scale=0.05,
        value_shift=0.05,
        value_scale=0.05,
        horizontal_flip_prb=0.5,
        vertical_flip_prb=0.0,  # model.py: vertical_flip_prb=0.
        official_bugs=False,
    ):
        self.crop_size = int(crop_size)
        self.__dict__.update(
            scale_prb=scale_prb, scale_range=scale_range, rotation_prb=rotation_prb,
            rotation_range=rotation_range, affine_prb=affine_prb, affine_range=affine_range,
            hue_shift=hue_shift, saturation_shift=saturation_shift, saturation_scale=saturation_scale,
            value_shift=value_shift, value_scale=value_scale, horizontal_flip_prb=horizontal_flip_prb,
            vertical_flip_prb=vertical_flip_prb, official_bugs=official_bugs,
        )

    def __call__(self, image, rng):
        if self.scale_prb > rng.uniform():
            if self.official_bugs:
                sx = sy = 1.0 - self.scale_range  # uniform(low=-r, high=-r)
            else:
                sx = 1.0 + rng.uniform(-self.scale_range, self.scale_range)
                sy = 1.0 + rng.uniform(-self.scale_range, self.scale_range)
            image = scale_uint8_cv2(image, sx, sy)
        rows, cols = image.shape[:2]
        pr, pc = rows // 4, cols // 4
        image = np.pad(image, [[pr, pr], [pc, pc], [0, 0]], mode="reflect")
        if self.rotation_prb > rng.uniform():
            angle = rng.uniform(-self.rotation_range * 90.0, self.rotation_range * 90.0)
            h, w = image.shape[:2]
            image = _warp_affine(image, _rotation_matrix((w / 2, h / 2), angle, 1), (w, h))
        if self.affine_prb > rng.uniform():
            r = self.affine_range
            src = np.float32([[0, 0], [0, 1], [1, 0]])
            dst = src + rng.uniform(-r, r, size=(3, 2)).astype(np.float32)
            h, w = image.shape[:2]
            image = _warp_affine(image, _affine_from_points(src, dst), (w, h))
        image = image[pr : image.shape[0] - pr, pc : image.shape[1] - pc]
        image = self.crop(image, rng)
        image = self.hsv(image, rng)
        if self.horizontal_flip_prb > rng.uniform():
            image = image[:, ::-1]
        if self.vertical_flip_prb > rng.uniform():
            image = image[::-1]
        return np.ascontiguousarray(image)

    def crop(self, image, rng):
        s = self.crop_size
        rows, cols = image.shape[:2]
        x = int(rng.uniform(0, max(0, rows - s)))
        y = int(rng.uniform(0, max(0, cols - s)))
        image = image[x : x + s, y : y + s]
        if image.shape[0] < s or image.shape[1] < s:  # img_augm.crop: resize a too-small patch
            image = resize_uint8_cv2(image, (s, s))
        return image

    def hsv(self, image, rng):
        from PIL import Image

        hsv = np.asarray(Image.fromarray(image).convert("HSV"), dtype=np.float64) / 255.0
        hsv[..., 0] += rng.uniform(-self.hue_shift, self.hue_shift)
        if not self.official_bugs:
            hsv[..., 0] %= 1.0
        hsv[..., 1] *= rng.uniform(1.0 / (1.0 + self.saturation_scale), 1.0 + self.saturation_scale)
        hsv[..., 1] += rng.uniform(-self.saturation_shift, self.saturation_shift)
        hsv[..., 2] *= rng.uniform(1.0 / (1.0 + self.value_scale), 1.0 + self.value_scale)
        hsv[..., 2] += rng.uniform(-self.value_shift, self.value_shift)
        np.clip(hsv, 0.01, 0.99, out=hsv)  # img_augm.hsv_transform
        hsv = np.uint8(np.round(hsv * 254.0))
        return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))


class _Source:
    """Random image picker with decode-failure skipping and an optional cache of prepared images."""

    def __init__(self, files, image_size, upscale, cache, official_bugs, what):
        self.files = list(files)
        self.image_size, self.upscale, self.cache = image_size, upscale, cache
        self.official_bugs, self.what = official_bugs, what
        self._cache = {}
        self._bad = set()

    def sample(self, rng):
        for _ in range(10 * len(self.files) + 10):
            good = [f for f in self.files if f not in self._bad]
            if not good:
                break
            f = good[int(rng.integers(len(good)))]
            if f in self._cache:
                return self._cache[f]
            try:
                img = np.asarray(load_image(f, dtype="uint8"))  # EXIF applied, RGB (keras_style.images)
            except Exception:
                self._bad.add(f)
                warnings.warn(f"keras_style.data: skipped unreadable {self.what} {os.path.basename(f)}.", stacklevel=2)
                continue
            img = prepare_image(img, self.image_size, self.upscale, self.official_bugs)
            if self.cache:
                self._cache[f] = img
            return img
        raise DataError(f"No readable {self.what} left ({len(self._bad)} failed to decode).")


def photo_art_pairs(
    photo_dir,
    art_dir,
    image_size=768,  # main.py --image_size
    batch_size=1,  # main.py --batch_size
    seed=None,
    photo_upscale=2.0,  # prepare_dataset.PlacesDataset: imresize(image, 2.)
    augment=True,
    cache=False,
    recursive=True,
    official_bugs=False,
):
    """Endless tf.data pipeline of ``{"photo", "art"}`` batches (NHWC float32 in [0, 1]).

    Args:
        photo_dir: folder of content photos (Places365 in the paper).
        art_dir: folder of one artist's paintings (at least 2).
        image_size: square training crop. Defaults to `768`.
        batch_size: Defaults to `1`.
        seed: seed of the sampling and augmentation RNG (NumPy); None: random.
        photo_upscale: factor applied to photos before sizing. Defaults to `2.0`.
        augment: apply the official augmentation; False: random crop only.
        cache: keep decoded, resized images in memory (small folders).
        recursive: search sub-folders.
        official_bugs: reproduce the fixed scale-range and squash bugs (see module docstring).
    """
    import tensorflow as tf

    from keras_style.data.folders import readable_image_files

    image_size = int(image_size)
    if image_size < 16:
        raise ConfigError(f"image_size must be at least 16, got {image_size}.")
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
    if not float(photo_upscale) > 0:
        raise ConfigError(f"photo_upscale must be > 0, got {photo_upscale}.")
    photos = readable_image_files(photo_dir, recursive=recursive)
    try:
        art = readable_image_files(art_dir, recursive=recursive)
    except DataError as e:
        raise DataError(
            f"{e} The style-aware GAN needs at least {MIN_PAINTINGS} paintings of one artist in {art_dir}."
        ) from None
    if len(art) < MIN_PAINTINGS:
        raise DataError(
            f"The art folder {art_dir} has {len(art)} readable painting; the style-aware GAN learns an "
            f"artist's style from a collection and needs at least {MIN_PAINTINGS} (dozens are better: "
            "the paper used each artist's WikiArt collection). For one painting use johnson or adain."
        )
    photo_src = _Source(photos, image_size, float(photo_upscale), cache, official_bugs, "photo")
    art_src = _Source(art, image_size, 1.0, cache, official_bugs, "painting")
    augmentor = Augmentor(image_size, official_bugs=official_bugs)
    rng = np.random.default_rng(seed)

    def one(src):
        img = src.sample(rng)
        if augment:
            img = augmentor(img, rng)
        else:
            img = augmentor.crop(img, rng)
        return img.astype(np.float32) / 255.0

    def gen():
        while True:
            yield {"photo": one(photo_src), "art": one(art_src)}

    spec = tf.TensorSpec((image_size, image_size, 3), tf.float32)
    ds = tf.data.Dataset.from_generator(gen, output_signature={"photo": spec, "art": spec})
    return ds.batch(int(batch_size), drop_remainder=True).prefetch(2)


__all__ = ["photo_art_pairs", "Augmentor", "prepare_image", "MIN_PAINTINGS"]
