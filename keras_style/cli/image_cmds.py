"""`keras-style image-info PATH`: what keras_style sees when it loads an image file.

Decodes the whole file, so truncated / corrupt / non-image files fail here with the same
one-line ``ImageError`` message ``load_image`` gives (exit 1).
"""

from __future__ import annotations

import json


def add_parsers(sub):
    p = sub.add_parser(
        "image-info",
        help="check an image file and show its size, mode, alpha and EXIF orientation",
    )
    p.add_argument("path", help="an image file (png, jpg, webp, tiff, bmp, gif...)")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="decompression-bomb limit in pixels (0 = no limit; default: "
        "$KERAS_STYLE_MAX_PIXELS or Pillow's limit)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_image_info)


def _image_info(args):
    from keras_style.images import image_info

    info = image_info(args.path, max_pixels=args.max_pixels)
    if args.json:
        print(json.dumps({"path": args.path, **info}, indent=2))
        return 0
    o = info["exif_orientation"]
    orient = "none" if o is None else f"{o} ({info['orientation_name']})"
    size = f"{info['width']}x{info['height']}"
    if (info["loaded_width"], info["loaded_height"]) != (info["width"], info["height"]):
        size += (
            f" (loaded as {info['loaded_width']}x{info['loaded_height']} after EXIF orientation)"
        )
    print(f"path:             {args.path}")
    print(f"format:           {info['format']}")
    print(f"size (w x h):     {size}")
    print(f"mode:             {info['mode']}")
    print(f"alpha:            {'yes' if info['alpha'] else 'no'}")
    print(f"exif orientation: {orient}")
    if info["frames"] > 1:
        print(f"frames:           {info['frames']} (load_image uses the first)")
    if "bytes" in info:
        print(f"file size:        {info['bytes']:,} bytes")
    return 0
