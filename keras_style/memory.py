"""How much memory a feed-forward stylization needs, and a tile size that fits.

A convolution on the CPU may lower to im2col (TensorFlow's Eigen and oneDNN kernels do for large
kernels), which holds ``k * k * C_in`` floats per output pixel: Johnson et al.'s last 9x9
convolution alone needs ~5 KB per pixel at width 0.5, i.e. ~60 GB for a 12 MP photo, where
the activations themselves are a few GB. So the estimate is, over the network's convolutions
at the resolution they run at (strides, pooling and upsampling followed in layer order),

    bytes/pixel = max_conv (k*k*C_in + C_in + C_out) * 4 * scale**2   (+ a few image buffers)

It is deliberately an upper bound (the kernels do not always use im2col: for the bundled
``johnson_great_wave`` at 1024x1024 the estimate is 5.2 GB where the peak RSS grew by 0.4 GB, but a
12 MP photo made TensorFlow abort with ``std::bad_alloc`` at 4.1 GB RSS with 21 GB free, and
the estimate must tile that one). ``auto_tile`` picks the
largest tile whose estimate fits ``fraction`` of the memory available now; tiling is exact for
these networks (``keras_style.tiling.tiled_apply``), so a tile costs time, not quality.

```python
from keras_style import memory
memory.estimate_bytes(model, 3024, 4032)   # whole image
memory.auto_tile(model, 3024, 4032)        # None (fits) or a tile size in pixels
```
"""

from __future__ import annotations

import os

FLOAT_BYTES = 4
# image-sized float32 HxWx3 buffers alive during a stylization (input, padded input, output,
# blending weights, the uint8/float copies of the result)
IMAGE_BUFFERS = 8
DEFAULT_FRACTION = 0.5
MIN_TILE = 128


def inference_network(model):
    """The network a model's stylize/upscale runs (Johnson-style models keep it apart from
    their loss network); the model itself otherwise."""
    if callable(getattr(model, "_tiled_network", None)):
        return model._tiled_network()
    for attr in ("transform", "network", "generator"):
        net = getattr(model, attr, None)
        if net is not None and hasattr(net, "weights") and not callable(getattr(net, "stylize", None)):
            return net
    return model


def tiled_network(model):
    """The network `keras_style.tiling.tiled_apply` runs for ``model`` (Johnson's ``transform``,
    the multistyle and arbitrary ``network`` / ``transformer``, what a model's
    ``_tiled_network()`` returns), the model itself otherwise."""
    if callable(getattr(model, "_tiled_network", None)):
        return model._tiled_network()
    for attr in ("transform", "network", "transformer"):
        net = getattr(model, attr, None)
        if net is not None and hasattr(net, "_flatten_layers"):
            return net
    return model


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[-1])
    return int(v), int(v)


def _is_functional(layer):
    """A functional Keras model (or Sequential): it keeps every intermediate output of a call
    until the call returns (Keras' ``Functional._run_through_graph`` fills one tensor dict)."""
    return hasattr(layer, "_nodes_by_depth") and hasattr(layer, "_run_through_graph")


def _walk(net):
    """``[(layer, parent)]`` under ``net``, depth first, each container's children in the order
    it holds them (construction order: the order they run in for the networks here). Keras'
    ``_flatten_layers(recursive=True)`` reverses the children of nested layers, which would
    follow a nested encoder's poolings after its convolutions."""
    out, seen = [], set()

    def walk(layer):
        try:
            children = list(layer._flatten_layers(include_self=False, recursive=False))
        except (AttributeError, TypeError):
            return
        for child in children:
            if id(child) in seen:
                continue
            seen.add(id(child))
            out.append((child, layer))
            walk(child)

    walk(net)
    return out


def ordered_layers(net):
    """Every layer under ``net`` in the order they run (`_walk`)."""
    return [layer for layer, _ in _walk(net)]


def retained_floats(net):
    """Floats per *input* pixel that functional models inside ``net`` keep alive during a call
    (`_is_functional`): for each convolution directly inside one, its input (the padding or
    upsampling output before it, or the previous convolution's output) and its output, at the
    resolution it runs at. Zero for subclassed networks, which free each map when the next
    layer has it (an upper bound, as each map may be counted twice)."""
    own, parent_of, scale = {}, {}, 1.0
    for layer, parent in _walk(net):
        parent_of[id(layer)] = parent
        scale, conv = _advance(layer, scale)
        if conv is not None and _is_functional(parent):
            own[id(parent)] = own.get(id(parent), 0.0) + sum(_conv_floats(conv))
    return nested_retained(own, parent_of)


