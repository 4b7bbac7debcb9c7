"""Style and content distance of presets and methods on a folder of photos.

    python examples/evaluate_style.py examples/images --model johnson_great_wave
    python examples/evaluate_style.py examples/images --model johnson_starry_night \
        --method gatys --method adain --style examples/images/van_gogh_starry_night.jpg

For every photo (paintings in the folder are skipped: files named in
``--skip-paintings-from``'s CREDITS, by default every file used as a style) it stylizes
with each model or method and prints the style distance (lower = more of the painting's
style; 1.0 = as far from it as the photo) and the content distance (relative relu3_3
change) under ImageNet VGG16, then the mean per model. The yardstick is
`keras_style.metrics.StyleYardstick` (``docs/evaluation.md``). ``--save DIR`` writes every
output so that you can look at them.

A preset's painting is its manifest's ``provenance.style_image`` (a file in
``examples/images/``) unless ``--style`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import keras_style as ks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def painting_of(model_name, style):
    if style:
        return str(style)
    model_name = model_name.partition(":")[0]
    if model_name in ks.weights.names():
        m = ks.weights.manifest(model_name)
        s = (m.get("provenance") or {}).get("style_image")
        if s:
            return str(ROOT / "examples" / "images" / Path(s).name)
    raise SystemExit(f"{model_name}: give --style PAINTING (the model records none).")


def make_runner(kind, name, args):
    """A function photo -> stylized array for a preset name or a method."""
    if kind == "model":
        # "multistyle_26:19": a multi-style preset with the style index to measure
        base, _, index = name.partition(":")
        if base.endswith(".keras") or Path(base).is_file():
            index = ""  # a file path may contain ":" only as part of the name
            base = name
        model = ks.presets.load(base)  # a preset name or a .keras file
        if index:
            return lambda photo, painting: model.stylize(photo, style=int(index))
        return lambda photo, painting: model.stylize(photo)
    if name == "gatys":
        model = ks.get("gatys", backbone_weights=args.weights)
        return lambda photo, painting: model.stylize(
            photo, painting, size=args.size, steps=args.gatys_steps, verbose=0)
    if name == "arbitrary_stylization":
        model = ks.get("arbitrary_stylization")
        return lambda photo, painting: model.stylize(photo, painting)
    if name == "adain":
        model = ks.presets.load(args.adain_weights) if args.adain_weights else ks.get("adain")
        return lambda photo, painting: model.stylize(photo, painting)
    raise SystemExit(f"Unknown method {name!r}: use gatys, adain or arbitrary_stylization.")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", help="a folder of photos (or one photo)")
    p.add_argument("--model", action="append", default=[],
                   help="a preset or .keras file (repeatable); NAME:K picks style K of a multi-style preset")
    p.add_argument("--method", action="append", default=[],
                   help="gatys, adain or arbitrary_stylization, with --style (repeatable)")
    p.add_argument("--style", default=None, help="the painting (default: each preset's own)")
    p.add_argument("--size", type=int, default=256, help="longer side of photos and paintings")
    p.add_argument("--weights", default="vgg16_imagenet", help="Gatys' VGG weights")
    p.add_argument("--gatys-steps", type=int, default=100)
    p.add_argument("--adain-weights", default=None, help="an AdaIN preset or .keras file")
    p.add_argument("--exclude", action="append", default=[],
                   help="file names to skip (paintings in the same folder are skipped anyway)")
    p.add_argument("--save", default=None, help="folder for the outputs")
    args = p.parse_args(argv)

    src = Path(args.photos)
    photos = [src] if src.is_file() else [Path(f) for f in ks.data.list_image_files(src)]
    runs = [("model", m) for m in args.model] + [("method", m) for m in args.method]
    if not runs:
        raise SystemExit("Give at least one --model or --method.")
    paintings = {name: painting_of(name, args.style) for _, name in runs}
    skip = {Path(x).name for x in paintings.values()} | set(args.exclude)
    credits = ROOT / "examples" / "images" / "CREDITS.md"
    if credits.exists() and src.resolve() == (ROOT / "examples" / "images").resolve():
        text = credits.read_text()
        skip |= {f.name for f in photos if f.stem.startswith(("hokusai", "van_gogh", "kandinsky"))
                 and f.name in text}
    photos = [f for f in photos if f.name not in skip]
    if not photos:
        raise SystemExit(f"No photos left in {src} after skipping paintings {sorted(skip)}.")
    ys = ks.metrics.StyleYardstick(size=args.size)
    print(f"{'model / method':28s} {'photo':22s} {'style':>7s} {'content':>8s} {'seconds':>8s}")
    summary = []
    for kind, name in runs:
        painting = paintings[name]
        run = make_runner(kind, name, args)
        rows = []
        for photo in photos:
            x = ks.load_image(str(photo), max_size=args.size) if args.size else str(photo)
            t0 = time.perf_counter()
            y = np.clip(np.asarray(run(x, painting), "float32"), 0, 1)
            dt = time.perf_counter() - t0
            r = ys.evaluate(y, x, painting)
            rows.append((r["style_distance"], r["content_distance"], dt))
            print(f"{name:28s} {photo.name:22s} {r['style_distance']:7.3f} {r['content_distance']:8.3f} {dt:8.2f}",
                  flush=True)
            if args.save:
                out = Path(args.save) / f"{Path(name.replace(':', '_')).stem}_{photo.stem}.png"
                out.parent.mkdir(parents=True, exist_ok=True)
                ks.save_image(y, str(out), overwrite=True)
        s, c, t = (float(np.mean(v)) for v in zip(*rows))
        summary.append((name, Path(painting).name, s, c, t))
    print()
    print(f"| model / method | painting | style distance (mean of {len(photos)}) | content distance | s / image |")
    print("|---|---|---|---|---|")
    for name, painting, s, c, t in summary:
        print(f"| {name} | {painting} | {s:.3f} | {c:.3f} | {t:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
