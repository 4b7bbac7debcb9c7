"""Train the style-aware GAN (Sanakoyeu et al. 2018) on photos vs. an artist's paintings, on CPU.

Small configuration by default (192 px crops, ngf=ndf=24, 9 residual blocks, batch 1, official
losses, weights, optimisers and success-rate rule) so that it learns something within an hour on
two CPU cores. The official model trains 300k steps on 768 px crops with ngf=32, ndf=64.

It saves a preview row (held-out photos -> stylized) every ``--preview-every`` steps, a training
log, BackupAndRestore checkpoints (rerun the same command to resume) and, at the end, the model
and ``examples/gallery/style_aware_progress.png`` (rows = training steps).

    python examples/train_style_aware.py --minutes 45
    python examples/train_style_aware.py --photos ../shared/images/content \
        --art-glob "../shared/images/style/van_gogh_*" --image-size 192 --steps 4000
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "images"
PREVIEW_PHOTOS = ("chelsea", "astronaut", "coffee", "rocket")  # held out from training


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", default=str(SHARED / "content"))
    p.add_argument("--art-glob", default=str(SHARED / "style" / "van_gogh_*"))
    p.add_argument("--image-size", type=int, default=192)
    p.add_argument("--ngf", type=int, default=24)
    p.add_argument("--ndf", type=int, default=24)
    p.add_argument("--res-blocks", type=int, default=9)
    p.add_argument("--steps", type=int, default=100000, help="upper bound; --minutes usually stops first")
    p.add_argument("--minutes", type=float, default=45.0, help="wall-time budget")
    p.add_argument("--preview-every", type=int, default=250)
    p.add_argument("--preview-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=228)  # model.py: tf.set_random_seed(228)
    p.add_argument("--out", default=str(ROOT / "examples" / "output" / "style_aware"))
    p.add_argument("--grid", default=str(ROOT / "examples" / "gallery" / "style_aware_progress.png"))
    return p.parse_args()


def _square(img, size):
    from keras_style.images import load_image

    a = load_image(img, size=size)
    h, w = a.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return a[top : top + size, left : left + size]


def _save_png(arr, path):
    from PIL import Image

    tmp = str(path) + ".tmp.png"
    Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype("uint8")).save(tmp)
    os.replace(tmp, path)


def build_grid(rows_dir, photos, grid_path, max_rows=7):
    """Grid: first row the held-out photos, then one row per selected preview step (labelled)."""
    from PIL import Image, ImageDraw

    files = sorted(glob.glob(os.path.join(rows_dir, "step_*.png")))
    if not files:
        return None
    idx = np.unique(np.linspace(0, len(files) - 1, min(max_rows, len(files))).round().astype(int))
    chosen = [files[i] for i in idx]
    rows = [("photos", np.concatenate(photos, axis=1))]
    for f in chosen:
        step = int(Path(f).stem.split("_")[1])
        rows.append((f"step {step}", np.asarray(Image.open(f).convert("RGB"), dtype="float32") / 255.0))
    label_w = 110
    h = rows[0][1].shape[0]
    w = rows[0][1].shape[1]
    canvas = Image.new("RGB", (label_w + w, h * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, arr) in enumerate(rows):
        canvas.paste(Image.fromarray((np.clip(arr, 0, 1) * 255).astype("uint8")), (label_w, r * h))
        draw.text((8, r * h + h // 2 - 6), label, fill="black")
    tmp = str(grid_path) + ".tmp.png"
    canvas.save(tmp)
    os.replace(tmp, grid_path)
    return grid_path


def main():
    args = parse_args()
    import keras

    import keras_style as ks

    out = Path(args.out)
    (out / "previews").mkdir(parents=True, exist_ok=True)
    art_files = sorted(glob.glob(args.art_glob))
    work = Path(tempfile.mkdtemp(prefix="style_aware_data_"))
    (work / "art").mkdir()
    (work / "photos").mkdir()
    for f in art_files:
        os.symlink(os.path.abspath(f), work / "art" / os.path.basename(f))
    held_out = []
    for f in sorted(glob.glob(os.path.join(args.photos, "*"))):
        if Path(f).stem in PREVIEW_PHOTOS:
            held_out.append(f)
        else:
            os.symlink(os.path.abspath(f), work / "photos" / os.path.basename(f))
    previews = [_square(f, args.preview_size) for f in held_out]
    print(f"{len(art_files)} paintings, {len(os.listdir(work / 'photos'))} training photos, "
          f"{len(previews)} held-out preview photos", flush=True)

    pairs = ks.data.photo_art_pairs(
        work / "photos", work / "art", image_size=args.image_size, batch_size=1, seed=args.seed, cache=True
    )
    model = ks.get(
        "style_aware", ngf=args.ngf, ndf=args.ndf, num_residual_blocks=args.res_blocks, seed=args.seed
    )
    model.compile()
    batch = np.stack(previews)
    log_path = out / "log.jsonl"
    t0 = time.time()

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_idx, logs=None):
            step = int(model.g_optimizer.iterations.numpy() + model.d_optimizer.iterations.numpy())
            if step % args.preview_every == 0 or step == 1:
                row = np.concatenate(list(model.preview(batch)), axis=1)
                _save_png(row, out / "previews" / f"step_{step:06d}.png")
                rec = {k: float(v) for k, v in (logs or {}).items()}
                rec.update(step=step, minutes=(time.time() - t0) / 60)
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                print(json.dumps(rec), flush=True)
                build_grid(out / "previews", previews, args.grid)
            if time.time() - t0 > args.minutes * 60 or step >= args.steps:
                model.stop_training = True

    steps_per_epoch = args.preview_every
    model.fit(
        pairs,
        steps_per_epoch=steps_per_epoch,
        epochs=max(1, args.steps // steps_per_epoch),
        verbose=2,
        callbacks=[keras.callbacks.BackupAndRestore(str(out / "backup"), save_freq="epoch"), Progress()],
    )
    step = int(model.g_optimizer.iterations.numpy() + model.d_optimizer.iterations.numpy())
    row = np.concatenate(list(model.preview(batch)), axis=1)
    _save_png(row, out / "previews" / f"step_{step:06d}.png")
    build_grid(out / "previews", previews, args.grid)
    model.save(out / "style_aware_van_gogh.keras")
    print(f"done: {step} steps in {(time.time() - t0) / 60:.1f} min "
          f"(G steps {int(model.g_optimizer.iterations.numpy())}, D steps {int(model.d_optimizer.iterations.numpy())}); "
          f"grid {args.grid}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
