"""PSNR / SSIM table for super-resolution, like Johnson et al. (2016)'s: bicubic vs models.

    python examples/evaluate_sr.py examples/images --models bicubic waifu2x_photo realesrgan_x4plus
    python examples/evaluate_sr.py photos/ --scale 4 --models bicubic johnson_sr_x4 realesrgan_x4plus
    python examples/evaluate_sr.py examples/images --model sr.keras --scale 4      # one model (older form)

Each image is centre-cropped (at most ``--max-size``) to a multiple of the scale, degraded
exactly as in Johnson et al.'s training (`keras_style.data.degrade`: Gaussian blur sigma
``--blur-sigma`` 1.0, then bicubic downsampling), then upscaled by bicubic interpolation
(the baseline, one column per scale in use) and by each model (a preset name, a registry
name or a ``.keras`` file). Every model runs at its own scale (waifu2x x2, Real-ESRGAN x4,
Johnson x4/x8) unless ``--scale`` is given, then at that scale where it can (waifu2x x4 =
two passes) and is skipped otherwise. Johnson models histogram-match their output as in
the paper unless --no-histogram-matching. Metrics: Y channel (ITU-R BT.601) with
``scale`` border pixels removed (`keras_style.metrics`), the same code for every column.

The degradation is Johnson et al.'s, not the one each pretrained network was trained for
(waifu2x: downscaling with various filters and JPEG noise; Real-ESRGAN: its second-order
blur/noise/resize/JPEG pipeline), and GAN-trained Real-ESRGAN trades PSNR for sharpness:
these are numbers on our own photos, not the papers' Set5 / Set14 tables.
"""

from __future__ import annotations

import argparse
import inspect
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _files(paths):
    import keras_style as ks

    out = []
    for p in paths:
        out += ks.data.readable_image_files(p) if os.path.isdir(p) else [p]
    return out


def _load_model(name):
    import keras_style as ks

    return ks.presets.load(name)


def _model_scale(model, wanted):
    """The scale ``model`` runs at (``wanted`` or its own), or None when it cannot."""
    native = getattr(model, "scale", None)
    if wanted is None or wanted == native:
        return native
    accepts = inspect.signature(model.upscale).parameters
    if "scale" in accepts:
        try:
            model._check_scale(wanted)
            return wanted
        except Exception:  # noqa: BLE001 - a scale the model cannot do
            return None
    return None


def _upscale(model, lr, scale, histogram_matching):
    accepts = inspect.signature(model.upscale).parameters
    kwargs = {}
    if "histogram_matching" in accepts:
        kwargs["histogram_matching"] = histogram_matching
    if "scale" in accepts:
        kwargs["scale"] = scale
    return model.upscale(lr, **kwargs)[..., :3]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("images", nargs="+", help="folders or files of high-resolution test images")
    p.add_argument("--models", nargs="+", default=None,
                   help="bicubic and/or model names (presets, registry names, .keras files)")
    p.add_argument("--model", default=None, help="one model (same as --models bicubic MODEL)")
    p.add_argument("--scale", type=int, default=None, help="one scale for every model (default: each model's own)")
    p.add_argument("--max-size", type=int, default=512, help="centre-crop images to at most this size")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    p.add_argument("--blur-sigma", type=float, default=1.0, help="Gaussian blur before downsampling (paper 1.0)")
    p.add_argument("--no-histogram-matching", action="store_true")
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    import keras_style as ks

    names = list(args.models or ["bicubic"])
    if args.model:
        names += [n for n in ("bicubic", args.model) if n not in names]
    models = {}
    for n in names:
        if n == "bicubic":
            continue
        m = _load_model(n)
        s = _model_scale(m, args.scale)
        if s is None:
            print(f"skipping {n}: it upscales by {getattr(m, 'scale', '?')}, not x{args.scale}")
            continue
        models[n] = (m, s)
    scales = sorted({s for _, s in models.values()} or {args.scale or 4})
    cols = []
    for sc in scales:  # each scale's bicubic baseline next to the models at that scale
        if "bicubic" in names or not models:
            cols.append(f"bicubic x{sc}")
        cols += [f"{n} x{s}" for n, (_, s) in models.items() if s == sc]
    files = _files(args.images)[: args.limit]
    rows = {c: [] for c in cols}
    width = max(20, *(len(c) for c in cols))
    print(f"{'image':24s}" + "".join(f" {c:>{width}s}" for c in cols))
    hm = False if args.no_histogram_matching else None
    for f in files:
        hr_full = ks.load_image(f)
        line = f"{os.path.basename(str(f))[:24]:24s}"
        for c in cols:
            name, s = c.rsplit(" x", 1)
            s = int(s)
            h, w = hr_full.shape[:2]
            ch, cw = min(h, args.max_size), min(w, args.max_size)
            ch, cw = ch - ch % s, cw - cw % s
            top, left = (h - ch) // 2, (w - cw) // 2
            hr = hr_full[top : top + ch, left : left + cw]
            lr = ks.data.degrade(tf.constant(hr), scale=s, blur_sigma=args.blur_sigma).numpy()
            if name == "bicubic":
                sr = np.clip(keras.ops.convert_to_numpy(
                    keras.ops.image.resize(lr[None], (ch, cw), interpolation="bicubic", antialias=False))[0], 0, 1)
            else:
                sr = _upscale(models[name][0], lr, s, hm)
            ps, ss = ks.metrics.psnr(hr, sr, crop_border=s), ks.metrics.ssim(hr, sr, crop_border=s)
            rows[c].append((float(ps), float(ss)))
            line += f" {f'{float(ps):.2f} / {float(ss):.4f}':>{width}s}"
        print(line, flush=True)
    label = f"mean ({len(files)} images)"
    line = f"{label:24s}"
    for c in cols:
        a = np.asarray(rows[c])
        line += f" {f'{a[:, 0].mean():.2f} / {a[:, 1].mean():.4f}':>{width}s}"
    print(line)
    return rows


if __name__ == "__main__":
    main()
