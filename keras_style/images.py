"""Image I/O at the edges of keras_style.

Everything that enters keras_style as a picture goes through :func:`load_image`, and
everything written out goes through :func:`save_image`.  Inside the package images are
float32 RGB in [0, 1] (HxWx3 here, NHWC in models); the conversion happens once, here.

``load_image(src, size=None, max_size=None, return_alpha=False, dtype="float32")``
    ``src`` may be a path (``str`` / ``os.PathLike``), ``bytes``, an open binary file,
    a PIL image, a NumPy array or a tensor (Keras / TensorFlow / PyTorch / JAX).
    EXIF orientation is applied; every Pillow mode (``1``, ``L``, ``LA``, ``P`` with or
    without transparency, ``RGB``, ``RGBA``, ``CMYK``, ``YCbCr``, ``I;16*``, ``I``, ``F``)
    becomes RGB in [0, 1]; alpha is kept apart and returned with ``return_alpha=True``.

``save_image(array, path, alpha=None, quality=95, overwrite=False)``
    Format from the extension (``.png``, ``.jpg``/``.jpeg``, ``.webp``, ``.tif``/``.tiff``),
    written atomically (temporary file in the same folder, then ``os.replace``).

``IMAGE_EXTENSIONS`` / ``is_image_file(path)`` / ``list_images(folder)``
    The one list of image file extensions (everything Pillow reads that keras_style
    accepts); every folder listing in the package uses it: the CLI's folder modes,
    ``ks.data.list_image_files``, video frame folders, ``AdaIN.stylize_folder``.

Resizing: one resampling choice per purpose
-------------------------------------------
Every image resize in keras_style goes through these functions (NumPy / tensor in,
NumPy out); only resizes of tensors inside a traced model or a ``tf.data`` graph stay
``keras.ops.image.resize`` / ``tf.image.resize`` calls (feature maps, masks at a VGG
layer's size, dataset crops), since those must stay in the graph.

==========================  ===========================  ==================================
purpose                     function                     resampling, and why
==========================  ===========================  ==================================
photos in [0, 1]: inputs,   ``resize_longer``,           Pillow Lanczos, antialiased, in
styles, outputs, previews,  ``resize_shorter``,          float32, clipped to the input's
sheet cells, outputs of     ``resize_to`` (``crop=True`` range: the sharpest common filter
another size                centres first),              that does not alias when
                            ``resize_image``,            shrinking; [0, 1] stays [0, 1]
                            ``load_image(size=...)``
masks, alpha channels       ``resize_mask``              as photos, clipped to [0, 1]: edges
                                                         become soft ramps
alpha of a super-resolved   ``upscale_alpha``            Pillow bicubic, clipped to [0, 1]:
image (enlarging 2x / 4x)                                smooth edges without Lanczos ringing
                                                         around opaque shapes (``upscale``'s
                                                         documented behaviour)
optimisation iterates       ``resize_bilinear``          Keras bilinear, not clipped
(DeepDream octaves, Gatys                                (iterates may leave [0, 1]); the
multi-scale levels)                                      keras-io DeepDream recipe
style-aware output back to  ``resize_bilinear_pil``      Pillow bilinear per float channel:
the input size                                           the official code's
                                                         ``scipy.misc.imresize`` (bilinear)
uint8 crops of the          ``resize_uint8_cv2``,        Pillow box when shrinking, bicubic
style-aware data pipeline   ``scale_uint8_cv2``          when enlarging: the official
                                                         ``cv2.resize`` (INTER_AREA /
                                                         INTER_CUBIC) without OpenCV
==========================  ===========================  ==================================

``keras_style/onnx_runtime.py`` imports nothing of keras_style (a start-up fast path), so it
repeats the photo resize (Pillow Lanczos) in a few lines of its own.

Bad input raises :class:`keras_style.errors.ImageError` (a ``ValueError``) whose message
says what was wrong and what to do; bad arguments raise ``ConfigError``.

Value conventions for arrays and high-bit-depth images
------------------------------------------------------
* ``uint8`` / 8-bit modes: divided by 255.  ``uint16`` / ``I;16``: divided by 65535.
* ``bool`` / mode ``1``: 0 or 1.  Other integer dtypes are accepted when all values lie
  in 0..255 (treated as 8-bit).
* float arrays must be finite and in [0, 1]; values up to ``FLOAT_RANGE_TOLERANCE``
  outside (resampling overshoot, unclipped network outputs) are clipped, anything further
  out is an error that names the range found (e.g. 0..255 data or [-1, 1] data).
* Pillow mode ``I`` (32-bit integer, how some 16-bit files open): values in 0..65535 are
  divided by 65535; any other range is stretched linearly from [min, max] to [0, 1] with
  a warning.  Mode ``F`` (32-bit float): in [0, 1] used as is; else, if in 0..255 divided
  by 255 (what ``convert("F")`` of an 8-bit image gives); else, if in 0..65535 divided by
  65535; else stretched from [min, max] with a warning.
* Known limitation: Pillow decodes 16-bit-per-channel *colour* PNG/TIFF files as 8-bit RGB,
  so those lose their low 8 bits (16-bit grayscale files keep full precision).

Decompression bombs: files whose header declares more than ``max_pixels`` pixels (default
``DEFAULT_MAX_PIXELS``, Pillow's own limit) are refused before decoding.  Allow bigger
files with ``load_image(..., max_pixels=N)`` (``0`` = no limit) or the environment
variable ``KERAS_STYLE_MAX_PIXELS``.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_style.errors import ConfigError, ImageError

# Pillow's own Image.MAX_IMAGE_PIXELS (about 9459 x 9459; ~1 GB as float32 RGB).
DEFAULT_MAX_PIXELS = 89_478_485
MAX_PIXELS_ENV = "KERAS_STYLE_MAX_PIXELS"
# How far outside [0, 1] a float image may go before it is an error rather than clipped.
FLOAT_RANGE_TOLERANCE = 0.5

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
# Every extension keras_style lists in folders (Pillow reads all of them); lower case.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
_OUTPUT_DTYPES = ("float32", "float16", "float64", "uint8")
_EXIF_ORIENTATION = 0x0112
_ORIENTATION_NAMES = {
    1: "normal",
    2: "mirrored horizontally",
    3: "rotated 180",
    4: "mirrored vertically",
    5: "mirrored + rotated 90 CCW",
    6: "rotated 90 CW",
    7: "mirrored + rotated 90 CW",
    8: "rotated 90 CCW",
}
_PIL_LIMIT_LOCK = threading.Lock()

__all__ = [
    "load_image",
    "read_rgb",
    "preserve_color",
    "save_image",
    "to_float_image",
    "resize_image",
    "resize_longer",
    "resize_shorter",
    "resize_to",
    "resize_mask",
    "upscale_alpha",
    "resize_bilinear",
    "resize_bilinear_pil",
    "resize_uint8_cv2",
    "scale_uint8_cv2",
    "IMAGE_EXTENSIONS",
    "is_image_file",
    "list_images",
    "load_masks",
    "image_info",
    "ImageError",
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "SAVE_FORMATS",
]


# ----------------------------------------------------------------------------- arguments


def _check_side(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int (pixels) or None, got {value!r}.")
    return int(value)


def _resolve_max_pixels(max_pixels):
    """-> int limit, or None for no limit."""
    if max_pixels is None:
        env = os.environ.get(MAX_PIXELS_ENV, "").strip().lower()
        if not env:
            return DEFAULT_MAX_PIXELS
        if env in ("0", "none", "off", "unlimited"):
            return None
        try:
            value = int(float(env))
        except ValueError:
            raise ConfigError(
                f"Environment variable {MAX_PIXELS_ENV}={env!r} is not a number; set it to a "
                "pixel count (e.g. 200000000) or 0 for no limit."
            ) from None
        return value if value > 0 else None
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, float, np.integer)):
        raise ConfigError(f"max_pixels must be an int (0 = no limit), got {max_pixels!r}.")
    if max_pixels <= 0 or max_pixels == float("inf"):
        return None
    return int(max_pixels)


def _target_hw(h, w, size=None, max_size=None):
    """(h, w) after resizing: ``size`` = shorter side, ``max_size`` = longer side.

    With both, the shorter side becomes ``size`` unless that makes the longer side exceed
    ``max_size``, in which case the longer side becomes ``max_size`` (torchvision's rule).
    """
    if size is None and max_size is None:
        return h, w
    if size is not None and max_size is not None and max_size < size:
        raise ConfigError(f"max_size ({max_size}) must be >= size ({size}).")
    short, long = (h, w) if h <= w else (w, h)
    if size is not None:
        new_short, new_long = size, max(1, round(long * size / short))
        if max_size is not None and new_long > max_size:
            new_short, new_long = max(1, round(short * max_size / long)), max_size
    else:
        new_short, new_long = max(1, round(short * max_size / long)), max_size
    return (new_short, new_long) if h <= w else (new_long, new_short)


# ----------------------------------------------------------------------------- arrays


def _to_numpy(x):
    """NumPy view of an array or tensor (Keras / TF / torch / JAX), or None if not array-like."""
    if isinstance(x, np.ndarray):
        return x
    mod = type(x).__module__ or ""
    if mod.startswith("torch"):
        try:
            return x.detach().cpu().numpy()
        except Exception as e:  # noqa: BLE001 - e.g. an unsupported torch dtype (bfloat16)
            try:
                return x.detach().cpu().float().numpy()
            except Exception:  # noqa: BLE001
                raise ImageError(f"Could not convert the torch tensor to NumPy: {e}") from e
    if isinstance(x, np.generic):
        return np.asarray(x)
    if hasattr(x, "numpy") and callable(x.numpy):
        try:
            return np.asarray(x.numpy())
        except Exception:  # noqa: BLE001 - symbolic tensors etc.; try Keras below
            pass
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            import keras

            return np.asarray(keras.ops.convert_to_numpy(x))
        except Exception as e:  # noqa: BLE001
            raise ImageError(
                f"Could not convert the {type(x).__name__} to a NumPy array ({e}); pass a "
                "concrete (eager) tensor or a NumPy array."
            ) from e
    if hasattr(x, "__array__"):
        return np.asarray(x)
    return None


def _check_pixels(h, w, what):
    if h < 1 or w < 1:
        raise ImageError(f"{what} is empty ({w}x{h} pixels); give an image with pixels in it.")
    if h * w < 2:
        raise ImageError(
            f"{what} is a single pixel (1x1); an image needs at least 2 pixels. "
            "Check that the right file or array was passed."
        )


def _float_in_unit_range(a, what):
    """Finite float array -> float32 clipped to [0, 1], or ImageError naming the range."""
    if a.size and not np.all(np.isfinite(a)):
        n_bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ImageError(
            f"{what} contains {n_bad} NaN or Inf value(s); an image must be finite. "
            "Replace them first (e.g. np.nan_to_num(x)), or find where they came from."
        )
    a = a.astype(np.float32, copy=False)
    if a.size:
        lo, hi = float(a.min()), float(a.max())
        if lo < -FLOAT_RANGE_TOLERANCE or hi > 1.0 + FLOAT_RANGE_TOLERANCE:
            hint = (
                "it looks like 0..255 data: divide by 255"
                if lo >= -FLOAT_RANGE_TOLERANCE and hi <= 255.0 + FLOAT_RANGE_TOLERANCE
                else "it looks like [-1, 1] data: use (x + 1) / 2"
                if lo >= -1.0 - FLOAT_RANGE_TOLERANCE and hi <= 1.0 + FLOAT_RANGE_TOLERANCE
                else "rescale it to [0, 1]"
            )
            raise ImageError(
                f"{what} is a float array with values in [{lo:.4g}, {hi:.4g}]; float images must be "
                f"in [0, 1] ({hint}), or pass uint8 (0..255) / uint16 (0..65535) data."
            )
        if lo < 0.0 or hi > 1.0:
            a = np.clip(a, 0.0, 1.0)
    return a


def _scale_to_unit(a, what):
    """Any supported dtype -> float32 in [0, 1] (values validated)."""
    dt = a.dtype
    if dt == np.bool_:
        return a.astype(np.float32)
    if dt == np.uint8:
        return a.astype(np.float32) / 255.0
    if dt == np.uint16:
        return a.astype(np.float32) / 65535.0
    if np.issubdtype(dt, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo >= 0 and hi <= 255:
            return a.astype(np.float32) / 255.0
        raise ImageError(
            f"{what} has dtype {dt} with values in [{lo}, {hi}]; integer images must be uint8 "
            "(0..255) or uint16 (0..65535). Convert with x.astype(np.uint8) / "
            "x.astype(np.uint16), or pass float values in [0, 1]."
        )
    if np.issubdtype(dt, np.floating):
        return _float_in_unit_range(a, what)
    raise ImageError(
        f"{what} has unsupported dtype {dt}; use uint8 (0..255), uint16 (0..65535), bool, "
        "or float in [0, 1]."
    )


def _array_parts(x, what="image array"):
    """Array / tensor -> (rgb float32 HxWx3 in [0, 1], alpha float32 HxW or None)."""
    a = _to_numpy(x)
    if a is None:
        raise ImageError(f"{what} of type {type(x).__name__} is not an array or tensor.")
    a = np.asarray(a)
    if a.dtype == object or a.dtype.kind in "USVMmc":
        raise ImageError(
            f"{what} has unsupported dtype {a.dtype}; use uint8 (0..255), uint16 (0..65535), "
            "bool, or float in [0, 1]."
        )
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    elif a.ndim == 4:
        raise ImageError(
            f"{what} is a batch of {a.shape[0]} images (shape {a.shape}); pass one image at a "
            "time, e.g. x[0]."
        )
    if a.ndim == 3 and a.shape[-1] not in (1, 2, 3, 4):
        hint = (
            " It looks channels-first; use np.transpose(x, (1, 2, 0))."
            if a.shape[0] in (1, 2, 3, 4)
            else ""
        )
        raise ImageError(
            f"{what} has unsupported shape {a.shape}; expected HxW, HxWx1, HxWx2 (gray + alpha), "
            f"HxWx3 or HxWx4 (RGBA), optionally with a leading batch of 1.{hint}"
        )
    if a.ndim not in (2, 3):
        raise ImageError(
            f"{what} has unsupported shape {a.shape} ({a.ndim} dimensions); expected HxW, HxWx1, "
            "HxWx2, HxWx3 or HxWx4, optionally with a leading batch of 1."
        )
    _check_pixels(a.shape[0], a.shape[1], what)
    a = _scale_to_unit(a, what)
    if a.ndim == 2:
        a = a[..., None]
    alpha = None
    if a.shape[-1] in (2, 4):
        alpha = np.ascontiguousarray(a[..., -1])
        a = a[..., :-1]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a, dtype=np.float32), alpha


def to_float_image(x, return_alpha=False):
    """An array, tensor or PIL image -> NumPy float32 HxWx3 in [0, 1] (validated).

    Gray images are repeated to 3 channels; an alpha channel (HxWx2, HxWx4, RGBA/LA
    images) is dropped, or returned as float32 HxW with ``return_alpha=True`` (as
    ``(rgb, alpha_or_None)``).  A leading batch dimension of 1 is removed.  Raises
    ``ImageError`` for unsupported shapes or dtypes, NaN/Inf, or out-of-range floats.
    """
    if isinstance(x, Image.Image):
        rgb, alpha = _pil_parts(_orient(x, "PIL image"), "PIL image")
    else:
        rgb, alpha = _array_parts(x)
    return (rgb, alpha) if return_alpha else rgb


# ----------------------------------------------------------------------------- resizing


def _resize_channels(a, hw):
    """float32 HxWxC -> float32 h x w x C with Pillow's antialiased Lanczos, per channel."""
    h, w = hw
    out = np.empty((h, w, a.shape[-1]), np.float32)
    for c in range(a.shape[-1]):
        ch = Image.fromarray(np.ascontiguousarray(a[..., c], dtype=np.float32))  # mode "F"
        out[..., c] = np.asarray(ch.resize((w, h), Image.Resampling.LANCZOS), np.float32)
    return out


def resize_image(img, size=None, max_size=None, shape=None):
    """Resize an HxW / HxWxC (or NxHxWxC) array or tensor; returns NumPy.

    Give ``size`` (shorter side), ``max_size`` (longer side; with ``size`` it caps the
    longer side) -- the aspect ratio is kept -- or ``shape=(height, width)`` exactly.
    Resampling is Pillow's antialiased Lanczos in float32, so downscaling does not alias.
    uint8 / uint16 input gives the same dtype back (rounded); any other input gives
    float32, clipped to the input's own value range (no Lanczos overshoot).
    """
    size, max_size = _check_side(size, "size"), _check_side(max_size, "max_size")
    if shape is not None:
        if size is not None or max_size is not None:
            raise ConfigError("Give either shape=(height, width) or size/max_size, not both.")
        if (
            not isinstance(shape, (tuple, list))
            or len(shape) != 2
            or any(
                isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape
            )
        ):
            raise ConfigError(f"shape must be (height, width) with positive ints, got {shape!r}.")
    a = _to_numpy(img) if not isinstance(img, Image.Image) else np.asarray(img)
    if a is None:
        raise ImageError(f"resize_image expects an array or tensor, got {type(img).__name__}.")
    a = np.asarray(a)
    if a.ndim == 4:
        return np.stack([resize_image(f, size, max_size, shape) for f in a]) if len(a) else a
    if a.ndim not in (2, 3):
        raise ImageError(f"resize_image expects HxW, HxWxC or NxHxWxC, got shape {a.shape}.")
    h, w = a.shape[:2]
    _check_pixels(h, w, "image to resize")
    hw = tuple(int(s) for s in shape) if shape is not None else _target_hw(h, w, size, max_size)
    orig_dtype = a.dtype
    if not (np.issubdtype(orig_dtype, np.number) or orig_dtype == np.bool_):
        raise ImageError(f"resize_image: unsupported dtype {orig_dtype}.")
    if hw == (h, w):
        return a.copy() if orig_dtype in (np.uint8, np.uint16) else a.astype(np.float32)
    f = a.astype(np.float32)
    if not np.all(np.isfinite(f)):
        raise ImageError("The image to resize contains NaN or Inf values.")
    squeeze = f.ndim == 2
    if squeeze:
        f = f[..., None]
    out = _resize_channels(f, hw)
    out = np.clip(out, float(f.min()), float(f.max()))
    if squeeze:
        out = out[..., 0]
    if orig_dtype in (np.uint8, np.uint16):
        return np.round(out).astype(orig_dtype)
    return out


def resize_longer(img, size):
    """Photo resize: the longer side becomes ``size`` (aspect kept; None = unchanged).

    Lanczos as `resize_image` (antialiased; float input clipped to its own range, so an
    image in [0, 1] stays there). Returns NumPy (the input itself when nothing changes).
    """
    if size is None:
        return img
    return resize_image(img, max_size=size)


def resize_shorter(img, size):
    """Photo resize: the shorter side becomes ``size`` (aspect kept; None = unchanged).

    Lanczos as `resize_image`.
    """
    if size is None:
        return img
    return resize_image(img, size=size)


def resize_to(img, hw, crop=False):
    """Photo resize to exactly ``hw = (height, width)`` (Lanczos as `resize_image`).

    ``crop=True`` first cuts the largest centred region with the aspect ratio of ``hw``
    (as ``keras.ops.image.resize(..., crop_to_aspect_ratio=True)``), so nothing is squashed.
    """
    h, w = (int(v) for v in hw)
    if crop:
        a = np.asarray(_to_numpy(img) if not isinstance(img, Image.Image) else np.asarray(img))
        ih, iw = a.shape[-3:-1] if a.ndim >= 3 else a.shape
        ch, cw = min(ih, max(1, round(iw * h / w))), min(iw, max(1, round(ih * w / h)))
        y, x = (ih - ch) // 2, (iw - cw) // 2
        img = a[..., y : y + ch, x : x + cw, :] if a.ndim >= 3 else a[y : y + ch, x : x + cw]
    return resize_image(img, shape=(h, w))


def resize_mask(mask, hw):
    """Mask / alpha resize: HxW (or HxWx1) in [0, 1] to ``hw``, Lanczos, clipped to [0, 1]."""
    return np.clip(resize_image(np.asarray(mask, np.float32), shape=tuple(int(v) for v in hw)), 0.0, 1.0)


def _as_array(x, dtype=None):
    """NumPy of an array, tensor or nested list (tensors through `_to_numpy`)."""
    a = _to_numpy(x)
    return np.asarray(x if a is None else a, dtype)


def upscale_alpha(alpha, hw):
    """Alpha channel of a super-resolved image: HxW in [0, 1] to ``hw`` with Pillow's
    bicubic filter in float32, clipped to [0, 1] (`SuperResolutionModel.upscale`)."""
    h, w = (int(v) for v in hw)
    im = Image.fromarray(np.ascontiguousarray(_as_array(alpha), dtype=np.float32))  # mode "F"
    return np.clip(np.asarray(im.resize((w, h), Image.Resampling.BICUBIC), np.float32), 0.0, 1.0)


def resize_bilinear(img, hw, antialias=False):
    """Iterate resize: HxWxC float image to ``hw`` with Keras bilinear, not clipped.

    For images inside an optimisation (DeepDream octaves, the previous level's result in
    Gatys's multi-scale runs), whose values may leave [0, 1]. ``antialias=False`` (default)
    is ``tf.image.resize``'s default, as in the keras-io DeepDream example.
    """
    h, w = (int(v) for v in hw)
    a = _as_array(img, np.float32)
    if a.shape[:2] == (h, w):
        return a
    from keras import ops

    out = ops.image.resize(ops.convert_to_tensor(a[None]), (h, w), interpolation="bilinear", antialias=antialias)
    return np.asarray(ops.convert_to_numpy(out)[0], np.float32)


def resize_bilinear_pil(img, hw):
    """HxWxC float image to ``hw`` with Pillow's bilinear filter per channel (not clipped).

    The style-aware network's output back to the input size: the official code's
    ``resize_to_original`` (``scipy.misc.imresize(..., interp="bilinear")``, which is
    Pillow's bilinear resize), here in float32 rather than uint8.
    """
    h, w = (int(v) for v in hw)
    a = _as_array(img, np.float32)
    chans = [
        np.asarray(Image.fromarray(np.ascontiguousarray(a[..., c]), mode="F").resize((w, h), Image.BILINEAR))
        for c in range(a.shape[-1])
    ]
    return np.stack(chans, axis=-1).astype(np.float32)


def resize_uint8_cv2(img, hw):
    """uint8 HxWxC to ``hw`` as the official style-aware data code's ``cv2.resize``.

    Pillow's box (area) filter when shrinking (cv2.INTER_AREA) and bicubic when enlarging
    (a = -0.5 rather than OpenCV's -0.75); ``hw`` is rounded. OpenCV is not needed.
    """
    h, w = max(1, int(round(hw[0]))), max(1, int(round(hw[1])))
    if (h, w) == img.shape[:2]:
        return img
    shrink = h * w < img.shape[0] * img.shape[1]
    pil = Image.fromarray(np.ascontiguousarray(img))
    return np.asarray(pil.resize((w, h), Image.BOX if shrink else Image.BICUBIC))


def scale_uint8_cv2(img, sx, sy):
    """``cv2.resize(img, None, fx=sx, fy=sy, interpolation=cv2.INTER_CUBIC)`` on uint8, with
    Pillow's bicubic filter: each axis scaled by its own factor."""
    h, w = img.shape[:2]
    size = (max(1, int(round(w * sx))), max(1, int(round(h * sy))))
    return np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize(size, Image.BICUBIC))


