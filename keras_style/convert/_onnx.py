"""Reading ONNX files for the converters, and writing converted weights atomically.

Only the tensors and the node list are read (``onnx.load`` and ``onnx.numpy_helper``):
nothing in a file is executed. Shared by ``onnx_vgg16``, ``onnx_multistyle`` and
``onnx_arbitrary``; `save_weights_atomic` also by the ncnn converters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_style.errors import ConversionError, WeightsUnavailableError


def import_onnx():
    """``(onnx, onnx.numpy_helper)``; `WeightsUnavailableError` naming the extra when missing."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:
        raise WeightsUnavailableError(
            'Converting ONNX weights needs the onnx package: pip install "keras-style[offline]".'
        ) from e
    return onnx, numpy_helper


def load_onnx(path, what="ONNX file", load_external_data=True):
    """The ``onnx.ModelProto`` of ``path``; `ConversionError` when it is missing or unreadable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConversionError(f"The {what} {path} does not exist.")
    onnx, _ = import_onnx()
    try:
        return onnx.load(str(path), load_external_data=load_external_data)
    except Exception as e:
        raise ConversionError(
            f"{path} is not a readable ONNX file ({type(e).__name__}: {' '.join(str(e).split())[:200]})."
        ) from e


def initializers(model) -> dict[str, np.ndarray]:
    """Every initializer of an ONNX model as a NumPy array, by name."""
    _, numpy_helper = import_onnx()
    return {t.name: np.asarray(numpy_helper.to_array(t)) for t in model.graph.initializer}


def save_weights_atomic(model, dst) -> Path:
    """``model.save_weights(dst)`` atomically (`keras_style.saving.save_weights_atomic`);
    a name that does not end in ``.weights.h5`` is a `ConversionError`."""
    from keras_style.saving import save_weights_atomic as save

    if not Path(dst).name.endswith(".weights.h5"):
        raise ConversionError(f"The converted file must end in .weights.h5, got {Path(dst).name}.")
    return save(model, dst)


__all__ = ["import_onnx", "load_onnx", "initializers", "save_weights_atomic"]
