"""`keras-style sheet PHOTO --model NAME [--model NAME2 ...] -o SHEET`: one labelled contact sheet.

- A multi-style model (``--model multistyle_26``): the photo, then every style (or the
  indices in ``--styles``), each labelled with its index.
- Models that take a style image (``--model arbitrary_stylization --style a.jpg b.jpg``): one
  cell per (model, style image), labelled ``model: style``.
- Any other stylizing model: one cell per model, labelled with its name.

The photo is scaled to fit ``--size`` x ``--size`` pixels first (default 256).
"""

from __future__ import annotations

import argparse

from keras_style.cli._collect import check_input, check_output
from keras_style.errors import ConfigError


def add_parsers(sub):
    p = sub.add_parser(
        "sheet",
        help="contact sheet: a photo in every style of one or more models, labelled",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("content", help="content image")
    p.add_argument("--model", action="append", required=True,
                   help="a preset name or a .keras file (repeat for several models)")
    p.add_argument("--style", nargs="+", help="style image(s), for models that take one")
    p.add_argument("--styles", type=int, nargs="+", help="only these style indices (multi-style models)")
    p.add_argument("--size", type=int, default=256, help="longer side of each cell in pixels (default 256)")
    p.add_argument("--columns", type=int, default=7, help="cells per row (default 7)")
    p.add_argument("-o", "--output", required=True, help="output image")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _takes_style(model) -> bool:
    import inspect

    params = [
        q for q in inspect.signature(model.stylize).parameters.values()
        if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)
    ]
    return len(params) > 1 and "style" in params[1].name and not hasattr(model, "num_styles")


def run(args):
    from pathlib import Path

    import keras_style as ks
    from keras_style import presets
    from keras_style.cli._random_weights import check_model
    from keras_style.images import SAVE_FORMATS, load_image, resize_image
    from keras_style.methods.multistyle.multi_style_transfer import labelled_grid

    content = check_input(args.content, "Content")
    styles = [check_input(s, "Style") for s in (args.style or [])]
    out = Path(args.output)
    if out.suffix.lower() not in SAVE_FORMATS:
        raise ConfigError(f"Cannot write {out}: use one of {', '.join(SAVE_FORMATS)}.")
    if not out.parent.is_dir():
        raise ConfigError(f"The folder {out.parent} does not exist; create it first.")
    check_output(out, args.overwrite)
    if args.size < 8 or args.columns < 1:
        raise ConfigError("--size must be >= 8 and --columns >= 1.")
    for name in args.model:
        check_model(name)
    models = [(name, presets.load(name)) for name in args.model]

    if len(models) == 1 and hasattr(models[0][1], "contact_sheet") and not styles:
        sheet = models[0][1].contact_sheet(str(content), size=args.size, columns=args.columns, styles=args.styles)
    else:
        photo = load_image(str(content))
        if max(photo.shape[:2]) > args.size:
            photo = resize_image(photo, max_size=args.size)
        cells = [("original", photo)]
        for name, model in models:
            if hasattr(model, "num_styles"):
                if styles:
                    raise ConfigError(
                        f"--model {name} has its styles built in; choose them with --styles INDEX ..."
                    )
                indices = args.styles if args.styles is not None else range(model.num_styles)
                cells += [(f"{name} {i}", model.stylize(photo, style=i)) for i in indices]
            elif _takes_style(model):
                if not styles:
                    raise ConfigError(f"--model {name} needs --style IMAGE(S) for a sheet.")
                cells += [(f"{name}: {s.stem}", model.stylize(photo, str(s))) for s in styles]
            else:
                cells.append((name, model.stylize(photo)))
            if not args.quiet:
                print(f"{name}: done")
        sheet = labelled_grid(cells, columns=args.columns)
    ks.save_image(sheet, out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {out}")
    return 0
