"""Ruder, Dosovitskiy & Brox (GCPR 2016): artistic style transfer for videos.

Gatys et al.'s optimisation (`keras_style.methods.gatys`) run frame by frame, with two
changes for frame t > 1 (docs/methods/ruder.md, "Single-pass algorithm"):

1. **Initialisation** from the previous *stylized* frame warped into the current frame
   by the optical flow (``prevWarped``).
2. **A short-term temporal loss** in pixel space, added to Gatys' objective through its
   ``pixel_targets`` hook::

       temporal_weight * (1 / 3HW) * sum_k c_k (x_k - warp(O_{t-1})_k)^2

   with ``c`` the forward-backward consistency mask of the *input* frames' flow
   (`keras_style.video.flow.flow_and_mask`, Ruder's ``consistencyChecker``),
   broadcast over the three channels.  Disoccluded and motion-boundary pixels have
   ``c = 0`` and are free to take the style.

Optionally **long-term consistency**: with ``long_term=(1, 2, 4)`` one such term per
earlier frame t - j, each with its own flow and mask, the masks combined with Ruder's
``closestFirst`` rule so that each pixel is held only by the closest frame that sees it
reliably: ``c_j <- max(c_j - sum_{k closer than j} c_k, 0)``.

**Multi-pass** (`stylize_video_multipass`, or ``stylize_video(..., passes=15)``; Ruder et
al. IJCV 2018 §5.3 / ``artistic_video_multiPass.lua``): all frames are stylized once from
noise, then the sequence is swept alternately forwards and backwards; each frame starts
from its previous result blended with the warped result of the neighbour processed just
before it, weighted by that flow's certainty mask, and after a few passes the temporal
loss towards that neighbour is added. Information then travels both ways through the
clip, so the first frames are not special (no start-up) and long-term consistency
improves.

Units.  ``temporal_weight`` is given in Ruder et al.'s units (default 1e3, their
``-temporal_weight``): it multiplies an MSE of Caffe-range images (0-255) next to a
content weight of 5.  Our images are in [0, 1], so the weight that reaches Gatys'
objective is ``temporal_weight * 255**2 * content_weight / 5`` (`gatys_temporal_weight`):
the 255**2 converts the units, the ``content_weight / 5`` keeps Ruder's balance between
the temporal and the content term when the content weight in use is not neural-style's 5
(e.g. Gatys' defaults for ``weights="vgg16_hed_bsds500"``).  Gatys' content and style
terms are computed on the backbone's features as in neural-style and need no conversion.

```python
import keras_style as ks
from keras_style.video.ruder import stylize_video
frames = ks.video.read("clip.mp4")
styled = stylize_video(frames, "starry.jpg", build={"weights": "vgg16_hed_bsds500"},
                       steps_first=300, steps_later=100)
ks.video.write(styled, "styled.mp4", like="clip.mp4")
```
"""

from __future__ import annotations

import collections
import math
import os
import time

import numpy as np

from keras_style.errors import ConfigError, VideoError
from keras_style.video.flow import flow_and_mask, warp

