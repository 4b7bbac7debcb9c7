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

   Exact statistics therefore cost one pass per normalisation layer. When the whole-image
   activations fit in memory, `tiled_apply` streams instead (``stream="auto"``): the
   network runs once on the whole image, with each convolution evaluated in row bands
   (`streamed_apply`), which gives the same result in a single pass.

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

#: largest band (input pixels) `tiled_apply` streams a convolution in: big enough that each
#: call is efficient, small enough that even an im2col kernel's workspace stays modest
STREAM_BAND_PIXELS = 1 << 18


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
    stream="auto",
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
        stream: ``"auto"`` (default): a network with instance normalisation and exact
            statistics runs as `streamed_apply` (the whole image layer by layer, each
            convolution in row bands of about ``tile x tile`` pixels: the same result in one
            pass instead of one per normalisation layer) when its whole-image activations fit
            in memory (`keras_style.memory.streamed_bytes`), and in tiles otherwise.
            ``True`` always streams, ``False`` always tiles.

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
    if stream not in ("auto", True, False):
        raise ConfigError(f"stream must be 'auto', True or False, got {stream!r}.")
    if in_layers and exact and stream is not False and _should_stream(fn, x, min(th * tw, STREAM_BAND_PIXELS), stream):
        y = streamed_apply(fn, x, band_pixels=min(th * tw, STREAM_BAND_PIXELS), verbose=verbose)
        if out_size is not None:  # the whole-image output, as far as the tiles would fill it
            y = y[:, : int(out_size[0]), : int(out_size[1])]
        else:  # the same size as the tiles assemble: s x the input (networks that round up are cropped)
            sy, sx = y.shape[1] / h, y.shape[2] / w
            sy, sx = (float(max(1, int(v))) if v >= 1 else v for v in (sy, sx))
            y = y[:, : int(round(h * sy)), : int(round(w * sx))]
        return y[0] if squeeze else y
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


# --------------------------------------------------------------------------------------
# streamed inference: the whole image, layer by layer, each convolution in row bands


def _pair_int(v):
    if isinstance(v, (tuple, list)):
        if len(set(int(t) for t in v)) != 1:
            return None
        return int(v[0])
    return int(v)


