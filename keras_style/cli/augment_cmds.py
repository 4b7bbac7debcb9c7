"""`keras-style augment`: contact sheets of augmentations.

``keras-style augment examples/images/ -o sheet.png --pipeline seed_augment -n 8`` writes
one row per input image: the original, then N augmented versions (people look at
augmentations; a grid makes that easy).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from keras_style.errors import ConfigError


def add_parsers(sub):
    p = sub.add_parser(
        "augment",
        help="write a contact sheet of augmented versions of images",
        description="Each input becomes a row: the original, then N augmented versions.",
    )
    p.add_argument("inputs", nargs="+", help="image files and/or folders")
    p.add_argument("-o", "--output", required=True, help="output image (.png/.jpg)")
    p.add_argument("--pipeline", default="seed_augment",
                   help="augmentation registry name (keras-style list --kind augmentation)")
    p.add_argument("-n", "--num", type=int, default=8, help="augmented versions per image")
    p.add_argument("--size", type=int, default=160, help="cell size in pixels (and the pipeline's "
                   "output size when it takes `size`)")
    p.add_argument("--load-size", type=int, default=None,
                   help="shorter side the inputs are resized to first (default size*256/224)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra pipeline argument, e.g. --option 'scale=(0.3, 1.0)' (repeatable)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--max-images", type=int, default=12, help="at most this many rows")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run_augment)


def collect_images(inputs, limit=None):
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            from keras_style.images import IMAGE_EXTENSIONS, list_images

            found = list_images(path)
            if not found:
                raise ConfigError(f"Folder {path} has no images ({', '.join(IMAGE_EXTENSIONS)}).")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"No such image or folder: {path}")
    return files[:limit] if limit else files


def parse_options(pairs):
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--option expects KEY=VALUE, got {pair!r}.")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def _cell(img, size):
    """Centre-crop to a square and resize to a size x size cell (keras_style/images.py)."""
    from keras_style.images import resize_to

    return resize_to(img, (size, size), crop=True)


def build_pipeline(name, size, seed, options):
    import keras_style as ks

    entry = ks.registry.entry(name)
    kwargs = dict(options)
    params = inspect.signature(entry.factory).parameters
    if "size" in params and "size" not in kwargs:
        kwargs["size"] = size
    if seed is not None and "seed" not in kwargs:
        kwargs["seed"] = seed
    if entry.kind != "augmentation":
        raise ConfigError(f"{name!r} is a {entry.kind}, not an augmentation; see `keras-style list --kind augmentation`.")
    return ks.get(name, **kwargs)


def contact_sheet(images, pipeline, num=8, size=160, load_size=None, gap=4):
    """Rows of [original, num augmented versions]; returns float32 HxWx3 in [0, 1]."""
    import keras
    import numpy as np

    from keras_style.images import resize_shorter

    load_size = load_size or round(size * 256 / 224)
    rows = []
    for img in images:
        base = resize_shorter(img, load_size)
        batch = np.repeat(base[None], num, axis=0)
        out = keras.ops.convert_to_numpy(pipeline(batch, training=True))
        cells = [_cell(base, size)] + [_cell(np.clip(o, 0, 1), size) for o in out]
        rows.append(cells)
    cols = num + 1
    sheet = np.ones((len(rows) * (size + gap) + gap, cols * (size + gap) + gap, 3), np.float32)
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            y, x = gap + r * (size + gap), gap + c * (size + gap)
            sheet[y : y + size, x : x + size] = cell
    return sheet


def _save_atomic(array, path, overwrite):
    """The sheet through `keras_style.images.save_image` (atomic; format from the suffix)."""
    import numpy as np

    from keras_style.images import save_image

    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --overwrite to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_image(np.clip(array, 0.0, 1.0), path, overwrite=overwrite)


def run_augment(args):
    from keras_style.images import load_image

    if args.num < 1:
        raise ConfigError(f"-n/--num must be >= 1, got {args.num}.")
    if args.size < 8:
        raise ConfigError(f"--size must be >= 8 pixels, got {args.size}.")
    files = collect_images(args.inputs, args.max_images)
    pipeline = build_pipeline(args.pipeline, args.size, args.seed, parse_options(args.option))
    images = [load_image(str(f)) for f in files]
    sheet = contact_sheet(images, pipeline, num=args.num, size=args.size, load_size=args.load_size)
    _save_atomic(sheet, args.output, args.overwrite)
    print(f"wrote {args.output}: {len(files)} rows x (original + {args.num}) with {args.pipeline}")
    return 0
