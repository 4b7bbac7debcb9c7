"""Run an exported ONNX image network with numpy, Pillow and onnxruntime only (no Keras, no TF).

The fast path of ``keras-style stylize photo.jpg --model styles.onnx -o out.png`` (see
``docs/export.md``). The file is one `keras_style.export.export_model` wrote: float32 NHWC
RGB inputs in [0, 1] named ``image`` (plus ``style_weights`` for a multi-style network, or
``content`` and ``style`` for the arbitrary / AdaIN networks) and an output named ``output``.

This module imports nothing from Keras, TensorFlow or the rest of keras_style, so it can be
loaded on its own (``importlib`` from its path) by a start-up hook before the package.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class FastPathError(ValueError):
    """Bad input to the ONNX fast path (the message says what to do)."""


def load_rgb(path, max_size=None):
    """An image file as float32 (H, W, 3) in [0, 1] (EXIF orientation applied, alpha dropped)."""
    from PIL import Image, ImageOps

    p = Path(path)
    if not p.is_file():
        raise FastPathError(f"The image {p} does not exist.")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            if max_size and max(im.size) > max_size:
                # the photo resize of keras_style.images.resize_longer (antialiased Lanczos),
                # repeated here because this module imports nothing of keras_style
                r = max_size / max(im.size)
                im = im.resize((max(1, round(im.width * r)), max(1, round(im.height * r))), Image.LANCZOS)
            return np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise FastPathError(f"Could not read the image {p}: {e}") from e


def save_rgb(array, path, overwrite=False):
    """Save float (H, W, 3) in [0, 1] atomically (temporary name in the folder, then rename)."""
    from PIL import Image

    p = Path(path)
    if p.exists() and not overwrite:
        raise FastPathError(f"{p} exists; pass --overwrite to replace it.")
    if not p.parent.is_dir():
        raise FastPathError(f"The folder {p.parent} does not exist; create it first.")
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}.get(p.suffix.lower())
    if fmt is None:
        raise FastPathError(f"Cannot write {p}: use .png, .jpg, .webp or .bmp.")
    img = Image.fromarray(np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8))
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def session(model_path, threads=None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])


def run_network(sess, image, style=None, style_index=0):
    """The network's output for one (H, W, 3) image, cropped to the input size x its scale."""
    x = image[None].astype(np.float32)
    feeds = {}
    for inp in sess.get_inputs():
        if inp.name in ("image", "content"):
            feeds[inp.name] = x
        elif inp.name == "style":
            if style is None:
                raise FastPathError("This network takes a style image: pass --style IMAGE.")
            feeds[inp.name] = style[None].astype(np.float32)
        elif inp.name == "style_weights":
            n = inp.shape[-1]
            if not isinstance(n, int):
                raise FastPathError("The style_weights input has no fixed number of styles.")
            if not 0 <= int(style_index) < n:
                raise FastPathError(f"--style-index must be in 0-{n - 1}.")
            w = np.zeros((1, n), np.float32)
            w[0, int(style_index)] = 1.0
            feeds[inp.name] = w
        else:
            raise FastPathError(f"Unknown input {inp.name!r}: not a file keras-style export wrote.")
    y = sess.run(["output"], feeds)[0][0]
    h, w = image.shape[:2]
    k = max(1, int(round(y.shape[0] / h)))  # 1 for style networks, the scale for SR
    return y[: k * h, : k * w]


def stylize_file(content, model, output, style=None, style_index=0, overwrite=False, threads=None):
    """Stylize ``content`` with the ONNX file ``model`` and save it to ``output``."""
    if not Path(model).is_file():
        raise FastPathError(f"The model file {model} does not exist.")
    out = Path(output)
    if out.exists() and not overwrite:
        raise FastPathError(f"{out} exists; pass --overwrite to replace it.")
    image = load_rgb(content)
    style_img = load_rgb(style, max_size=256) if style is not None else None
    y = run_network(session(model, threads), image, style_img, style_index)
    return save_rgb(y, out, overwrite=overwrite)


__all__ = ["FastPathError", "load_rgb", "run_network", "save_rgb", "session", "stylize_file"]
