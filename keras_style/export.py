"""Export a feed-forward model's image network to ONNX, LiteRT (TFLite) or a TF SavedModel.

```python
import keras_style as ks
from keras_style.export import export_model
export_model("johnson_great_wave", "great_wave.onnx", format="onnx")
export_model(ks.get("multistyle_26"), "styles.tflite", format="litert")   # image + style weights
```

What is exported is the network that maps images to images (see ``docs/export.md``):
a Johnson model's ``.transform``, a multi-style model's ``.network`` (inputs ``image`` and
``style_weights``), the arbitrary and AdaIN models with their two inputs (``content``,
``style``), the super-resolution networks. Inputs are float32 NHWC RGB in [0, 1] with a
dynamic batch, height and width; the output is named ``output`` and is the raw network
output (not clipped, not cropped to the input size for the stride-4 style networks).

Every file is written atomically (a temporary name in the same folder, then ``os.replace``);
an existing output is kept unless ``overwrite=True``. Export needs the TensorFlow backend
(``KERAS_BACKEND=tensorflow``) and, for ONNX, ``tf2onnx``; the LiteRT file uses builtin ops
only (no Flex delegate), so ``ai_edge_litert.interpreter.Interpreter`` runs it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keras_style.errors import ConfigError, ConversionError

FORMATS = ("onnx", "litert", "saved_model")
_ALIASES = {"tflite": "litert", "tf_saved_model": "saved_model", "savedmodel": "saved_model"}
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite", "saved_model": ""}
ONNX_OPSET = 17


class OutputExistsError(ConfigError, FileExistsError):
    """The export's output path exists and ``overwrite`` was not given."""


@dataclass
class ExportSpec:
    """What `export_model` exports: the Keras callable and its named inputs.

    ``inputs`` is a list of ``(name, shape)`` with ``None`` for dynamic axes.
    """

    network: object
    inputs: list
    call: object
    description: str


def normalize_format(format) -> str:
    f = str(format).lower().strip()
    f = _ALIASES.get(f, f)
    if f not in FORMATS:
        raise ConfigError(f"Unknown export format {format!r}; use one of: {', '.join(FORMATS)}.")
    return f


def export_spec(model) -> ExportSpec:
    """The image network of ``model`` and its inputs; `ConfigError` for a model that has none."""
    from keras_style.methods.adain.adain import AdaIN
    from keras_style.methods.arbitrary.arbitrary_stylization import ArbitraryStylization
    from keras_style.methods.multistyle.multi_style_transfer import MultiStyleTransfer
    from keras_style.methods.super_resolution.super_resolution_model import SuperResolutionModel

    image = (None, None, None, 3)
    if isinstance(model, MultiStyleTransfer):
        net = model.network
        return ExportSpec(
            net,
            [("image", image), ("style_weights", (None, int(model.num_styles)))],
            lambda x, w: net((x, w), training=False),
            f"{model.name}.network (image, style_weights[{model.num_styles}])",
        )
    if isinstance(model, (ArbitraryStylization, AdaIN)):
        return ExportSpec(
            model,
            [("content", image), ("style", image)],
            lambda c, s: model((c, s), training=False),
            f"{model.name} (content, style)",
        )
    if isinstance(model, SuperResolutionModel):
        model.build_for_weights()  # a SavedModel tracks built layers only
        return ExportSpec(model, [("image", image)], lambda x: model(x, training=False), model.name)
    transform = getattr(model, "transform", None)
    if transform is not None and callable(transform):
        return ExportSpec(
            transform, [("image", image)], lambda x: transform(x, training=False), f"{model.name}.transform"
        )
    import keras

    if isinstance(model, keras.Model) and getattr(model, "_export_image_network", False):
        return ExportSpec(model, [("image", image)], lambda x: model(x, training=False), model.name)
    kind = type(model).__name__
    raise ConfigError(
        f"{kind} is not a feed-forward image network (it optimises each image, or has no "
        "image-to-image network to export); no format can export it. Exportable: Johnson "
        "models and presets (johnson_*, johnson_sr), multistyle, arbitrary_stylization, adain, "
        "waifu2x_* and realesrgan_x4plus."
    )


def _resolve_model(model):
    if isinstance(model, (str, os.PathLike)):
        from keras_style import presets

        return presets.load(model)
    return model


def _check_backend():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(
            f"Export runs on the TensorFlow backend (tf2onnx, the LiteRT converter and "
            f"SavedModel trace TF graphs); this process uses {keras.backend.backend()!r}: "
            "run it with KERAS_BACKEND=tensorflow."
        )


def _tf_function(spec):
    import tensorflow as tf

    sig = [tf.TensorSpec(shape, tf.float32, name=name) for name, shape in spec.inputs]
    call = spec.call

    @tf.function(input_signature=sig, autograph=False)
    def serve(*args):
        return {"output": tf.cast(call(*args), tf.float32)}

    return serve, sig


