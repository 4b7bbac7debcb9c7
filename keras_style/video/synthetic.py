"""Synthetic clips with known motion, for tests, examples and measuring stabilisers."""

from __future__ import annotations

import numpy as np

from keras_style.errors import ConfigError


def pan_clip(image, num_frames: int = 8, size=(64, 64), shift=(2, 1), start=(0, 0), zoom: float = 0.0):
    """Frames cut from ``image`` by a window moving ``shift`` = (dx, dy) pixels per frame.

    With ``zoom`` > 0 the window also grows by that fraction per frame (then resized to
    ``size``), giving non-uniform motion. Returns ``(frames, flows)`` where ``flows[t-1]``
    is the exact current->previous flow of frame t (only for pure pans; ``None`` when
    zooming).
    """
    from keras_style.images import load_image, resize_image

    img = load_image(image)
    h, w = size
    dx, dy = shift
    x0, y0 = start
    frames, flows = [], []
    prev = None
    for t in range(num_frames):
        s = (1.0 + zoom) ** t
        ch, cw = int(round(h * s)), int(round(w * s))
        top, left = int(y0 + t * dy), int(x0 + t * dx)
        if top < 0 or left < 0 or top + ch > img.shape[0] or left + cw > img.shape[1]:
            raise ConfigError(
                f"The window leaves the {img.shape[1]}x{img.shape[0]} image at frame {t}; "
                "use a larger image, a smaller size, fewer frames or a smaller shift."
            )
        crop = img[top : top + ch, left : left + cw]
        frames.append(crop if (ch, cw) == (h, w) else resize_image(crop, shape=(h, w)))
        if t and not zoom:
            # the window moves by whole pixels: the exact flow is the difference of the
            # rounded offsets (not ``shift`` itself when it is fractional)
            step = np.array([left - prev[0], top - prev[1]], np.float32)
            flows.append(np.broadcast_to(step, (h, w, 2)).copy())
        prev = (left, top)
    return frames, (flows if not zoom else None)


def exact_pan_masks(flows):
    """Masks that are 1 where x + flow(x) stays inside the frame (for exact pan flows)."""
    out = []
    for f in flows:
        h, w = f.shape[:2]
        gx, gy = np.meshgrid(np.arange(w), np.arange(h))
        tx, ty = gx + f[..., 0], gy + f[..., 1]
        out.append(((tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)).astype(np.float32))
    return out


__all__ = ["pan_clip", "exact_pan_masks"]