# Ruder et al. `-temporal_weight 1e3` (artistic_video.lua), in their units
# (0-255 images, content weight 5); see `gatys_temporal_weight` for the conversion.
DEFAULT_TEMPORAL_WEIGHT = 1e3
# neural-style / Ruder `-content_weight 5`: the reference of the ratio.
RUDER_CONTENT_WEIGHT = 5.0
# Ruder et al. `-num_iterations 2000,1000` (first frame, later frames).
DEFAULT_STEPS_FIRST = 2000
DEFAULT_STEPS_LATER = 1000
# Ruder et al. stop rule: relative loss change over `-tol_loss_relative_interval 50`
# iterations below `-tol_loss_relative 1e-4` (artistic_video.lua).
DEFAULT_TOL = 1e-4
DEFAULT_TOL_INTERVAL = 50
# Ruder et al. `-init random,prevWarped`; Gatys' "noise".
DEFAULT_INIT_FIRST = "noise"
# Ruder et al. warp with bilinear sampling (image.warp). Each output is warped again into
# the next frame, so the bilinear blur compounds; with few L-BFGS steps per frame the style
# loss cannot restore it: on an 8-frame 160x120 pan-and-zoom with 40/10 steps (HED VGG16)
# the mean |Laplacian| of the outputs fell from 0.101 to 0.042 with bilinear warps, and
# stayed at 0.094 with bicubic ones (per-frame Gatys: 0.099).
# Bicubic sampling blurs less. "linear" gives Ruder's behaviour.
DEFAULT_INTERPOLATION = "cubic"
# Ruder et al. `-flow_relative_indices 1` (short-term only).
DEFAULT_LONG_TERM = (1,)
# The VGG mean colour (Caffe BGR 103.939, 116.779, 123.68) as RGB in [0, 1]: Ruder fills
# pixels warped from outside the image with it (prevWarped).
VGG_MEAN_RGB = np.array([123.68, 116.779, 103.939], np.float32) / 255.0

# Multi-pass defaults: artistic_video_multiPass.lua (manuelruder/artistic-videos) options
# -num_passes 15, -num_iterations 100 (per pass), -use_temporalLoss_after 8,
# -temporal_weight 5e2, -blendWeight 1.0, -blendWeight_lastPass 0.0, -init random,
# -tol_loss_relative 0 (no early stop); section 5.3 of the paper (Ruder et al., IJCV 2018); docs/methods/ruder.md.
DEFAULT_PASSES = 15
DEFAULT_STEPS_PER_PASS = 100
DEFAULT_TEMPORAL_AFTER = 8
DEFAULT_MULTIPASS_TEMPORAL_WEIGHT = 5e2
DEFAULT_BLEND_WEIGHT = 1.0
DEFAULT_BLEND_WEIGHT_LAST_PASS = 0.0

_OWN_OPTIONS = ("init", "steps", "size", "scales", "pixel_targets", "verbose")


class RelativeTolerance:
    """Ruder et al.'s L-BFGS stop rule as a Gatys callback: stop when
    ``|loss_k - loss_{k - interval}| / |loss_k| < tol``."""

    def __init__(self, tol=DEFAULT_TOL, interval=DEFAULT_TOL_INTERVAL):
        self.tol = float(tol)
        self.interval = int(interval)
        self.losses = []
        self.stopped_at = None

    def __call__(self, step, image, logs):
        self.losses.append(float(logs["loss"]))
        if self.tol <= 0 or len(self.losses) <= self.interval:
            return False
        now, before = self.losses[-1], self.losses[-1 - self.interval]
        if abs(now - before) / max(abs(now), 1e-12) < self.tol:
            self.stopped_at = step
            return True
        return False


def closest_first(masks):
    """Ruder's ``closestFirst`` combination of certainty masks ordered closest first:
    ``c_j <- max(c_j - sum_{k < j} c_k, 0)`` (artistic_video.lua ``closestFirst``)."""
    out, acc = [], None
    for m in masks:
        m = np.asarray(m, np.float32)
        c = m if acc is None else np.maximum(m - acc, 0.0)
        out.append(c)
        acc = m.copy() if acc is None else acc + m
    return out


def warped_init(prev_out, flow, mask, frame, fill="content", interpolation="linear"):
    """The ``prevWarped`` initialisation of a later frame.

    ``prev_out`` (the previous stylized frame) is warped into the current frame by
    ``flow`` (current -> previous).  ``fill`` says what uncertain pixels get:

    - ``"content"`` (default): ``c * warped + (1 - c) * frame`` with ``c`` the certainty
      ``mask``: disoccluded pixels, motion boundaries and pixels warped from outside the
      image start from the current *content* frame (they then take the style like a
      Gatys run initialised with the content, which needs far fewer steps);
    - ``"mean"`` (Ruder et al.): pixels warped from outside the image get the VGG mean
      colour, the rest the warped value (also where the mask is low).
    """
    if fill == "content":
        warped = np.clip(warp(prev_out, flow, interpolation=interpolation), 0.0, 1.0)
        c = np.asarray(mask, np.float32)[..., None]
        return (c * warped + (1.0 - c) * np.asarray(frame, np.float32)).astype(np.float32)
    if fill == "mean":
        out = warp(prev_out, flow, fill=VGG_MEAN_RGB, interpolation=interpolation)
        return np.clip(out, 0.0, 1.0).astype(np.float32)
    raise ConfigError(f"fill must be 'content' or 'mean', got {fill!r}.")


