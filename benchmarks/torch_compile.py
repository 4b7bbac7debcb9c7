"""What ``torch.compile`` costs and saves for feed-forward inference on the torch backend.

For each model and image size, two fresh interpreters (``KERAS_BACKEND=torch``): one with
``model.jit_compile_inference = False`` (eager under ``no_grad``, the ``"auto"`` default),
one with True (Keras' ``jit_compile=True``, i.e. ``torch.compile``). Each times its first
call (which compiles) and the median of ``--reps`` further calls on the same input. The
break-even is the number of same-size calls after which compiling has paid for itself:
(first compiled - first eager) / (eager per call - compiled per call).

    python benchmarks/torch_compile.py --models johnson_great_wave waifu2x_photo --sizes 256 --reps 5

The figures go into docs/backends.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r'''
import json, os, sys, time
import numpy as np
import keras_style as ks

name, jit, size, reps = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
x = np.random.default_rng(0).random((size, size, 3)).astype("float32")
m = ks.get(name)
m.jit_compile_inference = jit
run = m.upscale if hasattr(m, "upscale") else m.stylize
t = time.perf_counter(); y0 = run(x); first = time.perf_counter() - t
ts = []
for _ in range(reps):
    t = time.perf_counter(); y = run(x); ts.append(time.perf_counter() - t)
print(json.dumps({"first": first, "per_call": float(np.median(ts)), "out": float(np.mean(y))}))
'''


def measure(name, jit, size, reps):
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", CHILD, name, "1" if jit else "0", str(size), str(reps)],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{name} (compile={jit}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["johnson_great_wave", "waifu2x_photo"])
    p.add_argument("--sizes", nargs="+", type=int, default=[256])
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    print(f"{'model':<22}{'px':>6}{'eager first':>13}{'eager/call':>12}{'compiled first':>16}"
          f"{'compiled/call':>15}{'break-even calls':>18}")
    for name in args.models:
        for size in args.sizes:
            e = measure(name, False, size, args.reps)
            c = measure(name, True, size, args.reps)
            if abs(e["out"] - c["out"]) > 1e-3:
                raise SystemExit(f"{name}: eager and compiled outputs differ ({e['out']} vs {c['out']})")
            saved = e["per_call"] - c["per_call"]
            even = "never" if saved <= 0 else f"{(c['first'] - e['first']) / saved:.0f}"
            print(f"{name:<22}{size:>6}{e['first']:>12.2f}s{e['per_call']:>11.3f}s{c['first']:>15.2f}s"
                  f"{c['per_call']:>14.3f}s{even:>18}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
