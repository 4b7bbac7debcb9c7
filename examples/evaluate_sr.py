"""PSNR / SSIM table for super-resolution, like Johnson et al. (2016)'s (bicubic vs model).

    python examples/evaluate_sr.py examples/images --model sr.keras --scale 4

Each image is cropped to a multiple of ``scale``, degraded exactly as in training
(`keras_style.data.degrade`: Gaussian blur sigma 1.0, then bicubic downsampling), then
upscaled by bicubic interpolation (the baseline row) and by the model (histogram-matched,
as in the paper, unless --no-histogram-matching). Metrics are computed on the Y channel
with ``scale`` border pixels removed (`keras_style.metrics`), for both rows by the same
code. Without --model only the bicubic row is printed.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("images", help="folder of high-resolution test images")
    p.add_argument("--model", default=None, help=".keras johnson_sr model or preset name")
    p.add_argument("--scale", type=int, default=None, help="4 or 8 (default: the model's, else 4)")
    p.add_argument("--max-size", type=int, default=512, help="centre-crop images to at most this size")
    p.add_argument("--no-histogram-matching", action="store_true")
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    import keras_style as ks

    model = ks.presets.load(args.model) if args.model else None
    scale = args.scale or (model.scale if model is not None else 4)
    files = ks.data.readable_image_files(args.images)
    rows = {"bicubic": [], "model": []}
    print(f"{'image':32s} {'bicubic PSNR/SSIM':>20s}" + (f" {'model PSNR/SSIM':>20s}" if model else ""))
    for f in files:
        hr = ks.load_image(f)
        h, w = hr.shape[:2]
        ch, cw = min(h, args.max_size), min(w, args.max_size)
        ch, cw = ch - ch % scale, cw - cw % scale
        top, left = (h - ch) // 2, (w - cw) // 2
        hr = hr[top : top + ch, left : left + cw]
        lr = ks.data.degrade(tf.constant(hr), scale=scale, blur_sigma=1.0).numpy()
        bic = np.clip(keras.ops.convert_to_numpy(
            keras.ops.image.resize(lr[None], (ch, cw), interpolation="bicubic", antialias=False))[0], 0, 1)
        vals = {"bicubic": (ks.metrics.psnr(hr, bic, crop_border=scale), ks.metrics.ssim(hr, bic, crop_border=scale))}
        if model is not None:
            sr = model.upscale(lr, histogram_matching=False if args.no_histogram_matching else None)
            vals["model"] = (ks.metrics.psnr(hr, sr, crop_border=scale), ks.metrics.ssim(hr, sr, crop_border=scale))
        line = f"{os.path.basename(f)[:32]:32s}"
        for k, (ps, ss) in vals.items():
            rows[k].append((ps, ss))
            line += f" {ps:11.2f} / {ss:.4f}"
        print(line, flush=True)
    label = f"mean (x{scale}, {len(files)} images)"
    line = f"{label:32s}"
    for k in ("bicubic", "model"):
        if rows[k]:
            a = np.asarray(rows[k])
            line += f" {a[:, 0].mean():11.2f} / {a[:, 1].mean():.4f}"
    print(line)
    return rows


if __name__ == "__main__":
    main()