def gatys_temporal_weight(temporal_weight, model=None, content_weight=None):
    """Ruder-unit ``temporal_weight`` -> the weight of Gatys' ``pixel_targets`` term.

    ``temporal_weight * 255**2 * content_weight / 5``, with ``content_weight`` the one the
    Gatys call will use (given, else ``model.default_options()``, else 5).
    """
    if content_weight is None:
        defaults = getattr(model, "default_options", None)
        content_weight = defaults().get("content_weight") if callable(defaults) else None
    if content_weight is None:
        content_weight = RUDER_CONTENT_WEIGHT
    return float(temporal_weight) * 255.0**2 * float(content_weight) / RUDER_CONTENT_WEIGHT


def _check_positive_int(v, name):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
    return int(v)


def stylize_video(
    frames,
    style,
    *,
    model=None,
    build=None,
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT,
    steps_first: int = DEFAULT_STEPS_FIRST,
    steps_later: int = DEFAULT_STEPS_LATER,
    init_first=DEFAULT_INIT_FIRST,
    fill: str = "content",
    long_term=DEFAULT_LONG_TERM,
    tol: float = DEFAULT_TOL,
    tol_interval: int = DEFAULT_TOL_INTERVAL,
    flow_method: str = "dis",
    flow_fn=None,
    interpolation: str = DEFAULT_INTERPOLATION,
    seed=None,
    verbose: int = 1,
    total: int | None = None,
    passes: int | None = None,
    **gatys_options,
):
    """Ruder et al. video style transfer; a lazy generator of HxWx3 float32 frames.

    ``passes=None`` (default) runs the single-pass algorithm below. ``passes=n`` runs
    the multi-pass algorithm instead (`stylize_video_multipass`, whose defaults are the
    paper's: 15 passes of 100 steps; it needs every frame in memory and returns a list);
    the arguments it shares with this function are passed on, except ``temporal_weight``
    and the step counts, which keep `stylize_video_multipass`'s defaults unless given
    there directly.

    Args:
        frames: an iterable of HxWx3 frames in [0, 1] (e.g. `keras_style.video.read`).
            Only the last ``max(long_term)`` frames and outputs are kept in memory.
        style: the style image (anything `Gatys.stylize` accepts; a list blends styles).
        model: a `Gatys` instance; by default ``keras_style.get("gatys", **build)``.
        build: keyword arguments for building the Gatys model (e.g.
            ``{"weights": "vgg16_hed_bsds500"}``).
        temporal_weight: weight of the temporal loss in Ruder et al.'s units (default
            1e3, theirs); converted to ours by `gatys_temporal_weight` (x 255**2 x
            content_weight / 5). 0 keeps only the warped initialisation.
        steps_first, steps_later: L-BFGS iterations for the first and the later frames
            (Ruder: 2000 and 1000, with the early stop rule ``tol``/``tol_interval``).
        init_first: ``"noise"`` (Ruder's ``random``, default), ``"content"`` (converges
            in far fewer steps) or an image.
        fill: what the warped initialisation puts where the flow is uncertain:
            ``"content"`` (the current frame, blended by the certainty mask; default) or
            ``"mean"`` (Ruder: VGG mean colour outside the image). See `warped_init`.
        long_term: frame offsets J of the temporal terms, e.g. ``(1, 2, 4)``; ``(1,)`` is
            the short-term loss only. Masks are combined closest first.
        tol, tol_interval: Ruder's stop rule (stop when the loss changed by less than
            ``tol`` relatively over ``tol_interval`` iterations); ``tol=0`` runs every step.
        flow_method: ``"dis"`` or ``"farneback"`` (OpenCV) for the flow between input frames.
        flow_fn: optional ``flow_fn(current, previous) -> (flow current->previous, mask)``
            replacing the estimated flow (e.g. exact flows of a synthetic clip).
        interpolation: how previous outputs are warped: ``"cubic"`` (default) or
            ``"linear"`` (Ruder's bilinear; see `DEFAULT_INTERPOLATION`).
        seed: seeds the first frame's noise.
        verbose: progress bar with frames per second.
        total: number of frames for the progress bar (default: ``len(frames)`` if known).
        **gatys_options: passed to `Gatys.stylize` for every frame (``content_weight``,
            ``style_weight``, ``tv_weight``, layers, ``optimizer``, ``style_scale``...).

    Yields:
        The stylized frames, each the size of its input frame.
    """
    if passes is not None:
        return stylize_video_multipass(
            frames, style, model=model, build=build, passes=passes, flow_method=flow_method,
            flow_fn=flow_fn, interpolation=interpolation, seed=seed, verbose=verbose, **gatys_options,
        )
    bad = [k for k in gatys_options if k in _OWN_OPTIONS]
    if bad:
        raise ConfigError(
            f"stylize_video sets {', '.join(bad)} itself; use steps_first/steps_later, "
            "init_first, or resize the frames first."
        )
    if not isinstance(temporal_weight, (int, float)) or not math.isfinite(temporal_weight) or temporal_weight < 0:
        raise ConfigError(f"temporal_weight must be a finite number >= 0, got {temporal_weight!r}.")
    steps_first = _check_positive_int(steps_first, "steps_first")
    steps_later = _check_positive_int(steps_later, "steps_later")
    if interpolation not in ("linear", "cubic"):
        raise ConfigError(f"interpolation must be 'linear' or 'cubic', got {interpolation!r}.")
    if fill not in ("content", "mean"):
        raise ConfigError(f"fill must be 'content' or 'mean', got {fill!r}.")
    if isinstance(long_term, (int, np.integer)):
        long_term = (long_term,)
    try:
        offsets = sorted({int(j) for j in long_term})
        whole = all(int(j) == j for j in long_term)
    except (TypeError, ValueError):
        offsets, whole = [], False
    if not offsets or offsets[0] < 1 or not whole:
        raise ConfigError(f"long_term must be positive frame offsets such as (1, 2, 4), got {long_term!r}.")
    if 1 not in offsets:
        raise ConfigError(f"long_term must include 1 (the previous frame), got {long_term!r}.")
    if flow_fn is not None and not callable(flow_fn):
        raise ConfigError("flow_fn must be a callable flow_fn(current, previous) -> (flow, mask).")
    if isinstance(init_first, str) and init_first not in ("noise", "content") and not os.path.exists(init_first):
        raise ConfigError(f"init_first must be 'noise', 'content' or an image, got {init_first!r}.")
    if model is None:
        from keras_style.registry import get

        model = get("gatys", **dict(build or {}))
    elif build:
        raise ConfigError("Give either model or build, not both.")
    if not hasattr(model, "stylize"):
        raise ConfigError(f"{type(model).__name__} is not a Gatys model.")
    if temporal_weight > 0:
        import inspect

        if "pixel_targets" not in inspect.signature(model.stylize).parameters:
            raise ConfigError(
                f"{type(model).__name__}.stylize has no pixel_targets argument, needed for the "
                "temporal loss; use keras_style's Gatys model."
            )
    if total is None:
        total = getattr(frames, "num_frames", None)
        if total is None and hasattr(frames, "__len__"):
            total = len(frames)
    pixel_weight = gatys_temporal_weight(temporal_weight, model, gatys_options.get("content_weight"))
    get_flow = flow_fn or (lambda cur, prev: flow_and_mask(cur, prev, flow_method))

    return _generate(
        frames, style, model, pixel_weight, steps_first, steps_later, init_first,
        fill, offsets, float(tol), int(tol_interval), get_flow, seed, verbose, total, gatys_options,
        interpolation,
    )