def _export_onnx(spec, tmp, opset):
    try:
        import tf2onnx
    except ImportError:
        raise ConfigError(
            "ONNX export needs tf2onnx: pip install tf2onnx (or export --format saved_model / litert)."
        ) from None
    serve, sig = _tf_function(spec)
    try:
        tf2onnx.convert.from_function(serve, input_signature=sig, opset=opset, output_path=str(tmp))
    except Exception as e:  # tf2onnx raises plain exceptions for unsupported graphs
        raise ConversionError(
            f"tf2onnx could not convert {spec.description}: {e}. Try --format saved_model."
        ) from e


def _export_litert(spec, tmp):
    import tensorflow as tf

    # Through a SavedModel: its variables are frozen into constants (a converter fed the
    # concrete function keeps resource variables that the interpreter reads uninitialised).
    saved = Path(tmp).with_suffix(".saved_model")
    _export_saved_model(spec, saved)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex delegate
    converter.experimental_enable_resource_variables = False
    try:
        data = converter.convert()
    except Exception as e:
        msg = str(e)
        ops = sorted({line.split("(")[0].strip() for line in msg.splitlines() if line.strip().startswith("tf.")})
        why = f"it needs TensorFlow ops that LiteRT has no builtin for ({', '.join(ops)})" if ops else msg[-500:]
        raise ConversionError(
            f"{spec.description} cannot be exported to LiteRT with builtin ops: {why}. "
            "ONNX (--format onnx) and SavedModel (--format saved_model) export it."
        ) from e
    Path(tmp).write_bytes(data)


def _export_saved_model(spec, tmp):
    import keras
    import tensorflow as tf

    call = spec.call
    archive = keras.export.ExportArchive()
    archive.track(spec.network)
    archive.add_endpoint(
        "serve",
        lambda *args: {"output": tf.cast(call(*args), tf.float32)},
        input_signature=[tf.TensorSpec(shape, tf.float32, name=name) for name, shape in spec.inputs],
    )
    archive.write_out(str(tmp), verbose=False)


def export_model(model, path, format="onnx", overwrite=False, opset=ONNX_OPSET):
    """Export ``model``'s image network to ``path``; returns the `Path` written.

    Args:
        model: a model object, a registry / preset name (``"johnson_great_wave"``) or a
            ``.keras`` file.
        path: output file (``.onnx``, ``.tflite``) or folder (SavedModel).
        format: ``"onnx"``, ``"litert"`` (alias ``"tflite"``) or ``"saved_model"``.
        overwrite: replace an existing output (otherwise `OutputExistsError`).
        opset: ONNX opset (17 by default; onnxruntime >= 1.12 runs it).
    """
    fmt = normalize_format(format)
    path = Path(path).expanduser()
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it.")
    if not path.parent.is_dir():
        raise ConfigError(f"The output folder {path.parent} does not exist.")
    if fmt != "saved_model" and path.is_dir():
        raise ConfigError(f"{path} is a folder; {fmt} export writes one file (e.g. {path / ('model' + SUFFIXES[fmt])}).")
    if fmt == "saved_model" and path.is_file():
        raise ConfigError(f"{path} is a file; a SavedModel is a folder: give a folder path.")
    _check_backend()
    spec = export_spec(_resolve_model(model))
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = tmpdir / ("saved_model" if fmt == "saved_model" else "model" + SUFFIXES[fmt])
        if fmt == "onnx":
            _export_onnx(spec, tmp, opset)
        elif fmt == "litert":
            _export_litert(spec, tmp)
        else:
            _export_saved_model(spec, tmp)
        if path.is_dir():  # overwrite a SavedModel folder: move the old one aside first
            old = tmpdir / "old"
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


# --------------------------------------------------------------------------- runtimes


def run_exported(path, *inputs, format=None):
    """Run an exported file in its own runtime (onnxruntime, the LiteRT interpreter, TF
    SavedModel); returns the NumPy output. ``inputs`` go in the order of `export_spec`
    (``image``; ``image, style_weights``; ``content, style``: the names' sorted order).
    ``format`` is inferred from the path."""
    import numpy as np

    path = Path(path)
    fmt = normalize_format(format) if format else (
        "saved_model" if path.is_dir() else {".onnx": "onnx", ".tflite": "litert"}.get(path.suffix.lower())
    )
    if fmt is None:
        raise ConfigError(f"Cannot tell the format of {path}: use .onnx, .tflite or a SavedModel folder.")
    arrays = [np.ascontiguousarray(a, dtype="float32") for a in inputs]
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        return sess.run(None, dict(zip(names, arrays)))[0]
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interp = Interpreter(model_path=str(path))
        runner = interp.get_signature_runner("serving_default")
        names = sorted(runner.get_input_details())
        return runner(**dict(zip(names, arrays)))["output"]
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    names = sorted(fn.structured_input_signature[1])
    return fn(**{n: tf.constant(a) for n, a in zip(names, arrays)})["output"].numpy()

__all__ = ["export_model", "export_spec", "run_exported", "normalize_format", "FORMATS", "OutputExistsError"]
