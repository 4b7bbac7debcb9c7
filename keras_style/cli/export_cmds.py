"""`keras-style export MODEL --format onnx|litert|saved_model -o FILE`: a model's image network
as a file that runs in its own runtime (onnxruntime, the LiteRT interpreter, TensorFlow).

MODEL is a preset name (``johnson_great_wave``, ``multistyle_26``, ``waifu2x_photo`` ...) or a
``.keras`` file. The exported network takes float32 NHWC RGB in [0, 1] of any height and width
(see docs/export.md for the inputs of each model). ``keras-style stylize photo.jpg --model
FILE.onnx`` runs an exported style network without Keras.
"""

from __future__ import annotations

import argparse

from keras_style.errors import ConfigError

FORMATS = ("onnx", "litert", "saved_model")


def add_parsers(sub):
    p = sub.add_parser(
        "export",
        help="export a model's image network to ONNX, LiteRT (.tflite) or a TF SavedModel",
        description=__doc__.split("\n\n", 1)[0].split(": ", 1)[-1] + "\n\n" + __doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a preset name or a .keras file")
    p.add_argument("--format", default="onnx", help="onnx (default), litert (.tflite) or saved_model (a folder)")
    p.add_argument("-o", "--output", required=True, help="output file (.onnx, .tflite) or folder (SavedModel)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args):
    from pathlib import Path

    fmt = str(args.format).lower()
    fmt = {"tflite": "litert", "tf_saved_model": "saved_model"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown --format {args.format!r}; use one of: {', '.join(FORMATS)}.")
    out = Path(args.output).expanduser()
    if out.exists() and not args.overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it.")
    if not out.parent.is_dir():
        raise ConfigError(f"The folder {out.parent} does not exist; create it first.")

    from keras_style.cli._random_weights import check_model

    check_model(args.model)
    from keras_style import presets
    from keras_style.export import export_model, export_spec

    model = presets.load(args.model)
    spec = export_spec(model)
    path = export_model(model, out, format=fmt, overwrite=args.overwrite, opset=args.opset)
    if not args.quiet:
        inputs = ", ".join(f"{n} {tuple('?' if d is None else d for d in s)}" for n, s in spec.inputs)
        print(f"wrote {path} ({fmt}; {spec.description}; inputs {inputs}; output 'output')")
    return 0
