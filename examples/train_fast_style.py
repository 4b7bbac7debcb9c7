"""Train a small Johnson et al. (2016) fast style-transfer network and save it as a preset.

Runs offline on a CPU: random crops of a folder of photos, one painting, the ImageNet
VGG16 loss network (``vgg16_imagenet``, offline through the ``offline`` extra), a
wall-clock budget and periodic checkpoints; ``--resume`` continues from the work
folder's checkpoint (and its step count) after an interruption.

    python examples/train_fast_style.py --content-dir ../shared/images/content \
        --exclude-from examples/images \
        --style examples/images/hokusai_great_wave.jpg --name johnson_great_wave \
        --minutes 40 --image-size 128 --batch-size 4

``--exclude-from DIR`` leaves out every photo whose file name is also in DIR (the
bundled example photos, which `examples/evaluate_style.py` measures on).

Writes ``weights_registry/<name>.weights.h5`` (transform network only) and
``weights_registry/<name>.json`` (a ``"preset": true`` manifest: exact config, sha256 and
provenance), plus checkpoints and previews under ``--work-dir``.

Loss weights: the HED VGG-16's feature magnitudes differ between layers (its relu1_2
Gram entries are ~1000x its relu4_3 ones), so by default each style layer's weight is
divided by the mean square of its target Gram matrix and the content weight by the mean
square of the relu2_2 features of a few training crops (``--normalize-weights``): the
weights below then mean "relative squared error" and transfer across loss networks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_style as ks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# The lean network of our bundled models (docs/design.md, "Performance": a bundled model must be lean):
# instance norm + resize-conv + reflect padding, padded residual blocks, scaled tanh.
NETWORK = dict(
    normalization="instance",  # Lua train.lua default / pytorch/examples (paper: batch)
    upsampling="resize_conv",  # pytorch/examples (paper: transposed convs)
    padding="reflect",
    output="tanh",  # paper
    layout="padded",
)


class TimeBudget(keras.callbacks.Callback):
    """Stop training after ``minutes`` of wall time; save checkpoints every N steps."""

    def __init__(self, minutes, every, ckpt_dir, log, done_before=0):
        super().__init__()
        self.done_before = done_before
        self.limit = minutes * 60.0
        self.every = every
        self.ckpt_dir = Path(ckpt_dir)
        self.log = log
        self.step = 0
        self.start = None
        self.last_logs = {}

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.last_logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.step % self.every == 0:
            ckpt = self.ckpt_dir / "transform.weights.h5"
            tmp = self.ckpt_dir / ".transform.tmp.weights.h5"
            self.model.save_transform_weights(str(tmp))
            os.replace(tmp, ckpt)  # a kill mid-save never leaves a corrupt checkpoint
            state = self.ckpt_dir / "state.json"
            state.with_suffix(".tmp").write_text(json.dumps({"steps": self.done_before + self.step}))
            os.replace(state.with_suffix(".tmp"), state)
            el = time.time() - self.start
            line = f"step {self.step} {el:.0f}s " + " ".join(f"{k}={v:.4g}" for k, v in self.last_logs.items())
            print(line, flush=True)
            self.log.write(line + "\n")
            self.log.flush()
        if time.time() - self.start > self.limit:
            self.model.stop_training = True


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--content-dir", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--loss-network", default="vgg16_imagenet",
                   help="VGG16 weights of the loss network (vgg16_imagenet, or vgg16_hed_bsds500)")
    p.add_argument("--exclude-from", default=None,
                   help="leave out photos whose file names are also in this folder (held out)")
    p.add_argument("--name", default="johnson_custom")
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--residual-blocks", type=int, default=5)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--resize", type=int, default=None, help="shorter side before the random crop")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--style-size", type=int, default=256)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=5.0)
    # not normalised: it weighs 1/2 the sum of squared neighbour differences of the 0-255
    # image, and at the Lua code's 1e-6 that term outweighs the normalised style term on a
    # painting-like output (kept our presets dark and flat until retrained at 1e-8)
    p.add_argument("--tv-weight", type=float, default=1e-8)
    p.add_argument("--no-normalize-weights", action="store_true")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--minutes", type=float, default=40.0)
    p.add_argument("--max-steps", type=int, default=100000)
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit", action="store_true", help="XLA-compile the training step")
    p.add_argument("--work-dir", default="/tmp/train_fast_style")
    p.add_argument("--out-dir", default=str(ROOT / "weights_registry"))
    p.add_argument("--resume", action="store_true", help="start from the work-dir checkpoint")
    p.add_argument("--notes", default=None, help="free text recorded in the manifest's provenance "
                   "(e.g. earlier stages of a resumed run)")
    p.add_argument("--previous-steps", type=int, default=0, help="steps of earlier stages (provenance)")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    weights = args.loss_network
    exclude = ks.data.list_image_files(args.exclude_from) if args.exclude_from else None
    all_photos = ks.data.list_image_files(args.content_dir)
    held_out = sorted({Path(e).name for e in exclude or []} & {Path(f).name for f in all_photos})
    model = ks.get(
        "johnson", style_image=args.style, style_size=args.style_size, backbone_weights=weights,
        width=args.width, num_residual_blocks=args.residual_blocks,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        **NETWORK,
    )
    data = ks.data.image_folder(
        args.content_dir, image_size=args.image_size, resize=args.resize, batch_size=args.batch_size,
        seed=args.seed, repeat=True, crop="random", exclude=exclude,
    )
    if not args.no_normalize_weights:
        grams = [float(np.mean(np.square(v.numpy()))) for v in model.style_grams]
        sample = next(iter(data))
        feats = model.loss_network(sample)
        cmean = float(np.mean([np.mean(np.square(keras.ops.convert_to_numpy(feats[n]))) for n in model.content_layers]))
        model.style_weight = [args.style_weight / g for g in grams]
        model.content_weight = args.content_weight / cmean
        print("normalised weights: content", model.content_weight, "style", model.style_weight, flush=True)
    done_before = 0
    if args.resume and (work / "transform.weights.h5").exists():
        model.load_preset_weights(str(work / "transform.weights.h5"))
        state = work / "state.json"
        if state.exists():
            done_before = int(json.loads(state.read_text()).get("steps", 0))
        print("resumed from", work / "transform.weights.h5", "after", done_before, "steps")
    model.compile(optimizer=keras.optimizers.Adam(args.lr), jit_compile=args.jit)
    log = open(work / "train.log", "a")
    budget = TimeBudget(args.minutes, args.checkpoint_every, work, log, done_before)
    previews = ks.get(
        "stylized_preview",
        images=[str(ROOT / "examples/images/chelsea.jpg"), str(ROOT / "examples/images/astronaut.jpg")],
        every_n_steps=max(args.checkpoint_every * 4, 1), directory=str(work / "previews"),
    )
    t0 = time.time()
    model.fit(data, steps_per_epoch=args.max_steps, epochs=1, callbacks=[budget, previews], verbose=0)
    wall = time.time() - t0
    steps = budget.step
    print(f"trained {steps} steps in {wall:.0f} s", flush=True)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / f"{args.name}.weights.h5"
    tmp = out_dir / f".{args.name}.tmp.weights.h5"
    model.save_transform_weights(str(tmp))
    os.replace(tmp, wpath)
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "style_image")}
    config.update(backbone_weights=None, style_image=None)
    manifest = {
        "name": args.name,
        "description": f"Johnson et al. (2016) fast style transfer, {Path(args.style).stem}, "
        f"width {args.width} (bundled, trained on CPU with examples/train_fast_style.py).",
        "preset": True,
        "loads_into": {"name": "johnson", "config": config},
        "source": {"bundled": wpath.name},
        "sha256": sha256(wpath),
        "license": "Apache-2.0 (weights trained by keras-style; style image public domain, see examples/images/CREDITS.md)",
        "paper": "https://arxiv.org/abs/1603.08155",
        "input_range": [0, 1],
        "provenance": {
            "script": "examples/train_fast_style.py",
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + list(argv if argv is not None else sys.argv[1:])),
            "data": f"random {args.image_size}px crops (shorter side resized to {args.resize or args.image_size}) "
            f"of {len(all_photos) - len(held_out)} photos in "
            f"{Path(args.content_dir).name}/ (shared/images/content, see its CREDITS.md)"
            + (f", leaving out {', '.join(held_out)} (held out for evaluation)" if held_out else ""),
            "style_image": Path(args.style).name,
            "loss_network": weights,
            "loss_weights": {"content": model.content_weight, "style": model.style_weight, "tv": model.tv_weight},
            "optimizer": f"Adam lr {args.lr}, batch {args.batch_size}",
            "steps": steps + done_before + args.previous_steps,
            "steps_this_stage": steps,
            "notes": args.notes,
            "final_losses": budget.last_logs,
            "wall_time_s": round(wall, 1),
            "hardware": "2 shared CPU cores (other jobs running)",
            "seed": args.seed,
        },
    }
    mpath = out_dir / f"{args.name}.json"
    tmpm = out_dir / f".{args.name}.json.tmp"
    tmpm.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmpm, mpath)
    print("wrote", wpath, f"({wpath.stat().st_size / 1e6:.2f} MB)", "and", mpath)


if __name__ == "__main__":
    main()