# ----------------------------------------------------------------------------- folders


def is_image_file(path) -> bool:
    """True for a file name whose extension is in ``IMAGE_EXTENSIONS`` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder, recursive=False) -> list[Path]:
    """The image files (``IMAGE_EXTENSIONS``) in ``folder``, sorted (an empty list if none).

    ``recursive=True`` descends into subfolders.
    """
    root = Path(folder)
    found = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in found if p.is_file() and is_image_file(p))


# ----------------------------------------------------------------------------- masks


def load_masks(masks, shape, count=None):
    """Spatial style masks -> per-pixel style weights and coverage, at ``shape = (H, W)``.

    Each mask is anything `load_image` reads (a path, PIL image, HxW / HxWxC array: uint8,
    bool or float in [0, 1]); colour masks are averaged over their channels (white = this
    style, black = not). Masks of another size are resized to ``shape`` (`resize_image`,
    antialiased, so edges become soft ramps rather than jagged steps).

    Returns ``(weights, coverage)``: float32 ``(H, W, K)`` weights that sum to 1 wherever
    some mask is non-zero (each mask divided by the sum of all masks there), and float32
    ``(H, W)`` coverage ``min(1, sum of masks)``. Where no mask covers a pixel the weights
    are uniform and the coverage is 0: callers keep the input photo there.

    Args:
        masks: a list of masks, one per style (or one mask).
        shape: ``(height, width)`` of the image being stylized.
        count: the number of styles the masks must match (None: any).

    Raises:
        ConfigError: a count that differs from ``count``, or a mask that is all zeros.
        ImageError: a mask that is not an image.
    """
    if masks is None or isinstance(masks, (str, os.PathLike, Image.Image, np.ndarray)):
        masks = [masks]
    masks = list(masks)
    if not masks or any(m is None for m in masks):
        raise ConfigError("masks must be a list of mask images (one per style), got none.")
    if count is not None and len(masks) != count:
        raise ConfigError(
            f"Got {len(masks)} mask(s) for {count} style(s); give one mask per style, in the "
            "same order."
        )
    h, w = (int(v) for v in shape)
    planes = []
    for k, src in enumerate(masks):
        try:
            m = load_image(src).mean(axis=-1)
        except ImageError as e:
            raise ImageError(f"mask {k}: {e}") from None
        if m.shape != (h, w):
            m = resize_image(m, shape=(h, w))
        if float(m.max()) <= 0.0:
            raise ConfigError(f"mask {k} is all zeros: its style would apply nowhere.")
        planes.append(np.clip(m, 0.0, 1.0).astype(np.float32))
    stack = np.stack(planes, axis=-1)
    total = stack.sum(axis=-1)
    covered = total > 1e-6
    weights = np.where(
        covered[..., None], stack / np.maximum(total, 1e-6)[..., None], np.float32(1.0 / len(planes))
    ).astype(np.float32)
    return weights, np.minimum(total, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- PIL side


def _describe_src(src):
    if isinstance(src, (str, os.PathLike)):
        return str(os.fspath(src))
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"image bytes ({len(src)} bytes)"
    name = getattr(src, "name", None)
    return str(name) if isinstance(name, str) else "image stream"


def _open_pil(src, max_pixels, what):
    """Open (not decode) ``src`` with Pillow after the file checks; bomb check on the header."""
    if isinstance(src, (str, os.PathLike)):
        s = str(os.fspath(src))
        path = Path(s)
        if s.startswith(("http://", "https://", "ftp://")):
            raise ImageError(
                f"{s} is a URL; keras_style does not download images. Download it first "
                "(e.g. keras.utils.get_file) and pass the local path."
            )
        if not path.exists():
            hint = " (the folder does not exist either)" if not path.parent.exists() else ""
            raise ImageError(f"Image file not found: {s}{hint}. Check the path.")
        if path.is_dir():
            raise ImageError(
                f"{s} is a directory, not an image file; pass a file inside it "
                "(e.g. keras_style.data.list_image_files lists them)."
            )
        try:
            n_bytes = path.stat().st_size
        except OSError as e:
            raise ImageError(f"Cannot read {s}: {e.strerror or e}.") from e
        if n_bytes == 0:
            raise ImageError(
                f"{s} is an empty file (0 bytes); it was probably not written completely. "
                "Re-download or re-export it."
            )
        fp = path
    elif isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageError("The image bytes are empty (0 bytes); pass the file's contents.")
        fp = io.BytesIO(bytes(src))
    else:  # a binary file object
        fp = src
    try:
        # Our own bomb check below (with its message and limit) replaces Pillow's; the
        # lock keeps concurrent load_image calls from racing on the global.
        with _PIL_LIMIT_LOCK:
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                im = Image.open(fp)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except UnidentifiedImageError as e:
        head = _peek(fp)
        raise ImageError(
            f"{what} is not an image Pillow can read{head}. Pass a PNG, JPEG, WebP, TIFF, BMP "
            "or GIF file (check the extension matches the contents)."
        ) from e
    except PermissionError as e:
        raise ImageError(f"Cannot read {what}: permission denied.") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(
            f"{what} could not be opened as an image ({type(e).__name__}: {_short(e)}); "
            "the file is corrupt or truncated. Re-download or re-export it."
        ) from e
    w, h = im.size
    limit = _resolve_max_pixels(max_pixels)
    if limit is not None and w * h > limit:
        im.close()
        raise ImageError(
            f"{what} is {w}x{h} = {w * h:,} pixels, more than the limit of {limit:,} pixels "
            "(a guard against decompression bombs). If you trust this file, allow it with "
            f"load_image(..., max_pixels={w * h}) or the environment variable "
            f"{MAX_PIXELS_ENV}={w * h} (0 = no limit)."
        )
    return im


def _peek(fp):
    try:
        if isinstance(fp, Path):
            with open(fp, "rb") as f:
                data = f.read(16)
        elif hasattr(fp, "seek") and hasattr(fp, "read"):
            fp.seek(0)
            data = fp.read(16)
        else:
            return ""
    except Exception:  # noqa: BLE001
        return ""
    return f" (it starts with {data!r})" if data else ""


def _short(e, n=160):
    msg = " ".join(str(e).split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def _decode(im, what):
    """Force decoding so truncated / corrupt data fails here with a clear message."""
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as e:
        raise ImageError(
            f"{what} could not be decoded ({_short(e)}); the file is truncated or corrupt. "
            "Re-download or re-export it."
        ) from e
    except Exception as e:  # noqa: BLE001 - decoder plugins raise many types (struct.error, zlib.error)
        raise ImageError(
            f"{what} could not be decoded ({type(e).__name__}: {_short(e)}); the file is "
            "truncated or corrupt. Re-download or re-export it."
        ) from e
    return im


def _orientation(im):
    try:
        o = im.getexif().get(_EXIF_ORIENTATION)
        return int(o) if o is not None else None
    except Exception:  # noqa: BLE001 - broken EXIF blocks are common; they just carry no orientation
        return None


def _orient(im, what):
    o = _orientation(im)
    if o in (2, 3, 4, 5, 6, 7, 8):
        try:
            im = ImageOps.exif_transpose(im)
        except Exception as e:  # noqa: BLE001
            warnings.warn(
                f"{what}: EXIF orientation {o} could not be applied ({_short(e)}); "
                "using the image as stored.",
                stacklevel=3,
            )
    return im


def _stretch(a, what, kind):
    lo, hi = float(a.min()), float(a.max())
    warnings.warn(
        f"{what}: {kind} values in [{lo:.6g}, {hi:.6g}] are not a standard range; "
        "stretched linearly to [0, 1].",
        stacklevel=4,
    )
    if hi <= lo:
        return np.zeros_like(a, dtype=np.float32)
    return ((a.astype(np.float64) - lo) / (hi - lo)).astype(np.float32)


def _pil_parts(im, what):
    """Decoded PIL image -> (rgb float32 HxWx3 in [0, 1], alpha float32 HxW or None)."""
    mode = im.mode
    w, h = im.size
    _check_pixels(h, w, what)
    alpha = None
    if mode == "1":
        g = np.asarray(im, dtype=bool).astype(np.float32)
    elif mode in ("L", "RGB") and "transparency" in im.info:
        a = np.asarray(im.convert("RGBA"), np.float32) / 255.0
        g = a[..., 0] if mode == "L" else a[..., :3]
        alpha = a[..., 3]
    elif mode == "L":
        g = np.asarray(im, np.float32) / 255.0
    elif mode in ("LA", "La"):
        a = np.asarray(im.convert("LA") if mode == "La" else im, np.float32) / 255.0
        g, alpha = a[..., 0], a[..., 1]
    elif mode in ("P", "PA"):
        if mode == "PA" or "transparency" in im.info:
            a = np.asarray(im.convert("RGBA"), np.float32) / 255.0
            g, alpha = a[..., :3], a[..., 3]
        else:
            g = np.asarray(im.convert("RGB"), np.float32) / 255.0
    elif mode == "RGB":
        g = np.asarray(im, np.float32) / 255.0
    elif mode in ("RGBA", "RGBa"):
        a = np.asarray(im.convert("RGBA") if mode == "RGBa" else im, np.float32) / 255.0
        g, alpha = a[..., :3], a[..., 3]
    elif mode.startswith("I;16"):
        g = np.asarray(im).astype(np.float32) / 65535.0
    elif mode == "I":
        a = np.asarray(im)
        lo, hi = int(a.min()), int(a.max())
        g = (
            a.astype(np.float32) / 65535.0
            if lo >= 0 and hi <= 65535
            else _stretch(a, what, "32-bit integer")
        )
    elif mode == "F":
        a = np.asarray(im, np.float32)
        if not np.all(np.isfinite(a)):
            raise ImageError(f"{what} (32-bit float image) contains NaN or Inf values.")
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0.0 and hi <= 1.0:
            g = a
        elif lo >= 0.0 and hi <= 255.0:
            g = a / 255.0
        elif lo >= 0.0 and hi <= 65535.0:
            g = a / 65535.0
        else:
            g = _stretch(a, what, "32-bit float")
    else:  # CMYK, YCbCr, HSV, LAB, RGBX, I;16 variants Pillow adds later...
        try:
            has_alpha = "A" in mode or getattr(im, "has_transparency_data", False)
            conv = im.convert("RGBA" if has_alpha else "RGB")
        except (ValueError, OSError) as e:
            raise ImageError(
                f"{what} has Pillow mode {mode!r}, which cannot be converted to RGB ({_short(e)}). "
                "Convert it to RGB in an image editor first."
            ) from e
        a = np.asarray(conv, np.float32) / 255.0
        g = a[..., :3]
        if has_alpha:
            alpha = a[..., 3]
    g = np.asarray(g, np.float32)
    if g.ndim == 2:
        g = np.repeat(g[..., None], 3, axis=-1)
    return np.ascontiguousarray(g), (
        None if alpha is None else np.ascontiguousarray(alpha, np.float32)
    )


# ----------------------------------------------------------------------------- public API


def load_image(src, size=None, max_size=None, return_alpha=False, dtype="float32", max_pixels=None):
    """Load an image as NumPy RGB in [0, 1] (HxWx3).

    Args:
        src: a path (``str`` / ``os.PathLike``), ``bytes``, a binary file object, a PIL
            image, a NumPy array (HxW, HxWx1, HxWx2, HxWx3, HxWx4; uint8, uint16, bool or
            float in [0, 1]; optional leading batch of 1) or a tensor (Keras, TensorFlow,
            PyTorch, JAX).  EXIF orientation is applied to files and PIL images.
        size: shorter side in pixels after resizing (aspect kept), or None.
        max_size: longer side in pixels (aspect kept); with ``size``, a cap on the longer
            side.  Resampling: antialiased Lanczos.
        return_alpha: if True return ``(rgb, alpha)`` where alpha is HxW (same dtype as rgb)
            or None when the source has no alpha channel.
        dtype: ``"float32"`` (default), ``"float16"``, ``"float64"`` or ``"uint8"`` (0..255).
        max_pixels: refuse files whose header declares more pixels than this (decompression
            bomb guard).  None = ``$KERAS_STYLE_MAX_PIXELS`` or ``DEFAULT_MAX_PIXELS``;
            0 = no limit.

    Raises:
        ImageError: missing / empty / non-image / truncated files, directories, 1-pixel or
            empty images, too many pixels, unsupported array shapes or dtypes, NaN/Inf.
        ConfigError: invalid ``size``, ``max_size``, ``dtype`` or ``max_pixels``.
    """
    size, max_size = _check_side(size, "size"), _check_side(max_size, "max_size")
    if size is not None and max_size is not None and max_size < size:
        raise ConfigError(f"max_size ({max_size}) must be >= size ({size}).")
    try:
        out_dtype = np.dtype(dtype).name
    except TypeError:
        out_dtype = None
    if out_dtype not in _OUTPUT_DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(_OUTPUT_DTYPES)}, got {dtype!r}.")
    _resolve_max_pixels(max_pixels)  # validate early

    if isinstance(src, Image.Image):
        what = "PIL image"
        im = _orient(_decode(src, what), what)
        rgb, alpha = _pil_parts(im, what)
    elif isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)) or (
        hasattr(src, "read") and not hasattr(src, "shape")
    ):
        what = _describe_src(src)
        im = _open_pil(src, max_pixels, what)
        try:
            if (size is not None or max_size is not None) and im.format == "JPEG":
                # Decode JPEGs at a reduced DCT scale when that still covers the target
                # (exact size comes from the Lanczos resize below).
                w, h = im.size
                swap = _orientation(im) in (5, 6, 7, 8)
                th, tw = _target_hw(*((w, h) if swap else (h, w)), size, max_size)
                if swap:
                    th, tw = tw, th
                if th < h and tw < w:
                    im.draft(im.mode, (tw, th))
            _decode(im, what)
            im = _orient(im, what)
            rgb, alpha = _pil_parts(im, what)
        finally:
            im.close()
    else:
        what = "image array"
        if _to_numpy(src) is None:
            raise ImageError(
                f"Cannot load an image from a {type(src).__name__}; pass a path, bytes, a PIL "
                "image, a NumPy array or a tensor."
            )
        rgb, alpha = _array_parts(src, what)

    if size is not None or max_size is not None:
        hw = _target_hw(rgb.shape[0], rgb.shape[1], size, max_size)
        if hw != rgb.shape[:2]:
            rgb = np.clip(_resize_channels(rgb, hw), 0.0, 1.0)
            if alpha is not None:
                alpha = np.clip(_resize_channels(alpha[..., None], hw)[..., 0], 0.0, 1.0)

    def cast(a):
        if a is None:
            return None
        if out_dtype == "uint8":
            return np.round(a * 255.0).astype(np.uint8)
        return a.astype(out_dtype, copy=False)

    rgb, alpha = cast(rgb), cast(alpha)
    return (rgb, alpha) if return_alpha else rgb


def image_info(src, max_pixels=None):
    """Facts about an image file (or bytes / PIL image), after fully decoding it.

    Returns a dict: ``format``, ``width``, ``height`` (as stored), ``mode``, ``alpha``
    (bool), ``exif_orientation`` (int or None) with ``orientation_name``, ``loaded_width``
    and ``loaded_height`` (after EXIF orientation, what :func:`load_image` returns),
    ``frames``, ``bytes`` (file size, when known).  Raises ``ImageError`` like
    :func:`load_image` for bad files.
    """
    if isinstance(src, Image.Image):
        what, im, own = "PIL image", src, False
    else:
        what = _describe_src(src)
        im, own = _open_pil(src, max_pixels, what), True
    try:
        _decode(im, what)
        w, h = im.size
        _check_pixels(h, w, what)
        o = _orientation(im)
        mode = im.mode
        has_alpha = "A" in mode or mode in ("RGBa", "La") or "transparency" in im.info
        swap = o in (5, 6, 7, 8)
        info = {
            "format": im.format or "unknown",
            "width": w,
            "height": h,
            "mode": mode,
            "alpha": bool(has_alpha),
            "exif_orientation": o,
            "orientation_name": _ORIENTATION_NAMES.get(o, "none") if o is not None else "none",
            "loaded_width": h if swap else w,
            "loaded_height": w if swap else h,
            "frames": int(getattr(im, "n_frames", 1) or 1),
        }
        if isinstance(src, (str, os.PathLike)):
            info["bytes"] = Path(os.fspath(src)).stat().st_size
        elif isinstance(src, (bytes, bytearray, memoryview)):
            info["bytes"] = len(src)
        return info
    finally:
        if own:
            im.close()


def _image_for_save(array):
    """-> uint8 HxWxC with C in (1, 3, 4)."""
    if isinstance(array, Image.Image):
        rgb, alpha = _pil_parts(_decode(array, "PIL image"), "PIL image")
        a = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=-1)
    else:
        a = _to_numpy(array)
        if a is None:
            raise ImageError(
                f"save_image expects a NumPy array, tensor or PIL image, got {type(array).__name__}."
            )
        a = np.asarray(a)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        hint = (
            " It looks channels-first; use np.transpose(x, (1, 2, 0))."
            if a.ndim == 3 and a.shape[0] in (1, 3, 4)
            else ""
        )
        raise ImageError(
            f"Cannot save an array of shape {a.shape}; expected HxW, HxWx1, HxWx3 or HxWx4 "
            f"(or a batch of 1 of those).{hint}"
        )
    _check_pixels(a.shape[0], a.shape[1], "image to save")
    return _to_uint8(a, "image to save")


def _to_uint8(a, what):
    dt = a.dtype
    if dt == np.uint8:
        return np.ascontiguousarray(a)
    if dt == np.bool_:
        return a.astype(np.uint8) * 255
    if dt == np.uint16:
        return np.round(a.astype(np.float32) / 257.0).astype(np.uint8)
    if np.issubdtype(dt, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        raise ImageError(
            f"{what} has dtype {dt} with values in [{lo}, {hi}]; pass uint8 (0..255), uint16 "
            "or float in [0, 1]."
        )
    if np.issubdtype(dt, np.floating):
        if not np.all(np.isfinite(a)):
            n_bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise ImageError(
                f"{what} contains {n_bad} NaN or Inf value(s); nothing was written. "
                "Fix the computation or use np.nan_to_num first."
            )
        f = a.astype(np.float32)
        lo, hi = float(f.min()), float(f.max())
        if hi > 1.0 + FLOAT_RANGE_TOLERANCE or lo < -FLOAT_RANGE_TOLERANCE:
            warnings.warn(
                f"{what}: float values in [{lo:.4g}, {hi:.4g}] were clipped to [0, 1]; float "
                "images are expected in [0, 1] (divide 0..255 data by 255).",
                stacklevel=4,
            )
        return np.round(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ImageError(
        f"{what} has unsupported dtype {dt}; pass uint8 (0..255), uint16, bool or float in [0, 1]."
    )


def _current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _exclusive_move(tmp, path):
    """Move the finished ``tmp`` to ``path`` only if ``path`` does not exist, atomically: a hard
    link fails when the name is taken (no check-then-rename window); where links are not
    supported, an exclusive ``O_CREAT | O_EXCL`` placeholder claims the name first."""
    exists = ImageError(
        f"{path} already exists; pass overwrite=True (CLI: --overwrite) or choose another name."
    )
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise exists from None
    except OSError:  # no hard links here (some network / FAT file systems)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            raise exists from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _remove_stale_temp_files(path):
    """Remove ``.<name>.<pid>.*.tmp`` files left by saves to ``path`` whose process is gone."""
    import glob

    pattern = os.path.join(glob.escape(str(path.parent)), f".{glob.escape(path.name)}.*.tmp")
    for stale in glob.glob(pattern):
        rest = os.path.basename(stale)[len(path.name) + 2 :]
        pid = rest.split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that save is still running
        except ProcessLookupError:
            pass
        except OSError:  # alive, owned by someone else
            continue
        try:
            os.unlink(stale)
        except OSError:
            pass


def save_image(array, path, alpha=None, quality=95, overwrite=False):
    """Write an image atomically; returns the ``Path`` written.

    Args:
        array: NumPy array or tensor, HxW, HxWx1, HxWx3 or HxWx4 (RGBA), or a batch of 1;
            float (NaN/Inf rejected, values clipped to [0, 1]), uint8, uint16 or bool.
            A PIL image is accepted too.
        path: output file; the format comes from the extension: ``.png``, ``.jpg`` /
            ``.jpeg``, ``.webp``, ``.tif`` / ``.tiff`` (case-insensitive).
        alpha: optional HxW (or HxWx1) alpha in [0, 1] (float) or uint8, e.g. the one
            returned by ``load_image(..., return_alpha=True)``.  Kept for PNG, WebP and TIFF.
            JPEG has no alpha: it is dropped with a ``UserWarning`` (the colour is written
            as is, not composited), so a stylization can always be saved as ``.jpg``.
        quality: 1..100, JPEG and WebP quality (ignored for PNG and TIFF, which are
            lossless: PNG zlib level 6, TIFF LZW).
        overwrite: replace an existing file; without it an existing file is an error.

    The image is written to a temporary file in the destination folder and moved into
    place with ``os.replace``; on any failure the temporary file is removed and nothing
    is left behind.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path must be a str or os.PathLike, got {type(path).__name__}.")
    path = Path(os.fspath(path)).expanduser()
    ext = path.suffix.lower()
    fmt = SAVE_FORMATS.get(ext)
    if fmt is None:
        supported = ", ".join(SAVE_FORMATS)
        got = f"extension {ext!r}" if ext else "no extension"
        raise ImageError(
            f"Cannot save {path}: {got} is not a supported image format. Use one of: {supported}."
        )
    if fmt == "WEBP":
        from PIL import features

        if not features.check("webp"):
            raise ImageError("This Pillow build cannot write WebP; save as .png instead.")
    if (
        isinstance(quality, bool)
        or not isinstance(quality, (int, np.integer))
        or not 1 <= quality <= 100
    ):
        raise ConfigError(f"quality must be an int in 1..100, got {quality!r}.")
    if path.is_dir():
        raise ImageError(
            f"Cannot save to {path}: it is a directory. Give a file name, e.g. {path / 'out.png'}."
        )
    parent = path.parent
    if not parent.is_dir():
        raise ImageError(
            f"Cannot save {path}: the folder {parent} does not exist. Create it first "
            f"(e.g. mkdir -p {parent})."
        )
    if path.exists() and not overwrite:
        raise ImageError(
            f"{path} already exists; pass overwrite=True (CLI: --overwrite) or choose another name."
        )

    data = _image_for_save(array)
    if alpha is not None:
        if data.shape[-1] == 4:
            raise ImageError(
                "Got both a 4-channel (RGBA) image and alpha=...; pass the alpha channel only once."
            )
        a = _to_numpy(alpha)
        if a is None:
            raise ImageError(f"alpha must be an array or tensor, got {type(alpha).__name__}.")
        a = np.asarray(a)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim == 4 and a.shape[0] == 1 and a.shape[-1] == 1:
            a = a[0, ..., 0]
        if a.shape != data.shape[:2]:
            raise ImageError(
                f"alpha has shape {a.shape} but the image is {data.shape[0]}x{data.shape[1]}; "
                "alpha must be HxW (or HxWx1) with the image's height and width."
            )
        a = _to_uint8(a, "alpha")
        data = np.concatenate([data, a[..., None]], axis=-1)  # RGB -> RGBA, gray -> LA
    has_alpha = data.shape[-1] in (2, 4)
    if has_alpha and fmt not in _ALPHA_FORMATS:
        warnings.warn(
            f"{path.name}: JPEG has no alpha channel; the alpha was dropped. Save as .png, "
            ".webp or .tiff to keep it.",
            stacklevel=2,
        )
        data, has_alpha = data[..., :-1], False
    if data.shape[-1] == 1:
        data = data[..., 0]
    img = Image.fromarray(np.ascontiguousarray(data))
    if fmt == "WEBP" and img.mode in ("L", "LA"):
        img = img.convert("RGBA" if img.mode == "LA" else "RGB")

    options = {}
    if fmt == "JPEG":
        options = {"quality": int(quality)}
    elif fmt == "WEBP":
        options = {"quality": int(quality), "method": 4}
    elif fmt == "TIFF":
        options = {"compression": "tiff_lzw"}

    _remove_stale_temp_files(path)
    try:
        # the pid in the name lets a later save remove it if this process is killed
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise ImageError(
            f"Cannot write into the folder {parent} ({e.strerror or e}); check its permissions."
        ) from e
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt, **options)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())
        if overwrite:
            os.replace(tmp, path)
        else:
            _exclusive_move(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ImageError(f"Could not write {path}: {e.strerror or _short(e)}.") from e
        raise
    return path


def preserve_color(stylized, content):
    """Keep ``content``'s colours: the luminance (Y of YIQ) of ``stylized`` with the chroma
    (I, Q) of ``content`` (Gatys et al. 2016, "Preserving color in neural artistic style
    transfer"; neural-style ``-original_colors 1`` uses YUV). Both HxWx3 (or NHWC) in [0, 1]
    of the same size; returns NumPy float32 clipped to [0, 1]."""
    from keras import ops

    from keras_style.losses.functional import rgb_to_yiq, yiq_to_rgb

    s = rgb_to_yiq(ops.convert_to_tensor(np.asarray(stylized, np.float32)))
    c = rgb_to_yiq(ops.convert_to_tensor(np.asarray(content, np.float32)))
    yiq = ops.concatenate([s[..., :1], c[..., 1:]], axis=-1)
    return np.clip(np.asarray(ops.convert_to_numpy(yiq_to_rgb(yiq)), np.float32), 0.0, 1.0)


def read_rgb(image, what="image", size=None, max_size=None):
    """The one way a method reads an image argument: `load_image` (paths, bytes, PIL, NumPy
    HxW / HxWx1 / HxWx3 / HxWx4, tensors; grayscale repeated, alpha dropped, EXIF applied), as
    float32 NumPy HxWx3 in [0, 1], with errors that name the argument (``what``: "content
    image", "style 1", ...). ``size`` / ``max_size`` as in `load_image`."""
    if isinstance(image, (str, os.PathLike)) and not os.path.isfile(os.fspath(image)):
        raise ImageError(f"The {what} {image} does not exist.")
    try:
        arr = load_image(image, size=size, max_size=max_size)
    except ImageError as e:
        raise ImageError(f"{what}: {e}") from None
    except Exception as e:
        raise ImageError(f"Could not read the {what} {image!r}: {e}") from e
    if not isinstance(arr, np.ndarray):  # a tensor in, a tensor out of load_image
        from keras import ops

        arr = ops.convert_to_numpy(arr)
    arr = np.asarray(arr, np.float32)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ImageError(f"The {what} must be an RGB image (H, W, 3); got shape {arr.shape}.")
    return arr
