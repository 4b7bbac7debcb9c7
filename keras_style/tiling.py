"""Tiled inference for feed-forward image models, with whole-image instance-norm statistics.

Feed-forward stylization networks (Johnson et al., AdaIN decoders, ...) are fully
convolutional, so a large image can be processed in tiles to bound memory. Naive tiling
has two problems, both handled here:

1. **Seams.** Each output tile ("core", ``tile`` px) is computed from an input crop that
   extends ``overlap`` px beyond it on every inner side (the context a convolution needs,
   so the core does not see the tile border's padding); neighbouring cores are then
   blended over a narrow feathered band (linear ramps, ``feather`` px on each side).
   When ``overlap`` covers the network's receptive-field radius (about 54 px for
   Johnson's network) the core is exactly the untiled result.
2. **Colour shifts between tiles.** Instance normalisation normalises each tile with its
   own statistics, so tiles of sky and of foliage get different colours (the users' most
   common complaint about tiled fast style transfer). `tiled_apply` computes every
   `InstanceNormalization` layer's statistics over the *whole* image instead: per layer,
   it accumulates sums of x and x^2 over each tile's core (so nothing is counted twice),
   then sets the layer's ``fixed_moments`` to the whole-image moments. A layer's input
   depends on the statistics of the layers before it, so the statistics are gathered
   layer by layer, in network order (``stat_passes=None``, exact): pass k runs each tile
   only up to the k-th normalisation layer (later layers are skipped). Then the final
   pass runs with all statistics fixed. An integer ``stat_passes`` instead runs that many
   full passes, each using the previous pass's statistics (cheaper, approximate).

```python
from keras_style.tiling import tiled_apply
out = tiled_apply(model.transform, image_batch, tile=512, overlap=64)   # NHWC in, NHWC out
```

The model is called eagerly on each crop (``fixed_moments`` is a Python attribute read at
call time). Memory: the full-size input, output and weight accumulators (float32) plus
one crop's activations.
"""

from __future__ import annotations

import math

import numpy as np

from keras_style.errors import ConfigError


def _positions(size, tile):
    """Start offsets of ``tile``-px windows covering ``[0, size)`` (the last one flush right)."""
    if size <= tile:
        return [0]
    pos = list(range(0, size - tile, tile))
    pos.append(size - tile)
    return sorted(set(pos))


def _cores(positions, tile, size):
    """The owned part ``[a, b)`` of each window: overlaps are split at their middle."""
    out = []
    for i, p in enumerate(positions):
        a = 0 if i == 0 else (p + min(positions[i - 1] + tile, size)) // 2
        b = size if i == len(positions) - 1 else (positions[i + 1] + min(p + tile, size)) // 2
        out.append((a, b))
    return out


def _band_weights(lo, hi, a, b, size, feather):
    """Weights over crop rows ``[lo, hi)`` for the core ``[a, b)``: 1 inside, linear ramps of
    ``feather`` px across inner core boundaries (neighbours' weights sum to 1)."""
    y = np.arange(lo, hi, dtype="float32") + 0.5
    w = np.ones(hi - lo, "float32")
    if feather <= 0:
        return ((y >= a) & (y < b)).astype("float32")
    if a > 0:
        w = np.minimum(w, np.clip((y - (a - feather)) / (2 * feather), 0.0, 1.0))
    if b < size:
        w = np.minimum(w, np.clip(((b + feather) - y) / (2 * feather), 0.0, 1.0))
    return w


def instance_norm_layers(model):
    """Every `keras_style.layers.InstanceNormalization` inside ``model``."""
    from keras_style.layers.instance_normalization import InstanceNormalization

    if isinstance(model, InstanceNormalization):
        return [model]
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return []
    try:
        layers = list(flatten(include_self=False, recursive=True))
    except TypeError:  # pragma: no cover - older signature
        layers = list(flatten())
    return [lyr for lyr in layers if isinstance(lyr, InstanceNormalization)]


class _Stop(Exception):
    """Raised inside the forward pass once the target layer's statistics are collected."""