def _generate(frames, style, model, temporal_weight, steps_first, steps_later, init_first,
              fill, offsets, tol, tol_interval, get_flow, seed, verbose, total, gatys_options,
              interpolation="linear"):
    bar = None
    if verbose:
        import keras

        bar = keras.utils.Progbar(total, unit_name="frame", stateful_metrics=["fps", "steps"])
    keep = max(offsets)
    history = collections.deque(maxlen=keep)  # (frame, output), most recent last
    t0 = time.perf_counter()
    n = 0
    for frame in frames:
        frame = np.asarray(frame, np.float32)
        if frame.ndim != 3 or frame.shape[-1] < 3:
            raise VideoError(f"Frame {n + 1} must be HxWx3, got shape {frame.shape}.")
        frame = frame[..., :3]
        stop = RelativeTolerance(tol, tol_interval)
        options = dict(gatys_options)
        options["callbacks"] = list(options.get("callbacks") or []) + [stop]
        if not history:
            out = model.stylize(
                frame, style, init=init_first, steps=steps_first, seed=seed, verbose=0, **options
            )
            steps = steps_first
        else:
            if history[-1][0].shape != frame.shape:
                raise VideoError(
                    f"Frame {n + 1} changes size: {history[-1][0].shape} -> {frame.shape}."
                )
            warped, masks = [], []
            for j in offsets:
                if j > len(history):
                    break
                prev_in, prev_out = history[-j]
                flow, mask = get_flow(frame, prev_in)
                flow = np.asarray(flow, np.float32)
                mask = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
                if j == 1:
                    init = warped_init(prev_out, flow, mask, frame, fill, interpolation)
                warped.append(np.clip(warp(prev_out, flow, interpolation=interpolation), 0.0, 1.0))
                masks.append(mask)
            pixel_targets = None
            if temporal_weight > 0:
                pixel_targets = [
                    (temporal_weight, w, c) for w, c in zip(warped, closest_first(masks))
                ]
            kw = {"pixel_targets": pixel_targets} if pixel_targets else {}
            out = model.stylize(frame, style, init=init, steps=steps_later, verbose=0, **kw, **options)
            steps = steps_later
        out = np.asarray(out, np.float32)
        if out.shape != frame.shape:  # Gatys keeps the size; guard against rounding
            from keras_style.images import resize_image

            out = resize_image(out, shape=frame.shape[:2])
        history.append((frame, out))
        n += 1
        if bar is not None:
            done = stop.stopped_at if stop.stopped_at is not None else steps
            bar.update(n, values=[("fps", n / max(time.perf_counter() - t0, 1e-9)), ("steps", done)])
        yield out
    if n == 0:
        raise VideoError("The video has no frames.")