def _band_geometry(layer):
    """``(scale, top halo, bottom halo, align)`` of a spatially local layer evaluated in row
    bands, or None when it is not one we know how to band.

    A band of input rows ``[lo, hi)`` (``lo`` a multiple of ``align``) gives output rows
    ``lo * scale + j``; its own padding at a cut reaches ``top``/``bottom`` input rows in,
    and those output rows are discarded (the neighbouring band computes them)."""
    import keras

    kind = type(layer).__name__
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        return None
    if kind == "_PaddedConv":  # keras_style.methods.johnson.networks: pad k // 2, valid conv
        s = int(layer.strides)
        halo = -(-(layer.kernel_size // 2) // s) * s
        return 1.0 / s, halo, halo, s
    if kind == "_TransposedUp":  # k3 s2 transposed conv, cropped to 2 H: one input row each side
        return 2.0, 1, 1, 1
    if kind == "UpsampleConv2D":
        if int(layer.strides) != 1:
            return None
        u = int(layer.size)
        halo = -(-(layer.kernel_size // 2) // u)
        return float(u), halo, halo, 1
    if isinstance(layer, keras.layers.Conv2D) and type(layer).__name__ in ("Conv2D",):
        s, d, k = _pair_int(layer.strides), _pair_int(layer.dilation_rate), _pair_int(layer.kernel_size)
        if None in (s, d, k):
            return None
        k_eff = (k - 1) * d + 1
        if layer.padding == "valid":
            return 1.0 / s, 0, -(-max(k_eff - s, 0) // s) * s, s
        if layer.padding == "same" and s == 1 and k_eff % 2 == 1:
            return 1.0, k_eff // 2, k_eff // 2, 1
        return None
    return None


def _children(layer):
    try:
        return list(layer._flatten_layers(include_self=False, recursive=False))
    except (AttributeError, TypeError):
        return []


def _bandable_layers(root):
    """The outermost layers under ``root`` that `_band_geometry` knows, and every
    `InstanceNormalization` (each visited once, in traversal order)."""
    from keras_style.layers.instance_normalization import InstanceNormalization

    convs, norms, seen = [], [], set()

    def walk(layer):
        for child in _children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            if isinstance(child, InstanceNormalization) or _conditional_norm(child):
                norms.append(child)
                _mark(child)
                continue
            geometry = _band_geometry(child)
            if geometry is not None:
                convs.append((child, geometry))
                _mark(child)  # layers inside it run on its bands
                continue
            walk(child)

    def _mark(layer):
        for child in _children(layer):
            if id(child) not in seen:
                seen.add(id(child))
                _mark(child)

    if hasattr(root, "_flatten_layers"):
        walk(root)
    return convs, norms


def _banded_call(original, geometry, band_pixels, counter):
    from keras import ops

    scale, top, bottom, align = geometry

    def call(inputs, *args, **kwargs):
        shape = inputs.shape
        if len(shape) != 4 or shape[1] is None or shape[2] is None:
            return original(inputs, *args, **kwargs)
        h, w = int(shape[1]), int(shape[2])
        rows = max(align, (int(band_pixels) // max(w, 1)) // align * align)
        if h <= rows + align:
            return original(inputs, *args, **kwargs)
        pieces, a = [], 0
        while a < h:
            b = a + rows
            if b + align > h:  # the last band runs to the end (odd sizes round as the whole image)
                b = h
            lo, hi = max(0, a - top), min(h, b + bottom)
            if hi == h:  # this band reaches the end: it gives every remaining output row
                b = h
            y = original(inputs[:, lo:hi], *args, **kwargs)
            o0 = int(round((a - lo) * scale))
            pieces.append(y[:, o0:] if b == h else y[:, o0 : o0 + int(round((b - a) * scale))])
            counter[0] += 1
            a = b
        return ops.concatenate(pieces, axis=1)

    return call


def _conditional_norm(layer):
    """A per-pixel layer around one `InstanceNormalization` ``.norm`` of its image input: the
    conditional instance norm of Dumoulin et al. and the style-conditioned one of Ghiasi et
    al. (scale and offset from a style vector)."""
    from keras_style.layers.instance_normalization import InstanceNormalization

    return type(layer).__name__ in ("ConditionalInstanceNormalization", "StyleConditionedNormalization") and (
        isinstance(getattr(layer, "norm", None), InstanceNormalization)
    )


def _banded_norm_call(layer, original, band_pixels):
    """Instance normalisation (plain or conditional) on the whole image with bounded
    temporaries: moments summed over row bands (float64), then the layer band by band with
    those moments fixed. A conditional one with a style *map* (spatial masks) runs whole."""
    from keras import ops

    norm = layer.norm if _conditional_norm(layer) else layer

    def image_and_style(args):
        if type(layer).__name__ == "StyleConditionedNormalization":
            x, style = args[0]
            return x, style, lambda band: ([band, style],) + tuple(args[1:])
        if _conditional_norm(layer):
            style = args[1] if len(args) > 1 else None
            return args[0], style, lambda band: (band,) + tuple(args[1:])
        return args[0], None, lambda band: (band,) + tuple(args[1:])

    def call(*args, **kwargs):
        x, style, rebuild = image_and_style(args)
        shape = x.shape
        if (
            len(shape) != 4
            or norm.data_format != "channels_last"
            or norm.fixed_moments is not None
            or (style is not None and len(style.shape) == 4 and any(int(d) > 1 for d in style.shape[1:3]))
        ):
            return original(*args, **kwargs)
        h, w = int(shape[1]), int(shape[2])
        rows = max(1, int(band_pixels) // max(w, 1))
        if h <= rows:
            return original(*args, **kwargs)
        s1 = s2 = 0.0
        for a in range(0, h, rows):
            band = ops.convert_to_numpy(ops.cast(x[:, a : a + rows], "float32")).astype("float64")
            s1 = s1 + band.sum(axis=(1, 2))
            s2 = s2 + np.square(band).sum(axis=(1, 2))
        n = float(h * w)
        mean = s1 / n
        var = np.maximum(s2 / n - np.square(mean), 0.0)
        norm.fixed_moments = (mean.astype("float32"), var.astype("float32"))
        try:
            pieces = [original(*rebuild(x[:, a : a + rows]), **kwargs) for a in range(0, h, rows)]
        finally:
            norm.fixed_moments = None
        return ops.concatenate(pieces, axis=1)

    return call


def would_stream(fn, height, width, tile, batch=1, channels=3):
    """Whether `tiled_apply(fn, ..., tile=tile)` on a ``height`` x ``width`` image of
    ``channels`` channels streams (instance normalisation, bandable convolutions, whole-image
    activations that fit)."""
    if not instance_norm_layers(fn):
        return False
    # only the shape is read (the channels feed the small activation probe)
    shape = (int(batch), int(height), int(width), int(channels))
    x = np.lib.stride_tricks.as_strided(np.zeros(1, "float32"), shape=shape, strides=(0,) * 4)
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    try:
        return _should_stream(fn, x, min(int(th) * int(tw), STREAM_BAND_PIXELS), "auto")
    except Exception:  # a plan must never stop a run
        return False


def _should_stream(fn, x, band_pixels, stream):
    if not streamable(fn):
        if stream is True:
            raise ConfigError(
                f"{type(fn).__name__} has convolutions streamed_apply cannot run in bands "
                "(channels-first, or 'same' padding with a stride); use stream=False (tiles)."
            )
        return False
    if stream is True:
        return True
    from keras_style import memory

    available = memory.available_bytes()
    if available is None:
        return True
    widest, retained = probe_stream_floats(fn, x.shape[-1], int(getattr(fn, "stride", 1) or 1))
    need = memory.streamed_bytes(
        fn, x.shape[1], x.shape[2], band_pixels=band_pixels, batch=x.shape[0], widest=widest,
        retained=retained,
    )
    return need <= available * memory.STREAM_FRACTION


def probe_stream_floats(fn, channels, align=1, size=64):
    """``(widest, retained)`` in floats per input pixel, measured on one small input (``size``
    px, a multiple of ``align``): the widest output of ``fn``'s layers (at any depth: a
    resize-conv's upsampled input too), and the sum of the outputs that functional sub-models
    keep until their call returns (`keras_style.memory.retained_floats`). ``(None, None)`` if
    the probe fails (`keras_style.memory` then estimates both from the layers)."""
    from keras_style.memory import _is_functional

    size = max(align, size - size % align)
    outputs = {}
    patched = []

    def recording(original, key):
        def call(*args, **kwargs):
            out = original(*args, **kwargs)
            shape = getattr(out, "shape", None)
            if shape is not None and len(shape) == 4:
                floats = float(np.prod([int(d) for d in shape[1:]])) / (size * size)
                outputs[key] = max(outputs.get(key, 0.0), floats)
            return out

        return call

    layers = _all_layers(fn)
    try:
        for lyr in layers:
            object.__setattr__(lyr, "call", recording(lyr.call, id(lyr)))
            patched.append(lyr)
        _call(fn, np.zeros((1, size, size, int(channels)), "float32"))
    except Exception:
        return None, None
    finally:
        for lyr in patched:
            if "call" in lyr.__dict__:
                object.__delattr__(lyr, "call")
    from keras_style.memory import _walk, nested_retained

    widest = max([float(channels), *outputs.values()])
    walked = _walk(fn)
    parent_of = {id(layer): parent for layer, parent in walked}
    own = {
        id(container): sum(outputs.get(id(child), 0.0) for child in _children(container))
        for container in [fn, *(layer for layer, _ in walked)] if _is_functional(container)
    }
    return widest, nested_retained(own, parent_of)


def probe_activation_floats(fn, channels, align=1, size=64):
    """The widest output of `probe_stream_floats` (None if the probe fails)."""
    return probe_stream_floats(fn, channels, align, size)[0]


def streamable(fn):
    """Whether `streamed_apply` can band every convolution of ``fn`` (channels-last layers
    of the kinds `_band_geometry` knows); the others would run whole."""
    convs, _ = _bandable_layers(fn)
    if not convs:
        return False
    import keras

    for lyr in _all_layers(fn):
        if isinstance(lyr, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)) and not _covered(lyr, convs):
            return False
    return True


def _all_layers(fn):
    try:
        return list(fn._flatten_layers(include_self=False, recursive=True))
    except (AttributeError, TypeError):
        return []


def _covered(layer, convs):
    for outer, _ in convs:
        if outer is layer or any(inner is layer for inner in _all_layers(outer)):
            return True
    return False


def streamed_apply(fn, images, band_pixels=1 << 20, verbose=0):
    """``fn`` on the whole image, with every convolution evaluated in row bands of about
    ``band_pixels`` input pixels (plus the rows its kernel needs) and every
    `InstanceNormalization` computed from whole-image moments, band by band.

    The result is the whole-image forward pass (the bands only bound each convolution's
    working memory, which is what makes a large photo fail), so instance-norm statistics are
    exact with one pass over the network, where `tiled_apply`'s exact mode needs one pass
    per normalisation layer. Memory: a few whole-image activations (the widest layer at full
    resolution), not one per tile. Each band's output rows are those of the untiled layer:
    a band's own padding at a cut is kept out by ``halo`` rows, strided layers start their
    bands on their stride.

    Args:
        fn: a Keras model or layer (or an object exposing ``_flatten_layers``) mapping an
            NHWC float32 batch to an NHWC batch, called eagerly.
        images: NHWC array (or HWC, returned as HWC).
        band_pixels: input pixels per band (rows x width) of each convolution.
        verbose: 1 shows a progress bar (one step per convolution layer).
    """
    import keras

    x = np.asarray(keras.ops.convert_to_numpy(images), dtype="float32")
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None]
    if x.ndim != 4:
        raise ConfigError(f"streamed_apply expects an NHWC batch or an HWC image, got shape {x.shape}.")
    if int(band_pixels) < 1:
        raise ConfigError(f"band_pixels must be positive, got {band_pixels!r}.")
    convs, norms = _bandable_layers(fn)
    counter = [0]
    patched = []
    bar = keras.utils.Progbar(len(convs)) if verbose and convs else None
    try:
        for lyr, geometry in convs:
            call = _banded_call(lyr.call, geometry, band_pixels, counter)
            if bar is not None:
                call = _ticking(call, bar, len(convs))
            object.__setattr__(lyr, "call", call)
            patched.append(lyr)
        for lyr in norms:
            object.__setattr__(lyr, "call", _banded_norm_call(lyr, lyr.call, band_pixels))
            patched.append(lyr)
        y = _call(fn, x)
    finally:
        for lyr in patched:
            if "call" in lyr.__dict__:
                object.__delattr__(lyr, "call")
    return y[0] if squeeze else y


def _ticking(call, bar, total):
    done = [0]

    def ticked(*args, **kwargs):
        out = call(*args, **kwargs)
        if done[0] < total:  # a layer called twice does not overrun the bar
            done[0] += 1
            bar.add(1)
        return out

    return ticked


__all__ = ["tiled_apply", "streamed_apply", "streamable", "would_stream", "instance_norm_layers"]
