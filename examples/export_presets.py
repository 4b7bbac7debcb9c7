"""Export the shipped presets in every format and check each file in its own runtime.

For every preset and format (onnx, litert, saved_model), `keras_style.export.export_model`
writes the file, `run_exported` runs it (onnxruntime, the LiteRT interpreter with builtin
ops only, TensorFlow's SavedModel loader) at two input sizes, and the largest absolute
difference from the Keras network on the same photo is printed with the export
time and the file size. The tests do the same on tiny configs (tests/test_export.py);
this script is the full-size check recorded in docs/export.md.

    python examples/export_presets.py [--models johnson_great_wave multistyle_26 ...] [--formats onnx litert]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_style as ks  # noqa: E402
from keras_style.export import export_model, export_spec, run_exported  # noqa: E402

PRESETS = ("johnson_great_wave", "johnson_starry_night", "multistyle_26", "arbitrary_stylization",
           "johnson_sr_x4", "waifu2x_photo", "realesrgan_x4plus")
SR = ("waifu2x_photo", "realesrgan_x4plus", "johnson_sr_x4")
SUFFIX = {"onnx": ".onnx", "litert": ".tflite", "saved_model": ""}


IMAGES = Path(__file__).resolve().parent / "images"
PICTURES = {"image": "chelsea.jpg", "content": "chelsea.jpg", "style": "hokusai_great_wave.jpg"}


def _inputs(spec, size):
    """A bundled photo (and painting, for a style input) resized to ``size``: what the
    presets are for. (On uniform noise a trained network can meet instance-norm channels of
    almost no variance, where 1e-7 differences in a runtime's sums grow past 1e-4.)"""
    out = []
    for name, shape in spec.inputs:
        if len(shape) == 4:
            img = ks.load_image(str(IMAGES / PICTURES[name]))[..., :3]
            img = keras.ops.convert_to_numpy(keras.ops.image.resize(img[None], size, antialias=True))
            out.append(np.clip(img, 0, 1).astype("float32"))
        else:  # style weights: a blend of two styles
            w = np.zeros((1, shape[1]), "float32")
            w[0, 0], w[0, -1] = 0.3, 0.7
            out.append(w)
    return out


def _size_mb(path):
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    return path.stat().st_size / 1e6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(PRESETS))
    p.add_argument("--formats", nargs="+", default=["onnx", "litert", "saved_model"])
    args = p.parse_args(argv)
    worst = 0.0
    print(f"{'preset':<24}{'format':<13}{'export s':>9}{'MB':>8}  max |exported - keras| at two sizes")
    for name in args.models:
        model = ks.get(name)
        spec = export_spec(model)
        sizes = ((40, 56), (52, 36)) if name in SR else ((96, 128), (132, 100))
        ins = {s: _inputs(spec, s) for s in sizes}
        refs = {s: keras.ops.convert_to_numpy(spec.call(*[keras.ops.convert_to_tensor(a) for a in ins[s]]))
                for s in sizes}
        for fmt in args.formats:
            tmp = Path(tempfile.mkdtemp(prefix="ks_export_"))
            try:
                t = time.perf_counter()
                path = export_model(model, tmp / f"{name}{SUFFIX[fmt]}", format=fmt)
                dt = time.perf_counter() - t
                diffs = []
                for s in sizes:
                    got = run_exported(path, *ins[s])
                    if got.shape != refs[s].shape:
                        raise SystemExit(f"{name} {fmt} {s}: shape {got.shape}, Keras {refs[s].shape}")
                    diffs.append(float(np.abs(got - refs[s]).max()))
                worst = max(worst, *diffs)
                print(f"{name:<24}{fmt:<13}{dt:>9.1f}{_size_mb(path):>8.1f}  "
                      + "  ".join(f"{s[0]}x{s[1]}: {d:.2e}" for s, d in zip(sizes, diffs)), flush=True)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    print(f"largest difference: {worst:.2e} ({'within' if worst <= 1e-4 else 'ABOVE'} 1e-4)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