def nested_retained(own, parent_of):
    """The most floats kept at once, given each functional container's own kept maps
    (``own``, by ``id``) and ``parent_of`` (``id(layer) -> parent``): a container keeps its
    maps while a nested one runs, siblings run one after the other (the largest chain of
    nested containers)."""
    best = 0.0
    for key in own:
        total, seen = 0.0, set()
        node = key
        while node is not None and node not in seen:
            seen.add(node)
            total += own.get(node, 0.0)
            parent = parent_of.get(node)
            node = None if parent is None else id(parent)
        best = max(best, total)
    return best


def _advance(layer, scale):
    """``(scale after layer, conv)`` for the resolution bookkeeping of `conv_costs`,
    `activation_floats` and `retained_floats`: ``scale`` is the layer's input resolution
    relative to the image (strides, pooling and upsampling followed in layer order); ``conv``
    is ``(kernel shape, input scale, output scale, transposed)`` for a convolution, else None."""
    kind = type(layer).__name__
    shape = tuple(getattr(getattr(layer, "kernel", None), "shape", ()) or ())
    conv = None
    if kind in ("UpSampling2D", "NearestUpsampling2D") or (
        "Upsample" in kind and hasattr(layer, "size") and not len(shape) == 4
    ):
        scale *= _pair(getattr(layer, "size", 2))[0]
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        scale /= _pair(getattr(layer, "strides", None) or layer.pool_size)[0]
    elif len(shape) == 4:
        transposed = "Transpose" in kind
        step = _pair(getattr(layer, "strides", 1))[0]
        out_scale = scale * step if transposed else scale / step
        conv = (shape, scale, out_scale, transposed)
        scale = out_scale
    return min(max(scale, 1.0 / 64), 64.0), conv


def _conv_floats(conv):
    """(input, output) floats per image pixel of a `_advance` convolution."""
    shape, s_in, s_out, transposed = conv
    cin, cout = (shape[3], shape[2]) if transposed else (shape[2], shape[3])
    return cin * s_in**2, cout * s_out**2


def conv_costs(net):
    """[(layer name, floats per *input* pixel at full resolution)], in layer order: im2col at
    the output resolution (``k * k * C_in + C_out``) plus the input at its own."""
    scale, out = 1.0, []
    for layer in ordered_layers(net):
        scale, conv = _advance(layer, scale)
        if conv is None:
            continue
        shape, s_in, s_out, transposed = conv
        if transposed:  # (kh, kw, C_out, C_in): the gradient-of-conv kernel runs at the input
            kh, kw, cout, cin = shape
            out.append((layer.name, (kh * kw * cout + cin + cout) * s_in**2))
        else:
            kh, kw, cin, cout = shape
            out.append((layer.name, (kh * kw * cin + cout) * s_out**2 + cin * s_in**2))
    return out


def activation_floats(net):
    """The widest activation of ``net``'s convolutions, in floats per *input* pixel (channels
    times the area scale at the resolution it runs at), following `conv_costs`' traversal."""
    scale, widest = 1.0, 3.0
    for layer in ordered_layers(net):
        scale, conv = _advance(layer, scale)
        if conv is not None:
            widest = max(widest, *_conv_floats(conv))
    return widest


#: whole-image copies of the widest activation alive at once in `keras_style.tiling.streamed_apply`
#: (a layer's input and output, the concatenated bands, an elementwise temporary); measured peak
#: RSS for ``johnson_starry_night`` (16 channels at full resolution): 4.8 GiB at 12 MP, 8.7 GiB
#: at 24 MP, i.e. about 4 copies besides the image buffers; 5 keeps the estimate an upper bound
STREAM_COPIES = 5
#: share of the available memory a streamed run may take (its estimate is an upper bound)
STREAM_FRACTION = 0.8


