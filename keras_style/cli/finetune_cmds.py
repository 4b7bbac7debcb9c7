"""`keras-style finetune DATA --val VAL --backbone resnet50 --epochs 5 -o model.keras`: fine-tune
a keras.applications backbone (docs/methods/finetune.md)."""

from __future__ import annotations

from keras_style.saving import check_keras_path, save_model_atomic

# the help of add_finetune_parser's parser, for the top-level help (a test keeps them equal)
COMMANDS = {
    "finetune": "fine-tune a keras.applications backbone on an image folder (one sub-folder per class)"
}


def add_parsers(sub):
    from keras_style.cli._train_guard import guard_parsers

    add_finetune_parser(sub)
    guard_parsers(sub.choices["finetune"])  # no model written after 0 steps or with NaN/Inf weights


def add_finetune_parser(sub):
    p = sub.add_parser(
        "finetune",
        help="fine-tune a keras.applications backbone on an image folder (one sub-folder per class)",
        description=(
            "Fine-tune a pretrained backbone with a new head. DATA has one sub-folder per class. "
            "Training images get the seed_augment pipeline (flip + random resized crop + HSV scale)."
        ),
    )
    p.add_argument("data", help="training folder: DATA/<class name>/*.jpg")
    p.add_argument("--val", help="validation folder with the same class sub-folders")
    p.add_argument("-o", "--output", required=True, help="output .keras file")
    p.add_argument("--backbone", default="resnet50", help="keras.applications name (e.g. resnet50, mobilenet_v2)")
    p.add_argument("--weights", default="imagenet",
                   help="imagenet (downloaded) | none | a weights file | vgg16_imagenet (ImageNet "
                        "VGG16 convolutions, offline with keras-style[offline]; --backbone vgg16) | "
                        "vgg16_hed_bsds500 (an edge-detection VGG16, --backbone vgg16)")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--freeze", default=None,
                   help="'all', a fraction (0.5), or comma-separated layer patterns (conv1*,conv2*)")
    p.add_argument("--unfreeze", default=None, help="after --epochs, unfreeze this pattern ('*' = all)...")
    p.add_argument("--unfreeze-epochs", type=int, default=0,
                   help="...and train this many more epochs, the backbone at 1e-5")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="the backbone's learning rate (the head's is this x --head-lr-multiplier); "
                        "default: the head at 1e-3 if the whole backbone is frozen, else the "
                        "backbone at 1e-5 (keras.io guide)")
    p.add_argument("--head-lr-multiplier", type=float, default=10.0,
                   help="the new head learns this many times faster than the backbone "
                        "(default 10, d2l's fine-tuning recipe; 1 = one learning rate)")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--reuse-imagenet-classes", action="store_true",
                   help="start matching class names from their ImageNet classifier rows")
    p.add_argument("--no-augment", action="store_true", help="no training augmentation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto",
                   help="XLA for the train step (auto = Keras' choice; compiling takes a while on CPU)")
    p.add_argument("--run-eagerly", action="store_true", help="no graph compilation (debugging, tiny runs)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_finetune)


def parse_freeze(value):
    if value is None:
        return None
    v = value.strip()
    if v.lower() in ("all", "true"):
        return True
    if v.lower() in ("none", "false", ""):
        return None
    try:
        f = float(v)
    except ValueError:
        parts = [s.strip() for s in v.split(",") if s.strip()]
        return parts[0] if len(parts) == 1 else parts
    return int(f) if f.is_integer() and f > 1 else f


def run_finetune(args):
    import keras_style as ks
    from keras_style.methods.finetune import compile_finetune, unfreeze
    from keras_style.methods.finetune.datasets import image_datasets
    from keras_style.methods.finetune.lr_multipliers import check_multiplier

    check_multiplier(args.head_lr_multiplier, "--head-lr-multiplier")  # before any work
    check_keras_path(args.output, overwrite=args.overwrite)
    weights = None if str(args.weights).lower() == "none" else args.weights
    train, val, classes = image_datasets(
        args.data, args.val, args.image_size, args.batch_size, args.seed, augment=not args.no_augment
    )
    model = ks.get(
        "finetune",
        backbone=args.backbone,
        class_names=classes,
        backbone_weights=weights,
        input_shape=(args.image_size, args.image_size, 3),
        dropout=args.dropout,
        freeze=parse_freeze(args.freeze),
        reuse_imagenet_classes=args.reuse_imagenet_classes,
        compile=False,
    )
    jit = {"auto": "auto", "on": True, "off": False}[args.jit_compile]
    compile_opts = dict(jit_compile=jit, run_eagerly=args.run_eagerly)
    compile_finetune(model, learning_rate=args.learning_rate,
                     head_learning_rate_multiplier=args.head_lr_multiplier, **compile_opts)
    verbose = 0 if args.quiet else 2
    info = model.describe()
    if not args.quiet:
        print(f"classes: {classes}; frozen layers: {info['frozen_layers']}/{info['layers_with_weights']}")
        if info["imagenet_matches"]:
            print("ImageNet matches:", {k: v["index"] for k, v in info["imagenet_matches"].items()})
    model.fit(train, validation_data=val, epochs=args.epochs, verbose=verbose)
    if args.unfreeze and args.unfreeze_epochs > 0:
        unfreeze(model, args.unfreeze, recompile=False)
        compile_finetune(model, learning_rate=1e-5,  # keras.io guide phase 2
                         head_learning_rate_multiplier=args.head_lr_multiplier, **compile_opts)
        model.fit(train, validation_data=val, epochs=args.unfreeze_epochs, verbose=verbose)
    save_model_atomic(model, args.output, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {args.output}")
    return 0
