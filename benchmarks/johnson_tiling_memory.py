"""Peak memory of tiled stylization of a large image (Johnson transform network).

    /usr/bin/time -v python benchmarks/johnson_tiling_memory.py --size 4096 --tile 512

Random weights of the bundled network's architecture (width 0.5, instance norm): memory
does not depend on the weights. Reports tracemalloc-free RSS peaks via ``resource`` and
the wall time; ``--stat-passes 1`` runs one approximate statistics pass instead of the
exact layer-by-layer passes (same crops, same peak memory, less time).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=64)
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--stat-passes", type=int, default=None)
    args = p.parse_args()
    from keras_style.methods.johnson import JohnsonTransformer
    from keras_style.tiling import tiled_apply

    net = JohnsonTransformer(width=args.width, normalization="instance", upsampling="resize_conv",
                             padding="reflect", layout="padded")
    rng = np.random.default_rng(0)
    img = rng.random((1, args.size, args.size, 3), dtype=np.float32)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.time()
    out = tiled_apply(net, img, tile=args.tile, overlap=args.overlap, stat_passes=args.stat_passes)
    wall = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"size {args.size} tile {args.tile} overlap {args.overlap} stat_passes {args.stat_passes or 'exact'}: "
          f"output {out.shape}, wall {wall:.0f} s, peak RSS {peak:.2f} GiB (before tiling {base:.2f} GiB)")


if __name__ == "__main__":
    main()
