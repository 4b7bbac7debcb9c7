"""Peak host memory of style-aware inference (ngf=32, 9 residual blocks: the official generator).

Each measurement runs in a fresh subprocess: build the model, warm up on a 64x64 image, record
the resident set size (RSS), then stylize one image of the given size (one pass, or tiled) and
report peak RSS minus the warmed-up RSS (ru_maxrss; Linux, kB).

    python benchmarks/style_aware_memory.py 512x512 1024x1024            # one pass
    python benchmarks/style_aware_memory.py 1936x1296                      # 2.5 MP, one pass
    python benchmarks/style_aware_memory.py 4896x3264 --tile 1024 --no-stats   # 16 MP, tiled
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, numpy as np, psutil
    import keras_style as ks
    w, h, tile, stats = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    m = ks.get("style_aware", seed=0)
    m.stylize(np.random.rand(64, 64, 3).astype("float32"))
    base = psutil.Process().memory_info().rss
    img = (np.random.default_rng(0).random((h, w, 3), dtype=np.float32))
    t = time.time()
    if tile == "none":
        out = m.stylize(img, memory_limit=float("inf"))
    else:
        out = m.stylize(img, tile=int(tile), whole_image_stats=stats, stat_passes=3)
    dt = time.time() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"w": w, "h": h, "tile": tile, "whole_image_stats": stats, "seconds": round(dt, 1),
                      "peak_extra_gib": round((peak - base) / 2**30, 2), "peak_rss_gib": round(peak / 2**30, 2),
                      "bytes_per_pixel": round((peak - base) / (w * h), 1),
                      "estimate_gib": round(m.estimate_memory(h, w) / 2**30, 2)}))
    """
)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sizes", nargs="+", help="WxH")
    p.add_argument("--tile", default="none")
    p.add_argument("--no-stats", action="store_true")
    a = p.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for s in a.sizes:
        w, h = s.lower().split("x")
        r = subprocess.run(
            [sys.executable, "-c", CHILD, w, h, a.tile, "0" if a.no_stats else "1"],
            capture_output=True, text=True, env=env,
        )
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        print(line[-1] if line else json.dumps({"size": s, "error": r.stderr[-500:]}), flush=True)


if __name__ == "__main__":
    main()
