"""Dense optical flow, backward warping and the forward-backward consistency check.

Conventions: a flow is an HxWx2 float32 array of (dx, dy) pixel offsets.
``flow(a, b)`` gives, for every pixel x of ``a``, where it is in ``b``: a(x) ~ b(x + f(x)).
So the flow from the *current* frame to the *previous* one warps the previous frame (or
the previous stylized output) into the current frame: ``warp(prev, flow(cur, prev))``.

The certainty mask follows Ruder et al.'s ``consistencyChecker.cpp`` (docs/methods/ruder.md):
with ``w`` the flow being checked and ``w_hat`` the opposite flow sampled at ``x + w(x)``,
a pixel is unreliable (0) when it is disoccluded,
``|w + w_hat|^2 > 0.01 (|w|^2 + |w_hat|^2) + 0.5``, when it lies on a motion boundary,
``|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002``, or when ``x + w(x)`` leaves the image;
otherwise 1.  The mask is then smoothed with a Gaussian (sigma 0.8) as in that code.
"""

from __future__ import annotations

import numpy as np

from keras_style.errors import ConfigError, VideoError

METHODS = ("dis", "farneback")


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover
        raise VideoError(
            'Optical flow needs OpenCV: pip install "keras-style[video]".'
        ) from e
    return cv2


def _gray_u8(img) -> np.ndarray:
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    if a.max() <= 1.0 + 1e-6:
        a = a * 255.0
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def optical_flow(a, b, method: str = "dis", preset: str = "medium") -> np.ndarray:
    """Dense flow from image ``a`` to image ``b`` (HxWx2 float32, pixels).

    ``method="dis"`` (OpenCV's DIS, fast and accurate; ``preset`` ultrafast|fast|medium)
    or ``"farneback"``.
    """
    cv2 = _cv2()
    ga, gb = _gray_u8(a), _gray_u8(b)
    if ga.shape != gb.shape:
        raise VideoError(f"Frames differ in size: {ga.shape} vs {gb.shape}.")
    if method == "dis":
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        if preset not in presets:
            raise ConfigError(f"DIS preset must be one of {sorted(presets)}, got {preset!r}.")
        dis = cv2.DISOpticalFlow_create(presets[preset])
        flow = dis.calc(ga, gb, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 4, 15, 5, 5, 1.1, 0)
    else:
        raise ConfigError(f"Unknown flow method {method!r}; use one of {METHODS}.")
    return flow.astype(np.float32)


def warp(image, flow, fill=None, interpolation: str = "linear") -> np.ndarray:
    """Backward-warp ``image`` with ``flow``: out(x) = image(x + flow(x)), bilinear.

    Pixels sampled outside the image take ``fill`` (a colour or value); by default the
    border is replicated.  ``interpolation``: ``"linear"`` (bilinear, Ruder et al.) or
    ``"cubic"`` (bicubic: blurs less when warped images are warped again, frame after frame).
    """
    if interpolation not in ("linear", "cubic"):
        raise ConfigError(f"interpolation must be 'linear' or 'cubic', got {interpolation!r}.")
    cv2 = _cv2()
    img = np.asarray(image, dtype=np.float32)
    h, w = flow.shape[:2]
    if img.shape[:2] != (h, w):
        raise VideoError(f"Image {img.shape[:2]} and flow {flow.shape[:2]} differ in size.")
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = gx + flow[..., 0]
    map_y = gy + flow[..., 1]
    interp = cv2.INTER_LINEAR if interpolation == "linear" else cv2.INTER_CUBIC
    if fill is None:
        return cv2.remap(img, map_x, map_y, interp, borderMode=cv2.BORDER_REPLICATE)
    val = fill if np.ndim(fill) == 0 else tuple(float(v) for v in np.ravel(fill))
    return cv2.remap(
        img, map_x, map_y, interp, borderMode=cv2.BORDER_CONSTANT, borderValue=val
    )


def consistency_mask(flow, back_flow, smooth_sigma: float = 0.8) -> np.ndarray:
    """Per-pixel certainty in [0, 1] of ``flow`` given the opposite ``back_flow``.

    ``flow`` is, e.g., the current->previous flow used to warp the previous output into
    the current frame, and ``back_flow`` the previous->current flow.  See the module
    docstring for the rule (Ruder et al.).
    """
    cv2 = _cv2()
    flow = np.asarray(flow, np.float32)
    back = np.asarray(back_flow, np.float32)
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    tx, ty = gx + flow[..., 0], gy + flow[..., 1]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    back_at = warp(back, flow)  # back flow sampled at x + w(x)
    s = flow + back_at
    occluded = (s**2).sum(-1) >= 0.01 * ((flow**2).sum(-1) + (back_at**2).sum(-1)) + 0.5
    # motion boundaries: 3-tap central differences of u and v
    du = np.gradient(flow[..., 0])
    dv = np.gradient(flow[..., 1])
    grad2 = du[0] ** 2 + du[1] ** 2 + dv[0] ** 2 + dv[1] ** 2
    boundary = grad2 > 0.01 * (flow**2).sum(-1) + 0.002
    mask = np.where(inside & ~occluded & ~boundary, 1.0, 0.0).astype(np.float32)
    if smooth_sigma:
        mask = cv2.GaussianBlur(mask, (0, 0), smooth_sigma)
        # the smoothing must not leak certainty to pixels warped from outside the image:
        # their warped values are only the replicated border (streaks when fed back)
        mask = mask * inside
    return np.clip(mask, 0.0, 1.0)


def flow_and_mask(current, previous, method: str = "dis"):
    """(flow current->previous, certainty mask) for warping the previous frame's output."""
    f_cp = optical_flow(current, previous, method)
    f_pc = optical_flow(previous, current, method)
    return f_cp, consistency_mask(f_cp, f_pc)


__all__ = ["optical_flow", "warp", "consistency_mask", "flow_and_mask", "METHODS"]
