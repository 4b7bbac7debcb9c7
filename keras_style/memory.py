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
    for attr in ("transform", "network", "generator"):
        net = getattr(model, attr, None)
        if net is not None and hasattr(net, "weights") and not callable(getattr(net, "stylize", None)):
            return net
    return model


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[-1])
    return int(v), int(v)


def conv_costs(net):
    """[(layer name, floats per *input* pixel at full resolution)], in layer order."""
    scale = 1.0
    out = []
    layers = net._flatten_layers(include_self=False, recursive=True)
    for layer in layers:
        kind = type(layer).__name__
        kernel = getattr(layer, "kernel", None)
        shape = tuple(getattr(kernel, "shape", ()) or ())
        if kind in ("UpSampling2D", "NearestUpsampling2D") or (
            "Upsample" in kind and hasattr(layer, "size") and not len(shape) == 4
        ):
            scale *= _pair(getattr(layer, "size", 2))[0]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            scale /= _pair(getattr(layer, "strides", None) or layer.pool_size)[0]
        elif len(shape) == 4 and "Transpose" in kind:
            kh, kw, cout, cin = shape
            out.append((layer.name, (kh * kw * cout + cin + cout) * scale**2))
            scale *= _pair(getattr(layer, "strides", 1))[0]
        elif len(shape) == 4:
            kh, kw, cin, cout = shape
            stride = _pair(getattr(layer, "strides", 1))[0]
            # im2col at the output resolution, the input at the current one
            per_out = (kh * kw * cin + cout) * (scale / stride) ** 2
            out.append((layer.name, per_out + cin * scale**2))
            scale /= stride
        scale = min(max(scale, 1.0 / 64), 64.0)
    return out


def activation_floats(net):
    """The widest activation of ``net``'s convolutions, in floats per *input* pixel (channels
    times the area scale at the resolution it runs at), following `conv_costs`' traversal."""
    scale = 1.0
    widest = 3.0
    for layer in net._flatten_layers(include_self=False, recursive=True):
        kind = type(layer).__name__
        shape = tuple(getattr(getattr(layer, "kernel", None), "shape", ()) or ())
        if kind in ("UpSampling2D", "NearestUpsampling2D") or (
            "Upsample" in kind and hasattr(layer, "size") and not len(shape) == 4
        ):
            scale *= _pair(getattr(layer, "size", 2))[0]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            scale /= _pair(getattr(layer, "strides", None) or layer.pool_size)[0]
        elif len(shape) == 4 and "Transpose" in kind:
            widest = max(widest, shape[3] * scale**2)
            scale *= _pair(getattr(layer, "strides", 1))[0]
            widest = max(widest, shape[2] * scale**2)
        elif len(shape) == 4:
            widest = max(widest, shape[2] * scale**2)
            scale /= _pair(getattr(layer, "strides", 1))[0]
            widest = max(widest, shape[3] * scale**2)
        scale = min(max(scale, 1.0 / 64), 64.0)
    return widest


#: whole-image copies of the widest activation alive at once in `keras_style.tiling.streamed_apply`
#: (a layer's input and output, the concatenated bands, an elementwise temporary); measured peak
#: RSS for ``johnson_starry_night`` (16 channels at full resolution): 4.8 GiB at 12 MP, 8.7 GiB
#: at 24 MP, i.e. about 4 copies besides the image buffers; 5 keeps the estimate an upper bound
STREAM_COPIES = 5
#: share of the available memory a streamed run may take (its estimate is an upper bound)
STREAM_FRACTION = 0.8


def streamed_bytes(model, height, width, band_pixels=1 << 20, batch=1, widest=None) -> int:
    """Upper-bound estimate of `keras_style.tiling.streamed_apply`'s peak memory: a few
    whole-image copies of the widest activation (``widest`` floats per input pixel,
    measured by `keras_style.tiling.probe_activation_floats`; estimated from the layers when
    None), the image buffers, and one band through the most expensive convolution
    (`bytes_per_pixel`)."""
    net = inference_network(model)
    pixels = int(height) * int(width) * int(batch)
    widest = activation_floats(net) if widest is None else float(widest)
    whole = (STREAM_COPIES * widest + IMAGE_BUFFERS * 3) * FLOAT_BYTES * pixels
    band = bytes_per_pixel(model) * min(int(band_pixels), pixels)
    return int(whole + band + weights_bytes(model))


def bytes_per_pixel(model) -> float:
    costs = conv_costs(inference_network(model))
    peak = max((c for _, c in costs), default=64.0)
    return peak * FLOAT_BYTES + IMAGE_BUFFERS * 3 * FLOAT_BYTES


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


def format_bytes(n) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TB"