class _StatsCollector:
    """Wraps each IN layer's ``_moments`` to accumulate core-region sums (float64)."""

    def __init__(self, layers):
        self.layers = layers
        self.region = None  # (crop_h, crop_w, (r0, r1), (c0, c1)) core in crop pixels
        self.sums = {}
        self.order = []  # network order, recorded on the first collecting call
        self.stop_at = None
        self.stopped = False
        # per layer, ((sy, oy), (sx, ox)): feature px = o + s * input px, measured by
        # `probe_geometry` on two stride-aligned inputs (None: guessed from each crop)
        self.geometry = {}
        self.probe = None

    def install(self):
        for lyr in self.layers:
            original = lyr._moments

            def wrapped(x, _lyr=lyr, _orig=original):
                self._collect(_lyr, x)
                return _orig(x)

            object.__setattr__(lyr, "_moments", wrapped)

    def uninstall(self):
        for lyr in self.layers:
            if "_moments" in lyr.__dict__:
                object.__delattr__(lyr, "_moments")

    def _collect(self, lyr, x):
        from keras import ops

        if self.region is None:
            return
        if self.region == "probe":
            shape = tuple(x.shape)
            hw = shape[2:4] if lyr.data_format == "channels_first" else shape[1:3]
            self.probe.setdefault(id(lyr), []).append(tuple(int(v) for v in hw))
            return
        if id(lyr) not in [id(o) for o in self.order]:
            self.order.append(lyr)
        ch, cw, (r0, r1), (c0, c1) = self.region[:4]
        # does the core touch the image's top / bottom / left / right edge?
        ends = self.region[4] if len(self.region) > 4 else (False, False, False, False)
        x = ops.convert_to_numpy(ops.cast(x, "float32"))
        if lyr.data_format == "channels_first":
            x = np.transpose(x, (0, 2, 3, 1))
        h, w = x.shape[1], x.shape[2]
        if id(lyr) in self.geometry:
            (sy, oy), (sx, ox) = self.geometry[id(lyr)]
        else:
            # feature scale: the largest power of two <= size ratio; extra rows/columns are
            # symmetric padding (e.g. the paper layout's 40 px reflection pad)
            sy = 2.0 ** math.floor(math.log2(h / ch + 1e-9))
            sx = 2.0 ** math.floor(math.log2(w / cw + 1e-9))
            oy, ox = (h - sy * ch) / 2.0, (w - sx * cw) / 2.0

        def at(o, s, v):  # floor(. + 1/2): the same boundary in two stride-aligned crops
            return int(math.floor(o + v * s + 0.5))

        # a core at an image edge owns everything beyond it: the padding the whole image
        # has there (the paper layout's reflection border) and the extra rows an odd size
        # leaves after rounding up (4 * ceil(h / 4) rows after the upsamplings)
        a = 0 if ends[0] else at(oy, sy, r0)
        b = h if ends[1] else max(at(oy, sy, r1), a + 1)
        c = 0 if ends[2] else at(ox, sx, c0)
        d = w if ends[3] else max(at(ox, sx, c1), c + 1)
        core = x[:, a:b, c:d, :].astype("float64")
        s1 = core.sum(axis=(1, 2))
        s2 = np.square(core).sum(axis=(1, 2))
        n = core.shape[1] * core.shape[2]
        key = id(lyr)
        if key in self.sums:
            t1, t2, tn = self.sums[key]
            self.sums[key] = (t1 + s1, t2 + s2, tn + n)
        else:
            self.sums[key] = (s1, s2, n)
        if self.stop_at is not None and lyr is self.stop_at:
            self.stopped = True
            raise _Stop()

    def probe_geometry(self, fn, channels, align):
        """Measure each layer's map ``feature px = o + s * input px`` from two stride-aligned
        inputs (``A`` and ``2A`` px): exact also for crops whose size is not a multiple of
        the stride (the last one of an odd-sized image). Falls back to guessing per crop."""
        size = align * max(2, -(-64 // align))
        self.region, self.probe = "probe", {}
        try:
            for a in (size, 2 * size):
                _call(fn, np.zeros((1, a, a, channels), "float32"))
        except Exception:  # a network that refuses the probe: keep the per-crop guess
            self.probe = {}
        finally:
            self.region = None
        for lyr in self.layers:
            got = self.probe.get(id(lyr), [])
            if len(got) != 2:
                continue
            (h1, w1), (h2, w2) = got
            sy, sx = (h2 - h1) / size, (w2 - w1) / size
            if sy <= 0 or sx <= 0:
                continue
            self.geometry[id(lyr)] = ((sy, (h1 - sy * size) / 2.0), (sx, (w1 - sx * size) / 2.0))
        self.probe = None

    def moments(self, lyr):
        s1, s2, n = self.sums[id(lyr)]
        mean = s1 / n
        var = np.maximum(s2 / n - np.square(mean), 0.0)
        return mean.astype("float32"), var.astype("float32")


def _call(fn, x):
    from keras import ops

    return ops.convert_to_numpy(ops.cast(fn(x), "float32"))


def tiled_apply(
    fn,
    images,
    tile=512,
    overlap=64,
    whole_image_stats=True,
    stat_passes=None,
    feather=None,
    align=None,
    verbose=0,
    out_size=None,
):
    """Apply a fully convolutional ``fn`` to ``images`` tile by tile.

    Args:
        fn: a Keras model/layer or any callable mapping an NHWC float32 batch to an NHWC
            batch ``s`` times larger (``s = 1`` for style networks, 4 or 8 for
            super-resolution, any positive number). Outputs larger than ``s`` times the
            input (networks that round sizes up) are cropped.
        images: NHWC array (or HWC, returned as HWC).
        tile: output tile ("core") size in input pixels, int or ``(h, w)``.
        overlap: context in input pixels added around each core on inner sides (the
            crop fed to ``fn`` is at most ``tile + 2 * overlap``). Cover the network's
            receptive-field radius for exact results (64 for Johnson's network).
        whole_image_stats: whole-image `InstanceNormalization` statistics (module
            docstring); ``False`` = naive per-crop statistics.
        stat_passes: ``None`` (exact: one pass per normalisation layer, each stopping at
            that layer) or an int (that many full approximate passes).
        feather: width in input px of the linear blend across core boundaries (default
            ``min(16, overlap // 2)``).
        align: crop offsets are multiples of this (the network's total stride, so the
            strided convs sample the same grid as on the whole image); default
            ``fn.stride`` or 1. Any image size: the crops that end at the image's
            bottom/right edge end there, as the whole image does.
        verbose: 1 shows a progress bar.
        out_size: ``(H, W)`` of the output to assemble (default ``s`` x the input size). The
            crops that end at the bottom/right edge fill it up to there, so a network whose
            output overhangs the input (16 x its latent size, say) keeps those rows.

    Returns:
        NumPy float32 NHWC (HWC for HWC input).
    """
    import keras

    x = np.asarray(keras.ops.convert_to_numpy(images), dtype="float32")
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None]
    if x.ndim != 4:
        raise ConfigError(f"tiled_apply expects an NHWC batch or an HWC image, got shape {x.shape}.")
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tuple(int(t) for t in tile)
    if min(tile_h, tile_w) < 1:
        raise ConfigError(f"tile must be positive, got {tile!r}.")
    overlap = int(overlap)
    if overlap < 0:
        raise ConfigError(f"overlap must be >= 0, got {overlap}.")
    align = int(align if align is not None else getattr(fn, "stride", 1) or 1)
    feather = min(16, overlap // 2) if feather is None else int(feather)
    feather = max(0, min(feather, overlap))
    n, h, w, _ = x.shape
    if align > 1:
        tile_h = max(align, tile_h - tile_h % align)
        tile_w = max(align, tile_w - tile_w % align)
    th, tw = min(tile_h, h), min(tile_w, w)

    def span(p, t, size, core):
        lo = max(0, p - overlap)
        lo -= lo % align
        hi = min(size, p + t + overlap)
        if align > 1 and hi < size:
            hi = min(size, hi + (-(hi - lo)) % align)
        return lo, hi, core

    ys = [span(p, th, h, c) for p, c in zip(_positions(h, th), _cores(_positions(h, th), th, h))]
    xs = [span(p, tw, w, c) for p, c in zip(_positions(w, tw), _cores(_positions(w, tw), tw, w))]
    crops = [(yy, xx) for yy in ys for xx in xs]

    in_layers = instance_norm_layers(fn) if whole_image_stats else []
    exact = stat_passes is None
    if in_layers:
        stat_runs = len(in_layers) if exact else int(stat_passes)
    else:
        stat_runs = 0
    bar = keras.utils.Progbar((stat_runs + 1) * len(crops)) if verbose else None

    saved = [lyr.fixed_moments for lyr in in_layers]
    collector = _StatsCollector(in_layers)
    out = weight = None
    scale_y = scale_x = None
    try:
        if in_layers:
            collector.install()
            if stat_runs and len(crops) > 1:
                collector.probe_geometry(fn, x.shape[-1], align)
        for p in range(stat_runs + 1):
            final = p == stat_runs
            collector.sums = {}
            target = None
            if exact and not final and p > 0:
                target = collector.order[p] if p < len(collector.order) else None
            elif exact and not final and len(in_layers) == 1:
                target = in_layers[0]  # one layer: nothing after it is needed in pass 0
                # layers before the target keep the statistics fixed in earlier passes
            collector.stop_at = target
            for (y0, y1, (r0, r1)), (x0, x1, (c0, c1)) in crops:
                patch = x[:, y0:y1, x0:x1, :]
                collector.region = (
                    None
                    if final
                    else (y1 - y0, x1 - x0, (r0 - y0, r1 - y0), (c0 - x0, c1 - x0), (r0 == 0, r1 == h, c0 == 0, c1 == w))
                )
                collector.stopped = False
                try:
                    res = _call(fn, patch)
                except Exception:
                    if not collector.stopped:
                        raise
                    res = None
                if bar is not None:
                    bar.add(1)
                if not final:
                    continue
                if out is None:
                    scale_y = res.shape[1] / (y1 - y0)
                    scale_x = res.shape[2] / (x1 - x0)
                    if out_size is not None:  # the overall scale, not the first crop's
                        scale_y = max(out_size[0] / h, 1.0) if out_size[0] > h / 2 else scale_y
                        scale_x = max(out_size[1] / w, 1.0) if out_size[1] > w / 2 else scale_x
                    if scale_y >= 1:
                        scale_y = float(max(1, int(scale_y)))
                    if scale_x >= 1:
                        scale_x = float(max(1, int(scale_x)))
                    oh, ow = (int(round(h * scale_y)), int(round(w * scale_x))) if out_size is None else out_size
                    out = np.zeros((n, int(oh), int(ow), res.shape[3]), "float32")
                    weight = np.zeros((1, out.shape[1], out.shape[2], 1), "float32")
                oy0, oy1 = int(round(y0 * scale_y)), int(round(y1 * scale_y))
                ox0, ox1 = int(round(x0 * scale_x)), int(round(x1 * scale_x))
                if y1 == h:  # edge crops fill the output to its end (or as far as they reach)
                    oy1 = min(out.shape[1], oy0 + res.shape[1])
                if x1 == w:
                    ox1 = min(out.shape[2], ox0 + res.shape[2])
                res = res[:, : oy1 - oy0, : ox1 - ox0, :]
                by = out.shape[1] if r1 == h else r1 * scale_y
                bx = out.shape[2] if c1 == w else c1 * scale_x
                wy = _band_weights(oy0, oy1, r0 * scale_y, by, out.shape[1], feather * scale_y)
                wx = _band_weights(ox0, ox1, c0 * scale_x, bx, out.shape[2], feather * scale_x)
                wgt = wy[:, None] * wx[None, :]
                out[:, oy0:oy1, ox0:ox1, :] += res * wgt[None, :, :, None]
                weight[:, oy0:oy1, ox0:ox1, :] += wgt[None, :, :, None]
            if not final:
                if exact:
                    if p == 0:  # the first pass discovers the order; only layer 1 is exact
                        first = collector.order[0]
                        first.fixed_moments = collector.moments(first)
                    elif target is not None:
                        target.fixed_moments = collector.moments(target)
                else:
                    for lyr in in_layers:
                        if id(lyr) in collector.sums:
                            lyr.fixed_moments = collector.moments(lyr)
    finally:
        collector.uninstall()
        for lyr, m in zip(in_layers, saved):
            lyr.fixed_moments = m
    out /= np.maximum(weight, 1e-12)
    return out[0] if squeeze else out


__all__ = ["tiled_apply", "instance_norm_layers"]