def streamed_bytes(model, height, width, band_pixels=1 << 20, batch=1, widest=None, retained=None) -> int:
    """Upper-bound estimate of `keras_style.tiling.streamed_apply`'s peak memory: a few
    whole-image copies of the widest activation (``widest`` floats per input pixel), the maps
    functional sub-models keep until their call returns (``retained``; both measured by
    `keras_style.tiling.probe_stream_floats`, estimated from the layers when None), the image
    buffers, and one band through the most expensive convolution (`bytes_per_pixel`)."""
    net = inference_network(model)
    pixels = int(height) * int(width) * int(batch)
    widest = activation_floats(net) if widest is None else float(widest)
    retained = retained_floats(net) if retained is None else float(retained)
    whole = (STREAM_COPIES * widest + retained + IMAGE_BUFFERS * 3) * FLOAT_BYTES * pixels
    band = bytes_per_pixel(model) * min(int(band_pixels), pixels)
    return int(whole + band + weights_bytes(model))


def bytes_per_pixel(model) -> float:
    """Peak bytes per image pixel of a one-piece pass: the most expensive convolution
    (`conv_costs`), the maps functional sub-models keep (`retained_floats`), image buffers."""
    net = inference_network(model)
    peak = max((c for _, c in conv_costs(net)), default=64.0)
    return (peak + retained_floats(net)) * FLOAT_BYTES + IMAGE_BUFFERS * 3 * FLOAT_BYTES


def weights_bytes(model) -> int:
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in inference_network(model).weights) * FLOAT_BYTES)


def estimate_bytes(model, height, width) -> int:
    """Upper-bound estimate of the peak memory of one untiled forward pass."""
    return int(bytes_per_pixel(model) * int(height) * int(width) + weights_bytes(model))


def available_bytes() -> int | None:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit; None if unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_file) as f:
                raw = f.read().strip()
            if raw == "max":
                continue
            with open(usage_file) as f:
                room = int(raw) - int(f.read().strip())
            if room > 0 and int(raw) < 1 << 60:
                avail = room if avail is None else min(avail, room)
        except (OSError, ValueError):
            continue
    return avail


def auto_tile(model, height, width, *, overlap=64, align=16, fraction=DEFAULT_FRACTION,
              available=None):
    """None when the whole image fits ``fraction`` of the available memory, else the largest
    tile size (a multiple of ``align``, at least ``MIN_TILE``) whose padded tile fits."""
    available = available_bytes() if available is None else available
    if available is None:
        return None
    budget = available * float(fraction) - weights_bytes(model)
    if estimate_bytes(model, height, width) <= available * float(fraction):
        return None
    per_px = bytes_per_pixel(model)
    side = int((max(budget, 0) / per_px) ** 0.5) - 2 * int(overlap)
    side = max(MIN_TILE, side // align * align)
    return min(side, max(int(height), int(width)))


class AutoTileWarning(UserWarning):
    """A ``stylize`` / ``upscale`` call without ``tile`` runs the image in pieces (exactly: the
    result is the one-piece result) because one piece would not fit in memory."""


def describe_plan(model, net, height, width, tile) -> str:
    """How `keras_style.tiling.tiled_apply` will run a ``height`` x ``width`` image in ``tile``
    px pieces: streamed layer by layer in row bands, or in tiles (both exact)."""
    from keras_style.tiling import would_stream

    if would_stream(net, height, width, tile):
        return ("layer by layer, each convolution in row bands (exact: whole-image statistics in "
                "one pass; up to " + format_bytes(streamed_bytes(model, height, width)) + ")")
    return f"in {tile} px tiles (exact)"


def choose_tile(model, height, width, tile=None, *, overlap=64, align=16, net=None, warn=True):
    """The ``tile`` a stylize call runs with: ``tile`` itself when given, ``None`` (one piece)
    for ``tile=0``, and for ``tile=None`` what `auto_tile` says, with an `AutoTileWarning`
    naming the memory figures and the override when it is not one piece. An estimate never
    stops a run: if it fails, one piece."""
    if tile is not None and not isinstance(tile, bool) and tile == 0:
        return None
    if tile is not None:
        return tile
    try:
        chosen = auto_tile(model, height, width, overlap=int(overlap), align=int(align))
    except Exception:
        return None
    if chosen is None:
        return None
    if warn:
        import warnings

        try:
            how = describe_plan(model, net if net is not None else tiled_network(model), height, width, chosen)
        except Exception:
            how = f"in {chosen} px tiles (exact)"
        warnings.warn(
            f"a {width}x{height} image needs up to {format_bytes(estimate_bytes(model, height, width))} in "
            f"one piece ({format_bytes(available_bytes() or 0)} available); running it {how}. "
            "Pass tile=N to choose the tile size, or tile=0 for one piece.",
            AutoTileWarning,
            stacklevel=3,
        )
    return chosen


def format_bytes(n) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TB"