def _resolve_model(model, build, needs_hook):
    if model is None:
        from keras_style.registry import get

        model = get("gatys", **dict(build or {}))
    elif build:
        raise ConfigError("Give either model or build, not both.")
    if not hasattr(model, "stylize"):
        raise ConfigError(f"{type(model).__name__} is not a Gatys model.")
    if needs_hook:
        import inspect

        if "pixel_targets" not in inspect.signature(model.stylize).parameters:
            raise ConfigError(
                f"{type(model).__name__}.stylize has no pixel_targets argument, needed for the "
                "temporal loss; use keras_style's Gatys model."
            )
    return model


def stylize_video_multipass(
    frames,
    style,
    *,
    model=None,
    build=None,
    passes: int = DEFAULT_PASSES,
    steps: int = DEFAULT_STEPS_PER_PASS,
    temporal_weight: float = DEFAULT_MULTIPASS_TEMPORAL_WEIGHT,
    temporal_after: int = DEFAULT_TEMPORAL_AFTER,
    blend_weight: float = DEFAULT_BLEND_WEIGHT,
    blend_weight_last_pass: float = DEFAULT_BLEND_WEIGHT_LAST_PASS,
    init="noise",
    flow_method: str = "dis",
    flow_fn=None,
    interpolation: str = DEFAULT_INTERPOLATION,
    seed=None,
    verbose: int = 1,
    **gatys_options,
):
    """Ruder et al.'s multi-pass algorithm (IJCV 2018 §5.3, ``artistic_video_multiPass.lua``).

    Pass 1 stylizes every frame from ``init`` (the same noise image for all frames, as the
    Lua code's ``randImg``). Pass ``r > 1`` runs backwards when ``r`` is even, forwards when
    odd. There frame ``i`` starts from

        (O_i + b_p c_p warp(O_{i-1}) + b_n c_n warp(O_{i+1})) / (1 + b_p c_p + b_n c_n)

    with ``O`` the latest results, ``c_p`` / ``c_n`` the certainty masks of the flows from
    frame i to its previous / next neighbour, ``b_p = blend_weight`` on forward passes and
    ``blend_weight_last_pass`` on backward ones (``b_n`` the other way round): the
    neighbour stylized just before frame i in this pass is blended in, the other one (from
    the previous pass) is not, with the defaults 1 and 0. From pass ``temporal_after`` on,
    the temporal loss towards that same neighbour (warped, masked) is added. Every pass
    runs ``steps`` L-BFGS iterations per frame with no early stop (``-tol_loss_relative 0``).

    Args:
        frames: a sequence of HxWx3 frames in [0, 1] (all are kept in memory).
        style, model, build, flow_method, flow_fn, interpolation, seed, **gatys_options:
            as `stylize_video` (``flow_fn(a, b)`` must give the flow from frame ``a`` to any
            neighbour ``b`` and its mask; it is asked for both neighbours).
        passes: number of passes (15, ``-num_passes``); at least 1.
        steps: L-BFGS iterations per frame and pass (100, ``-num_iterations``).
        temporal_weight: in Ruder's units (5e2, ``-temporal_weight``; converted by
            `gatys_temporal_weight`). 0 keeps only the blending.
        temporal_after: first pass with the temporal loss (8, ``-use_temporalLoss_after``).
        blend_weight, blend_weight_last_pass: 1.0 and 0.0 (``-blendWeight``,
            ``-blendWeight_lastPass``).
        init: ``"noise"`` (``-init random``), ``"content"`` or an image, for pass 1.
        verbose: progress bar over frames x passes.

    Returns:
        The list of stylized frames (float32 HxWx3).
    """
    passes = _check_positive_int(passes, "passes")
    steps = _check_positive_int(steps, "steps")
    temporal_after = _check_positive_int(temporal_after, "temporal_after")
    for name, v in (("temporal_weight", temporal_weight), ("blend_weight", blend_weight),
                    ("blend_weight_last_pass", blend_weight_last_pass)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}.")
    if interpolation not in ("linear", "cubic"):
        raise ConfigError(f"interpolation must be 'linear' or 'cubic', got {interpolation!r}.")
    if flow_fn is not None and not callable(flow_fn):
        raise ConfigError("flow_fn must be a callable flow_fn(current, neighbour) -> (flow, mask).")
    if isinstance(init, str) and init not in ("noise", "content") and not os.path.exists(init):
        raise ConfigError(f"init must be 'noise', 'content' or an image, got {init!r}.")
    bad = [k for k in gatys_options if k in _OWN_OPTIONS + ("callbacks",)]
    if bad:
        raise ConfigError(f"stylize_video_multipass sets {', '.join(bad)} itself; use steps / init.")
    model = _resolve_model(model, build, temporal_weight > 0 and passes >= temporal_after)
    frames = [np.asarray(f, np.float32)[..., :3] for f in frames]
    if not frames:
        raise VideoError("The video has no frames.")
    for i, f in enumerate(frames):
        if f.ndim != 3 or f.shape[-1] != 3:
            raise VideoError(f"Frame {i + 1} must be HxWx3, got shape {f.shape}.")
        if f.shape != frames[0].shape:
            raise VideoError(f"Frame {i + 1} changes size: {frames[0].shape} -> {f.shape}.")
    n = len(frames)
    pixel_weight = gatys_temporal_weight(temporal_weight, model, gatys_options.get("content_weight"))
    get_flow = flow_fn or (lambda cur, other: flow_and_mask(cur, other, flow_method))
    # flows (and masks) from frame i to i-1 and to i+1, computed once
    prev_flow = [None] + [get_flow(frames[i], frames[i - 1]) for i in range(1, n)]
    next_flow = [get_flow(frames[i], frames[i + 1]) for i in range(n - 1)] + [None]

    def warped(i, j, fm):
        flow, mask = fm
        w = np.clip(warp(outs[j], np.asarray(flow, np.float32), interpolation=interpolation), 0.0, 1.0)
        return w, np.clip(np.asarray(mask, np.float32), 0.0, 1.0)

    bar = None
    if verbose:
        import keras

        bar = keras.utils.Progbar(n * passes, unit_name="frame", stateful_metrics=["pass"])
    outs = [None] * n
    done = 0
    for run in range(1, passes + 1):
        forward = run % 2 == 1
        order = range(n) if forward else range(n - 1, -1, -1)
        for i in order:
            prev = warped(i, i - 1, prev_flow[i]) if i > 0 and outs[i - 1] is not None else None
            nxt = warped(i, i + 1, next_flow[i]) if run > 1 and i < n - 1 else None
            if run == 1:
                start = init
            else:
                num = outs[i].astype(np.float32).copy()
                den = np.ones(outs[i].shape[:2], np.float32)
                for nb, bw in ((prev, blend_weight if forward else blend_weight_last_pass),
                               (nxt, blend_weight_last_pass if forward else blend_weight)):
                    if nb is not None and bw > 0:
                        img, c = nb
                        num += (bw * c)[..., None] * img
                        den += bw * c
                start = (num / den[..., None]).astype(np.float32)
            towards = prev if forward else nxt
            kw = {}
            if run >= temporal_after and towards is not None and pixel_weight > 0:
                kw["pixel_targets"] = [(pixel_weight, towards[0], towards[1])]
            out = model.stylize(frames[i], style, init=start, steps=steps, seed=seed, verbose=0,
                                **kw, **gatys_options)
            outs[i] = np.asarray(out, np.float32)
            done += 1
            if bar is not None:
                bar.update(done, values=[("pass", run)])
    return outs


