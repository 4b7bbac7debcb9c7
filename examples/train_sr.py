"""Train a Johnson et al. (2016) x4 super-resolution network on a CPU and bundle it as a preset.

Random ``--patch-size`` (288 in the paper) crops of a folder of photos, degraded as in the
paper (`keras_style.data.degrade`: Gaussian blur sigma 1.0, then bicubic downsampling by
``--scale``), a per-pixel loss (``--loss pixel``, the paper's l_pixel) or the relu2_2
feature loss (``--loss feature`` with ``--loss-network vgg16_imagenet``), Adam 1e-3.
Built to run in the background on a shared machine:

    nohup nice -n 10 python examples/train_sr.py --data ../shared/images/content \
        --exclude-from examples/images --name johnson_sr_x4 --minutes 30 \
        --work-dir /tmp/train_sr > /tmp/train_sr.out 2>&1 &

- a wall-clock budget (``--minutes``) or ``--deadline HH:MM`` (UTC) ends training cleanly;
- every ``--checkpoint-every`` steps the transform network, the optimizer state and the
  step count are written atomically (temporary name, then ``os.replace``) to ``--work-dir``,
  with a validation line (PSNR of the model and of bicubic on fixed crops of the held-out
  photos) and, every 4th checkpoint, a preview ``bicubic | model | original``;
- ``--resume`` continues from that checkpoint with its step count and optimizer state;
- ``--exclude-from DIR`` leaves out every photo whose file name is also in DIR (the
  evaluation photos of `examples/evaluate_sr.py`).

At the end ``weights_registry/<name>.weights.h5`` (transform network only) and
``weights_registry/<name>.json`` (a ``"preset": true`` manifest with the exact config,
sha256 and provenance) are written; ``--no-bundle`` keeps them in the work folder only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
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

# Lean network for a CPU budget: no normalisation (nothing to mismatch between training and
# inference after a short run), resize-conv upsampling (no checkerboard), reflect padding.
# The paper's layer list otherwise (supplementary Table 2), with its scaled tanh output, or
# with --skip bilinear a linear output added to the bilinear upsampling of the input
# (docs/methods/johnson.md, "Super-resolution networks").
NETWORK = dict(normalization=None, upsampling="resize_conv", padding="reflect")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_text(path, text):
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _deadline_seconds(hhmm):
    now = _dt.datetime.now(_dt.timezone.utc)
    h, m = (int(v) for v in hhmm.split(":"))
    end = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if end <= now:
        end += _dt.timedelta(days=1)
    return (end - now).total_seconds()


def load_photos(files, patch_size):
    """Decoded uint8 photos, the shorter side upscaled to ``patch_size`` where smaller."""
    out = []
    for f in files:
        img = ks.load_image(f)
        h, w = img.shape[:2]
        if min(h, w) < patch_size:
            img = ks.images.resize_image(img, size=patch_size)
        out.append(np.round(np.clip(img[..., :3], 0, 1) * 255).astype("uint8"))
    return out


def random_batch(photos, rng, batch_size, patch_size):
    crops = []
    for _ in range(batch_size):
        img = photos[rng.integers(len(photos))]
        h, w = img.shape[:2]
        top, left = rng.integers(h - patch_size + 1), rng.integers(w - patch_size + 1)
        c = img[top : top + patch_size, left : left + patch_size]
        if rng.random() < 0.5:
            c = c[:, ::-1]
        crops.append(c)
    return np.stack(crops).astype("float32") / 255.0


def degrade(hr, scale, blur_sigma):
    import tensorflow as tf

    return ks.data.degrade(tf.constant(hr), scale=scale, blur_sigma=blur_sigma).numpy()


def bicubic_up(lr, size):
    up = keras.ops.image.resize(lr, size, interpolation="bicubic", antialias=False)
    return np.clip(keras.ops.convert_to_numpy(up), 0.0, 1.0)


class Validator:
    """PSNR (Y, border cropped) of the model and of bicubic on fixed held-out crops."""

    def __init__(self, files, scale, blur_sigma, size=192):
        self.scale = scale
        self.hr, self.names = [], []
        for f in files:
            img = ks.load_image(f)[..., :3]
            h, w = img.shape[:2]
            s = min(size, h, w)
            s -= s % scale
            top, left = (h - s) // 2, (w - s) // 2
            self.hr.append(img[top : top + s, left : left + s].astype("float32"))
            self.names.append(Path(f).stem)
        self.lr = [degrade(h[None], scale, blur_sigma)[0] for h in self.hr]
        self.bicubic = [bicubic_up(lr[None], h.shape[:2])[0] for lr, h in zip(self.lr, self.hr)]
        self.bicubic_psnr = float(np.mean([self._psnr(h, b) for h, b in zip(self.hr, self.bicubic)]))

    def _psnr(self, a, b):
        return float(ks.metrics.psnr(a, b, crop_border=self.scale))

    def __call__(self, model):
        outs = [np.clip(keras.ops.convert_to_numpy(model(lr[None], training=False))[0], 0, 1) for lr in self.lr]
        return float(np.mean([self._psnr(h, o) for h, o in zip(self.hr, outs)])), outs

    def preview(self, outs, path):
        rows = [np.concatenate([b, o, h], axis=1) for b, o, h in zip(self.bicubic, outs, self.hr)]
        w = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 4), (0, w - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
        tmp = Path(path).with_name(".tmp." + Path(path).name)
        ks.save_image(np.concatenate(rows, axis=0), str(tmp))
        os.replace(tmp, path)


def save_checkpoint(work, model, step, elapsed, logs, history, stages):
    wtmp = work / ".transform.tmp.weights.h5"
    model.transform.save_weights(str(wtmp))
    opt = model.optimizer
    otmp = work / ".optimizer.tmp.npz"
    with open(otmp, "wb") as f:
        np.savez(f, *[keras.ops.convert_to_numpy(v) for v in opt.variables])
    os.replace(wtmp, work / "transform.weights.h5")
    os.replace(otmp, work / "optimizer.npz")
    # state.json last: it names the step the two files above belong to
    _atomic_write_text(work / "state.json", json.dumps(
        {"steps": step, "elapsed_s": round(elapsed, 1), "logs": logs, "history": history, "stages": stages},
        indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder of training photos")
    p.add_argument("--exclude-from", default=None,
                   help="leave out photos whose file names are also in this folder (held out)")
    p.add_argument("--name", default="johnson_sr_x4")
    p.add_argument("--scale", type=int, default=4, choices=(4, 8))
    p.add_argument("--loss", default="pixel", choices=("pixel", "feature"))
    p.add_argument("--loss-network", default="vgg16_imagenet", help="VGG16 weights for --loss feature")
    p.add_argument("--skip", default="bilinear", choices=("bilinear", "none"),
                   help="global residual to the bilinear upsampling (not in the paper; 'none' = paper)")
    p.add_argument("--width", type=float, default=0.5, help="channel multiplier (paper 1.0 = 64 filters)")
    p.add_argument("--residual-blocks", type=int, default=4, help="paper: 4")
    p.add_argument("--patch-size", type=int, default=288, help="high-resolution crop (paper 288)")
    p.add_argument("--batch-size", type=int, default=2, help="paper: 4")
    p.add_argument("--blur-sigma", type=float, default=1.0, help="paper: 1.0")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (paper 1e-3)")
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of this run")
    p.add_argument("--deadline", default=None, help="HH:MM UTC: stop by then (whichever comes first)")
    p.add_argument("--max-steps", type=int, default=1_000_000, help="total steps (counting resumed ones)")
    p.add_argument("--checkpoint-every", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-jit", action="store_true", help="do not XLA-compile the training step")
    p.add_argument("--work-dir", default="/tmp/train_sr")
    p.add_argument("--out-dir", default=str(ROOT / "weights_registry"))
    p.add_argument("--resume", action="store_true", help="continue from the work-dir checkpoint")
    p.add_argument("--no-bundle", action="store_true", help="do not write into --out-dir")
    args = p.parse_args(argv)

    t_start = time.time()
    budget = args.minutes * 60.0
    if args.deadline:
        budget = min(budget, _deadline_seconds(args.deadline))
    keras.utils.set_random_seed(args.seed)
    work = Path(args.work_dir)
    (work / "previews").mkdir(parents=True, exist_ok=True)

    all_photos = ks.data.list_image_files(args.data)
    excl = {Path(e).name for e in ks.data.list_image_files(args.exclude_from)} if args.exclude_from else set()
    train_files = [f for f in all_photos if Path(f).name not in excl]
    held_out = sorted(excl & {Path(f).name for f in all_photos})
    if not train_files:
        raise ks.errors.DataError(f"No training photos left in {args.data} after --exclude-from.")
    val_files = [str(Path(args.exclude_from) / n) for n in held_out] if held_out else []
    if not val_files and args.exclude_from:
        val_files = ks.data.list_image_files(args.exclude_from)[:4]
    val_files = [f for f in val_files if "van_gogh" not in f and "kandinsky" not in f and "hokusai" not in f][:4]
    print(f"{len(train_files)} training photos; held out: {', '.join(held_out) or 'none'}", flush=True)
    photos = load_photos(train_files, args.patch_size)
    validator = Validator(val_files, args.scale, args.blur_sigma) if val_files else None

    model = ks.get(
        "johnson_sr", scale=args.scale, loss=args.loss,
        backbone_weights=args.loss_network if args.loss == "feature" else None,
        width=args.width, num_residual_blocks=args.residual_blocks, **NETWORK,
        output="tanh" if args.skip == "none" else "linear", skip=None if args.skip == "none" else args.skip,
    )
    if args.skip != "none":  # start at the interpolation: the residual's last conv is zero
        conv = model.transform.conv_out.conv2d
        conv.kernel.assign(keras.ops.zeros_like(conv.kernel))
    model.compile(optimizer=keras.optimizers.Adam(args.lr), jit_compile=not args.no_jit)
    step, done_s, history, stages = 0, 0.0, [], []
    if args.resume and (work / "state.json").exists():
        state = json.loads((work / "state.json").read_text())
        model.transform.load_weights(str(work / "transform.weights.h5"))
        model.optimizer.build(model.trainable_variables)
        with np.load(work / "optimizer.npz") as z:
            values = [z[f"arr_{i}"] for i in range(len(z.files))]
        if len(values) != len(model.optimizer.variables):
            raise ks.errors.ConfigError(
                f"{work}/optimizer.npz holds {len(values)} optimizer variables, the model needs "
                f"{len(model.optimizer.variables)}: resume with the same --width/--residual-blocks.")
        for v, a in zip(model.optimizer.variables, values):
            v.assign(a)
        # Keras keeps the learning rate among the optimizer's variables: this stage's --lr,
        # not the saved one (a resumed stage may lower it)
        model.optimizer.learning_rate.assign(args.lr)
        step, done_s, history = int(state["steps"]), float(state.get("elapsed_s", 0)), state.get("history", [])
        stages = state.get("stages", [])
        print(f"resumed from {work} at step {step}", flush=True)
    rng = np.random.default_rng(args.seed + step)  # a resumed run draws fresh crops
    cmd_args = list(argv if argv is not None else sys.argv[1:])
    # every run (stage) of a resumed training is recorded: its command, crops and steps
    stages.append({"command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + cmd_args),
                   "patch_size": args.patch_size, "batch_size": args.batch_size, "lr": args.lr,
                   "from_step": step, "to_step": step})

    if validator:
        print(f"validation: bicubic PSNR {validator.bicubic_psnr:.2f} dB on {', '.join(validator.names)}",
              flush=True)
    log = open(work / "train.log", "a")
    logs, t0, start_step, n_ckpt = {}, time.time(), step, 0
    acc = []
    while step < args.max_steps and time.time() - t_start < budget:
        hr = random_batch(photos, rng, args.batch_size, args.patch_size)
        lr = degrade(hr, args.scale, args.blur_sigma)
        logs = {k: float(v) for k, v in model.train_on_batch(lr, hr, return_dict=True).items()}
        acc.append(logs.get("pixel_loss", logs.get("feature_loss", logs.get("loss"))))
        step += 1
        stages[-1]["to_step"] = step
        if step % args.checkpoint_every == 0:
            elapsed = done_s + time.time() - t0
            entry = {"step": step, "elapsed_s": round(elapsed, 1), "loss_mean": float(np.mean(acc))}
            acc = []
            if validator:
                vpsnr, outs = validator(model)
                entry.update(val_psnr=round(vpsnr, 3), val_bicubic_psnr=round(validator.bicubic_psnr, 3))
                if n_ckpt % 4 == 0:
                    validator.preview(outs, work / "previews" / f"step{step:06d}.png")
            n_ckpt += 1
            history.append(entry)
            save_checkpoint(work, model, step, elapsed, logs, history, stages)
            line = " ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items())
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
    wall = time.time() - t0
    steps_run = step - start_step
    if steps_run == 0:
        print("no training step ran (budget spent or --max-steps reached); nothing written", flush=True)
        return 1
    if not all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in model.transform.weights):
        print("NaN/Inf in the weights: nothing written", flush=True)
        return 1
    elapsed = done_s + wall
    final = {"step": step, "elapsed_s": round(elapsed, 1), "loss_mean": float(np.mean(acc)) if acc else None}
    if validator:
        final.update(val_psnr=round(validator(model)[0], 3), val_bicubic_psnr=round(validator.bicubic_psnr, 3))
    if not history or history[-1]["step"] != step:
        history.append(final)
        save_checkpoint(work, model, step, elapsed, logs, history, stages)
    print(f"trained {steps_run} steps this run ({step} in all) in {wall:.0f} s; {final}", flush=True)
    if args.no_bundle:
        return 0

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / f"{args.name}.weights.h5"
    tmp = out_dir / f".{args.name}.tmp.weights.h5"
    model.transform.save_weights(str(tmp))
    os.replace(tmp, wpath)
    config = {k: v for k, v in model.get_config().items() if k != "name"}
    config.update(backbone_weights=None if args.loss == "pixel" else args.loss_network)
    crops = sorted({(st["patch_size"], st["batch_size"]) for st in stages})
    manifest = {
        "name": args.name,
        "description": f"Johnson et al. (2016) x{args.scale} super-resolution, {args.loss} loss, width "
        f"{args.width}" + (", a global residual to the bilinear upsampling (not in the paper)"
                           if args.skip != "none" else "")
        + " (bundled, trained on CPU with examples/train_sr.py).",
        "preset": True,
        "loads_into": {"name": "johnson_sr", "config": config},
        "source": {"bundled": wpath.name},
        "sha256": sha256(wpath),
        "license": "Apache-2.0 (weights trained by keras-style on the photos of shared/images/content, "
        "see its CREDITS.md)",
        "paper": "https://arxiv.org/abs/1603.08155",
        "input_range": [0, 1],
        "provenance": {
            "script": "examples/train_sr.py",
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + cmd_args),
            "data": f"random {' / '.join(f'{c}px' for c, _ in crops)} crops (random horizontal flips; see "
            f"stages) of the {len(train_files)} photos "
            f"in {Path(args.data).name}/ (shared/images/content, see its CREDITS.md)"
            + (f", leaving out {', '.join(held_out)} (held out for evaluation)" if held_out else ""),
            "degradation": f"keras_style.data.degrade: Gaussian blur sigma {args.blur_sigma}, then bicubic "
            f"downsampling x{args.scale} (no antialiasing): "
            f"{' / '.join(f'{c // args.scale}px' for c, _ in crops)} inputs",
            "loss": args.loss + (f" ({args.loss_network} relu2_2)" if args.loss == "feature" else " (MSE)"),
            "optimizer": f"Adam lr {args.lr}, batch {args.batch_size}",
            "steps": step,
            "stages": stages,
            "wall_time_s": round(elapsed, 1),
            "final_losses": logs,
            "validation": history[-1],
            "hardware": "a small share of 2 CPU cores (nice 10, other trainings running)",
            "seed": args.seed,
        },
    }
    _atomic_write_text(out_dir / f"{args.name}.json", json.dumps(manifest, indent=2) + "\n")
    print("wrote", wpath, f"({wpath.stat().st_size / 1e6:.2f} MB)", "and", out_dir / f"{args.name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
