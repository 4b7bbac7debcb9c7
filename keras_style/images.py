"""Image I/O (placeholder being replaced by the full implementation)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def load_image(src, size=None, max_size=None, return_alpha=False):
    img = Image.open(src).convert("RGB")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return (arr, None) if return_alpha else arr


def save_image(array, path, alpha=None, quality=95, overwrite=False):
    arr = np.clip(np.asarray(array, dtype=np.float32), 0, 1)
    Image.fromarray((arr * 255 + 0.5).astype(np.uint8)).save(path, quality=quality)
    return path