def long_term_warping_error(outputs, flow_fn, min_gap: int = 2):
    """Certainty-masked mean |O_i - warp(O_j)| over all frame pairs ``|i - j| >= min_gap``.

    ``flow_fn(a, b)`` gives the flow from frame index ``a`` to ``b`` and its mask (e.g. the
    exact flow of a synthetic pan). The short-term `keras_style.video.warping_error` looks at
    neighbours only; this one at frames further apart, where a single forward pass lets
    errors accumulate.
    """
    outputs = [np.asarray(o, np.float32) for o in outputs]
    errs = []
    for i in range(len(outputs)):
        for j in range(len(outputs)):
            if abs(i - j) < min_gap:
                continue
            flow, mask = flow_fn(i, j)
            diff = np.abs(outputs[i] - warp(outputs[j], np.asarray(flow, np.float32))).mean(-1)
            mask = np.asarray(mask, np.float32)
            errs.append(float((diff * mask).sum() / max(mask.sum(), 1e-6)))
    if not errs:
        raise ConfigError(f"long_term_warping_error needs more than {min_gap} frames.")
    return float(np.mean(errs))


__all__ = [
    "stylize_video_multipass",
    "long_term_warping_error",
    "stylize_video",
    "warped_init",
    "closest_first",
    "RelativeTolerance",
    "DEFAULT_TEMPORAL_WEIGHT",
    "gatys_temporal_weight",
]
