"""Frame-by-frame stylization with an optional flow-based stabiliser, and the warping error.

The stabiliser works with any feed-forward model that has ``stylize(image, ...)``
(Johnson, AdaIN, style-aware): each new stylized frame S_t is blended with the previous
*output* warped into the current frame, where the flow is reliable::

    O_t = a_t * warp(O_{t-1}) + (1 - a_t) * S_t,    a_t = strength * c_t

with c_t the forward-backward consistency mask of the *input* frames' flow (Ruder et
al.'s check, `keras_style.video.flow`).  Disoccluded pixels and motion boundaries get
c_t = 0 and so come straight from the model.  The flicker that remains is reduced by a
factor (1 - strength) in reliable regions (see `warping_error`).
"""

from __future__ import annotations

import time

import numpy as np

from keras_style.errors import ConfigError, VideoError
from keras_style.video.flow import flow_and_mask, warp


def _fit(out, h, w):
    """Crop (or, if a model returned less, resize) an output back to the input size."""
    out = np.asarray(out, dtype=np.float32)
    if out.ndim == 4:
        out = out[0]
    if out.shape[0] >= h and out.shape[1] >= w:
        return out[:h, :w, :3]
    from keras_style.images import resize_to

    return resize_to(out[..., :3], (h, w))


def stylize(
    frames,
    model,
    style=None,
    *,
    stabilize: bool = False,
    strength: float = 0.7,
    flow_method: str = "dis",
    verbose: int = 1,
    total: int | None = None,
    stylize_options: dict | None = None,
    **stylize_kwargs,
):
    """Stylize a sequence of frames lazily (a generator of HxWx3 float32 frames).

    Args:
        frames: an iterable of frames (e.g. `keras_style.video.read(path)`).
        model: a feed-forward model with ``stylize(image, [style,] **kwargs)``.
        style: for arbitrary-style models (AdaIN): the style image(s). Encoded once when
            the model has ``encode_style``.
        stabilize: blend each frame with the warped previous output (see module doc).
        strength: in [0, 1), how much of the warped previous output to keep where the
            flow is reliable. 0 = plain frame-by-frame.
        flow_method: ``"dis"`` or ``"farneback"`` (OpenCV).
        verbose: progress bar with frames per second.
        stylize_options: a dict of options for ``model.stylize`` whose names clash with
            this function's (e.g. Johnson's ``strength``, its blend with the input).
        **stylize_kwargs: passed to ``model.stylize`` (e.g. ``alpha``, ``tile``).
    """
    stylize_kwargs = {**(stylize_options or {}), **stylize_kwargs}
    if not hasattr(model, "stylize"):
        raise ConfigError(f"{type(model).__name__} has no stylize(); pass a keras_style model.")
    if not 0.0 <= strength < 1.0:
        raise ConfigError(f"strength must be in [0, 1), got {strength}.")
    if total is None:
        total = getattr(frames, "num_frames", None)
    if style is not None and hasattr(model, "encode_style"):
        style = model.encode_style(style)
    bar = None
    if verbose:
        import keras

        bar = keras.utils.Progbar(total, unit_name="frame", stateful_metrics=["fps"])
    t0 = time.perf_counter()
    prev_in = prev_out = None
    n = 0
    for frame in frames:
        frame = np.asarray(frame, dtype=np.float32)
        h, w = frame.shape[:2]
        args = (frame,) if style is None else (frame, style)
        styled = _fit(model.stylize(*args, **stylize_kwargs), h, w)
        if stabilize and prev_out is not None:
            if prev_in.shape != frame.shape:
                raise VideoError(f"Frame {n + 1} changes size: {prev_in.shape} -> {frame.shape}.")
            flow, mask = flow_and_mask(frame, prev_in, flow_method)
            a = (strength * mask)[..., None]
            out = a * warp(prev_out, flow) + (1.0 - a) * styled
        else:
            out = styled
        prev_in, prev_out = frame, out
        n += 1
        if bar is not None:
            bar.update(n, values=[("fps", n / max(time.perf_counter() - t0, 1e-9))])
        yield out
    if n == 0:
        raise VideoError("The video has no frames.")


def warping_error(outputs, frames=None, *, flows=None, masks=None, flow_method: str = "dis"):
    """Certainty-masked mean |O_t - warp(O_{t-1})| over a clip (lower = more stable).

    Either give the input ``frames`` (flows and masks are estimated from them, so the
    metric does not depend on the stylization) or the true ``flows`` (current->previous,
    one per frame after the first) and optionally ``masks`` (default: 1 where
    ``x + flow(x)`` lies inside the previous frame, 0 elsewhere).
    Returns the mean over frames 1..T-1 of the masked mean absolute difference.
    """
    outputs = [np.asarray(o, np.float32) for o in outputs]
    if len(outputs) < 2:
        raise ConfigError("warping_error needs at least 2 frames.")
    if flows is None:
        if frames is None:
            raise ConfigError("Give the input frames or the flows.")
        frames = [np.asarray(f, np.float32) for f in frames]
        if len(frames) != len(outputs):
            raise ConfigError(f"{len(frames)} frames but {len(outputs)} outputs.")
    if flows is not None:
        flows = list(flows)
        if len(flows) != len(outputs) - 1:
            raise ConfigError(f"{len(outputs)} outputs need {len(outputs) - 1} flows, got {len(flows)}.")
        if masks is not None:
            masks = list(masks)
            if len(masks) != len(flows):
                raise ConfigError(f"{len(flows)} flows but {len(masks)} masks.")
    errs = []
    for t in range(1, len(outputs)):
        if flows is not None:
            flow = np.asarray(flows[t - 1], np.float32)
            if masks is None:
                from keras_style.video.synthetic import exact_pan_masks

                mask = exact_pan_masks([flow])[0]
            else:
                mask = np.asarray(masks[t - 1], np.float32)
        else:
            flow, mask = flow_and_mask(frames[t], frames[t - 1], flow_method)
        diff = np.abs(outputs[t] - warp(outputs[t - 1], flow)).mean(-1)
        errs.append(float((diff * mask).sum() / max(mask.sum(), 1e-6)))
    return float(np.mean(errs))


__all__ = ["stylize", "warping_error"]
