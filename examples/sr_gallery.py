"""Gallery of x4 super-resolution on crops of the held-out photos: one row per photo.

    python examples/sr_gallery.py                      # -> examples/gallery/super_resolution.jpg

Each high-resolution crop is degraded as in Johnson et al.'s training
(`keras_style.data.degrade`: Gaussian blur sigma 1.0, bicubic downsampling x4), then
upscaled x4 by bicubic interpolation, waifu2x photo (an x2 model, run twice as waifu2x does
for x4), Real-ESRGAN x4plus and our Johnson SR x4 preset. The degraded crop has a margin
of ``--margin`` output pixels around the shown part, so no network sees the crop's edge
where it is shown. Each label gives the PSNR (Y channel) of the shown part against the
original.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_style as ks  # noqa: E402
from keras_style.methods.multistyle.multi_style_transfer import labelled_grid  # noqa: E402

HERE = Path(__file__).resolve().parent

# (photo, top, left) of the shown high-resolution crop: an eye and fur, a face, a launch tower
CROPS = [("chelsea.jpg", 70, 110), ("astronaut.jpg", 30, 150), ("rocket.jpg", 200, 170)]


def bicubic(lr, scale):
    h, w = lr.shape[:2]
    up = keras.ops.image.resize(lr[None], (h * scale, w * scale), interpolation="bicubic", antialias=False)
    return np.clip(keras.ops.convert_to_numpy(up)[0], 0.0, 1.0)


def nearest(lr, scale):
    return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", default=str(HERE / "images"))
    p.add_argument("--size", type=int, default=160, help="shown crop, output pixels (a multiple of 4)")
    p.add_argument("--margin", type=int, default=16, help="context around it, output pixels (a multiple of 4)")
    p.add_argument("--johnson", default="johnson_sr_x4",
                   help="Johnson SR model (preset name or .keras file; 'none' leaves the column out)")
    p.add_argument("--johnson-label", default="Johnson SR x4 (ours)")
    p.add_argument("--no-histogram-matching", action="store_true")
    p.add_argument("-o", "--output", default=str(HERE / "gallery" / "super_resolution.jpg"))
    p.add_argument("--quality", type=int, default=88)
    args = p.parse_args(argv)
    s = 4
    if args.size % s or args.margin % s:
        raise ks.errors.ConfigError(f"--size and --margin must be multiples of {s}.")

    import tensorflow as tf

    models = [
        ("bicubic", lambda lr: bicubic(lr, s)),
        ("waifu2x photo x2, twice", lambda lr, m=ks.get("waifu2x_photo"): m.upscale(lr, scale=4)[..., :3]),
        ("Real-ESRGAN x4plus", lambda lr, m=ks.get("realesrgan_x4plus"): m.upscale(lr)[..., :3]),
    ]
    if args.johnson.lower() != "none":
        jm = ks.get(args.johnson) if not args.johnson.endswith(".keras") else keras.saving.load_model(args.johnson)
        hm = False if args.no_histogram_matching else None
        models.append((args.johnson_label, lambda lr: jm.upscale(lr, histogram_matching=hm)))

    cells = []
    for name, top, left in CROPS:
        hr_full = ks.load_image(str(Path(args.images) / name))[..., :3]
        m, n = args.margin, args.size
        t0, l0 = max(0, top - m), max(0, left - m)
        t0, l0 = t0 - t0 % s, l0 - l0 % s
        region = hr_full[t0 : t0 + n + 2 * m, l0 : l0 + n + 2 * m]
        region = region[: region.shape[0] - region.shape[0] % s, : region.shape[1] - region.shape[1] % s]
        lr = ks.data.degrade(tf.constant(region), scale=s, blur_sigma=1.0).numpy()
        dt, dl = top - t0, left - l0
        show = lambda a: a[dt : dt + n, dl : dl + n]  # noqa: E731
        hr = show(region)
        cells.append((f"{Path(name).stem}: input x4 (nearest)", show(nearest(lr, s))))
        for label, fn in models:
            out = show(np.clip(np.asarray(fn(lr), "float32"), 0, 1))
            psnr = float(ks.metrics.psnr(hr, out))
            cells.append((f"{label} {psnr:.1f} dB", out))
            print(name, label, f"{psnr:.2f} dB", flush=True)
        cells.append(("original", hr))
    sheet = labelled_grid(cells, columns=len(models) + 2, gap=4, label_height=14)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(".tmp." + out.name)
    from PIL import Image

    Image.fromarray((sheet * 255 + 0.5).astype("uint8")).save(tmp, format="JPEG", quality=args.quality)
    os.replace(tmp, out)
    print("wrote", out, f"({out.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
