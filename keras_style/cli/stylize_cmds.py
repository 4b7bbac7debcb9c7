"""`keras-style stylize`: one command for every stylizing method and model.

- ``--method NAME`` builds ``keras_style.get(NAME, **build options)`` (gatys, adain, ...)
  and calls ``model.stylize(content, style, **options)``.
- ``--model NAME_OR_PATH`` loads a preset (``johnson_great_wave``) or a ``.keras`` file
  and calls ``model.stylize(content, **options)``.

Only the options given on the command line are passed, and only if the method's
``stylize`` accepts them; otherwise the command says which options it takes.
Content and style may be folders: every (content, style) pair is stylized into the
output folder, with a progress bar.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
from pathlib import Path

from keras_style.cli._collect import check_input, check_output
from keras_style.cli._random_weights import OPTIMISATION_METHODS, check_method, check_model
from keras_style.errors import ConfigError

# (flag, dest, argparse kwargs). Options are forwarded to stylize() under `dest`.
STYLIZE_OPTIONS = [
    ("--size", "size", dict(type=int, help="output size (shorter side for most methods)")),
    ("--steps", "steps", dict(type=int, help="optimisation steps (gatys)")),
    ("--alpha", "alpha", dict(type=float, help="content-style trade-off in [0, 1] (adain)")),
    ("--strength", "strength", dict(type=float, help="blend with the input in [0, 1] (johnson)")),
    ("--preserve-color", "preserve_color", dict(action="store_true", default=None, help="keep the content's colours")),
    ("--style-weights", "style_weights", dict(type=float, nargs="+", help="weights of several styles")),
    ("--style-index", "style_index", dict(type=lambda v: _style_spec(v), nargs="+", help="built-in style "
                                          "of a multi-style model: 7, or a blend 3:0.5,12:0.5 (multistyle_26); "
                                          "several with --mask, one per mask")),
    ("--mask", "masks", dict(nargs="+", help="spatial control: one mask image per style (white = that "
                                             "style; uncovered pixels keep the photo), in the order of "
                                             "--style / --style-index (multistyle_26, arbitrary_stylization)")),
    ("--content-weight", "content_weight", dict(type=float)),
    ("--style-weight", "style_weight", dict(type=float)),
    ("--tv-weight", "tv_weight", dict(type=float)),
    ("--style-scale", "style_scale", dict(type=float)),
    ("--content-size", "content_size", dict(type=int)),
    ("--style-size", "style_size", dict(type=int)),
    ("--init", "init", dict(help="gatys initialisation: content | noise | PATH")),
    ("--optimizer", "optimizer", dict(choices=["lbfgs", "adam"])),
    ("--learning-rate", "learning_rate", dict(type=float)),
    ("--scales", "scales", dict(type=int, nargs="+", help="coarse-to-fine sizes (gatys)")),
    ("--seed", "seed", dict(type=int)),
    ("--tile", "tile", dict(type=int, help="tile size in pixels for large images")),
    ("--overlap", "overlap", dict(type=int, help="tile overlap in pixels")),
]
BUILD_OPTIONS = [
    ("--weights", "weights", dict(help="weights name or path for --method (e.g. vgg16_imagenet: "
                                        "the ImageNet VGG16, offline with keras-style[offline]; "
                                        "gatys' default vgg19_imagenet is downloaded)")),
    ("--pooling", "pooling", dict(choices=["max", "avg"])),
    ("--encoder", "encoder", dict(help="encoder for adain: vgg19_normalised | vgg19 | vgg16")),
]


def _style_spec(value):
    """``--style-index``: ``7`` -> 7; ``3:0.5,12:0.5`` -> {3: 0.5, 12: 0.5} (checked by the model)."""
    try:
        if ":" not in value and "," not in value:
            return int(value)
        spec = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            idx, _, w = part.partition(":")
            spec[int(idx)] = spec.get(int(idx), 0.0) + (float(w) if w else 1.0)
        return spec
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a style: give an index (7) or a blend (3:0.5,12:0.5)"
        ) from None


def add_parsers(sub):
    p = sub.add_parser(
        "stylize",
        help="stylize images (or folders) with a method or a trained model",
        description="\n\n".join(__doc__.split("\n\n")[1:3]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("content", help="content image or folder")
    p.add_argument("--style", nargs="+", help="style image(s) or a folder of styles")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--method", help="a registered method, e.g. gatys or adain")
    g.add_argument("--model", help="a preset name (keras-style list --kind preset) or a .keras file")
    p.add_argument("-o", "--output", required=True, help="output image (or folder for folder input)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    for flag, dest, kw in STYLIZE_OPTIONS + BUILD_OPTIONS:
        p.add_argument(flag, dest=dest, **kw)
    p.set_defaults(func=run)


def _images_in(path: Path) -> list[Path]:
    from keras_style.images import IMAGE_EXTENSIONS, list_images

    files = list_images(path)
    if not files:
        raise ConfigError(f"Folder {path} has no images ({', '.join(IMAGE_EXTENSIONS)}).")
    return files


def _accepted(fn) -> tuple[set, bool]:
    sig = inspect.signature(fn)
    var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    return set(sig.parameters), var_kw


def _select(fn, given: dict, what: str) -> dict:
    accepted, var_kw = _accepted(fn)
    bad = sorted(k for k in given if k not in accepted and not var_kw)
    if bad:
        flags = ", ".join("--" + k.replace("_", "-") for k in bad)
        ok = sorted(
            "--" + d.replace("_", "-") for _, d, _ in STYLIZE_OPTIONS + BUILD_OPTIONS if d in accepted
        )
        raise ConfigError(f"{flags} not supported by {what}; it accepts: {', '.join(ok) or 'none'}.")
    return given


def _build(args):
    import keras_style as ks
    from keras_style import presets

    build_kw = {d: getattr(args, d) for _, d, _ in BUILD_OPTIONS if getattr(args, d) is not None}
    if args.model:
        if build_kw:
            raise ConfigError("--weights/--pooling/--encoder apply to --method, not --model.")
        check_model(args.model)  # a bare registry name would have random weights
        return presets.load(args.model), f"model {args.model!r}", False
    entry = ks.registry.entry(args.method)
    if entry.kind not in ks.registry.MODEL_KINDS:
        raise ConfigError(f"{args.method!r} is a {entry.kind}, not a method; see `keras-style list --kind method`.")
    factory = entry.factory
    target = factory.__init__ if inspect.isclass(factory) else factory
    _select(target, build_kw, f"method {args.method!r}")
    if "weights" in build_kw and entry.name in OPTIMISATION_METHODS:
        build_kw["backbone_weights"] = build_kw.pop("weights")  # --weights: the backbone's (docs/design.md, "Names")
    check_method(args.method, build_kw)  # never stylize with random weights
    return ks.get(args.method, **build_kw), f"method {args.method!r}", True


def _takes_style(model) -> bool:
    """Whether model.stylize's second parameter is a style (gatys, adain) or an option (johnson)."""
    params = [
        p for p in inspect.signature(model.stylize).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(params) > 1 and "style" in params[1].name


def _check_output_name(out: Path, overwrite: bool, folder: bool):
    """Refuse an output we could not write, before any computation."""
    if str(out) == "-":
        if folder:
            raise ConfigError("-o - (stdout) takes one image; give a folder for folder input.")
        return
    if folder:
        if out.exists() and not out.is_dir():
            raise ConfigError(f"{out} is a file; folder input needs an output folder.")
        return
    from keras_style.images import SAVE_FORMATS

    if out.suffix.lower() not in SAVE_FORMATS:
        got = f"extension {out.suffix!r}" if out.suffix else "no extension"
        raise ConfigError(
            f"Cannot write {out}: {got} is not an image format; use one of "
            f"{', '.join(SAVE_FORMATS)} (or -o - for PNG on stdout)."
        )
    if out.is_dir():
        raise ConfigError(f"{out} is a folder; give a file name, e.g. {out / 'out.png'}.")
    if not out.parent.is_dir():
        raise ConfigError(f"The folder {out.parent} does not exist; create it first.")
    check_output(out, overwrite)


def _write_stdout(result, stdout):
    """PNG bytes on stdout (the one image conversion: keras_style.images.save_image)."""
    import tempfile

    import keras_style as ks

    with tempfile.TemporaryDirectory(prefix="keras-style-") as d:
        path = ks.save_image(result, Path(d) / "out.png")
        data = path.read_bytes()
    stdout.flush()
    stdout.buffer.write(data)
    stdout.buffer.flush()


def _image_size(image):
    """(height, width) of a path (header only) or an array."""
    if hasattr(image, "shape"):
        return int(image.shape[0]), int(image.shape[1])
    from PIL import Image

    try:
        with Image.open(image) as im:
            w, h = im.size
    except Exception:
        return None  # stylize reports the unreadable file
    return h, w


def _auto_tile(model, what, image, options, args, verb="stylizing"):
    """Tile when the whole image would not fit in memory (keras_style.memory); --tile N sets
    the size, --tile 0 forces one piece."""
    import sys

    accepted = _accepted(model.stylize)[0]
    if "tile" not in accepted:
        return options
    if args.tile is not None:  # --tile 0 reaches the model as tile=0: one piece, no estimate
        return options
    hw = _image_size(image)
    if hw is None:
        return options
    h, w = hw
    size = options.get("size")
    if size:
        s = float(size) / min(h, w)
        h, w = max(1, round(h * s)), max(1, round(w * s))
    from keras_style import memory

    overlap = options.get("overlap")
    if overlap is None:
        default = inspect.signature(model.stylize).parameters.get("overlap")
        overlap = default.default if default is not None and isinstance(default.default, int) else 64
    try:
        tile = memory.auto_tile(model, h, w, overlap=overlap)
    except Exception:  # an estimate must never stop a run
        return options
    if tile is None:
        return options
    need = memory.format_bytes(memory.estimate_bytes(model, h, w))
    avail = memory.format_bytes(memory.available_bytes() or 0)
    how = memory.describe_plan(model, memory.tiled_network(model), h, w, tile)
    print(
        f"keras-style: note: a {w}x{h} image needs up to {need} in one piece with {what} "
        f"({avail} available); {verb} {how}. Choose with --tile N, or "
        "--tile 0 for one piece.",
        file=sys.stderr,
    )
    return {**options, "tile": tile}


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _run_onnx(args):
    """``--model FILE.onnx``: the exported network in onnxruntime (keras_style.onnx_runtime)."""
    from keras_style.onnx_runtime import FastPathError, stylize_file

    index = getattr(args, "style_index", None)
    if isinstance(index, list):
        index = index[0] if len(index) == 1 else index
    if index is not None and not isinstance(index, int):
        raise ConfigError("--model FILE.onnx takes one --style-index N (no blends).")
    if getattr(args, "masks", None):
        raise ConfigError("--model FILE.onnx has no --mask; use the preset or a .keras model.")
    if len(args.style or []) > 1:
        raise ConfigError("--model FILE.onnx takes at most one --style image.")
    try:
        out = stylize_file(
            args.content, args.model, args.output, style=(args.style or [None])[0],
            style_index=index or 0, overwrite=args.overwrite,
        )
    except FastPathError as e:
        raise ConfigError(str(e)) from None
    if not args.quiet:
        print(f"wrote {out}")
    return 0


def run(args):
    import contextlib
    import sys

    if args.model and str(args.model).lower().endswith(".onnx"):
        return _run_onnx(args)
    import keras_style as ks

    to_stdout = str(args.output) == "-"
    from_stdin = str(args.content) == "-"
    content = None if from_stdin else check_input(args.content, "Content")
    styles = [check_input(s, "Style") for s in (args.style or [])]
    out = Path(args.output)
    folder_mode = (content is not None and content.is_dir()) or any(s.is_dir() for s in styles)
    _check_output_name(out, args.overwrite, folder_mode)
    image = None
    if from_stdin:
        from keras_style.images import load_image

        image = load_image(sys.stdin.buffer.read())  # ImageError names what is wrong
    # nothing but the PNG goes to stdout: progress and messages go to stderr
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if to_stdout else contextlib.nullcontext()
    real_stdout = sys.stdout
    with quiet_stdout:
        return _run(args, ks, image, content, styles, out, folder_mode, to_stdout and real_stdout)


def _run(args, ks, image, content, styles, out, folder_mode, to_stdout):
    import sys

    model, what, needs_style = _build(args)
    takes_style = _takes_style(model)
    if styles and not takes_style:
        raise ConfigError(
            f"{what} has its style built in (a network trained for one style); --style is for "
            "--method gatys or adain. Drop --style, or train a model for that style: "
            "`keras-style train johnson --help`."
        )
    needs_style = needs_style and takes_style
    options = {d: getattr(args, d) for _, d, _ in STYLIZE_OPTIONS if getattr(args, d) is not None}
    masked = "masks" in options
    if "style_index" in options and len(options["style_index"]) == 1 and not masked:
        options["style_index"] = options["style_index"][0]
    if masked and folder_mode:
        raise ConfigError("--mask is for one content image (the masks are drawn for it), not a folder.")
    if masked and styles and len(options["masks"]) != len(styles):
        raise ConfigError(f"{len(options['masks'])} --mask image(s) for {len(styles)} --style image(s); give one mask per style.")
    # progress bars for long jobs (tiled / HD inference, optimisation) unless --quiet
    options["verbose"] = 0 if args.quiet else 1
    accepted = _accepted(model.stylize)[0]
    # a multi-style model's built-in style is stylize's `style` (an index or a blend)
    if "style_index" in options and "style_index" not in accepted and "style" in accepted and not styles:
        options["style"] = options.pop("style_index")
    options = _select(model.stylize, options, what)
    if "verbose" in options and "verbose" not in _accepted(model.stylize)[0]:
        options.pop("verbose")
    if needs_style and not styles:
        raise ConfigError(f"{what} needs --style IMAGE.")

    if not folder_mode:
        style_arg = [str(s) for s in styles]
        call = [image if image is not None else str(content)]
        if styles:
            call.append(style_arg[0] if len(style_arg) == 1 and not masked else style_arg)
        result = model.stylize(*call, **_auto_tile(model, what, call[0], options, args))
        if to_stdout:
            _write_stdout(result, to_stdout)
            return 0
        ks.save_image(result, out, overwrite=args.overwrite)
        if not args.quiet:
            print(f"wrote {out}")
        return 0

    # folder x folder batch mode: every pair; a file that fails is skipped, the rest goes on
    contents = _images_in(content) if content.is_dir() else [content]
    style_sets = []
    for s in styles:
        style_sets.extend(_images_in(s) if s.is_dir() else [s])
    pairs = list(itertools.product(contents, style_sets or [None]))
    targets = [
        out / (f"{c.stem}.png" if s is None else f"{c.stem}__{s.stem}.png") for c, s in pairs
    ]
    for target in targets:  # every output checked before the first computation
        check_output(target, args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    import keras

    bar = None if args.quiet else keras.utils.Progbar(len(pairs), unit_name="image")
    per_image = {**options, **({"verbose": 0} if "verbose" in accepted else {})}
    written, skipped = [], []
    for i, ((c, s), target) in enumerate(zip(pairs, targets)):
        call = [str(c)] + ([str(s)] if s is not None else [])
        try:
            result = model.stylize(*call, **_auto_tile(model, what, call[0], per_image, args))
            ks.save_image(result, target, overwrite=args.overwrite)
            written.append(target)
        except Exception as e:  # one bad file must not stop the others
            pair = c.name if s is None else f"{c.name} x {s.name}"
            reason = _one_line(e)
            skipped.append((pair, reason))
            sys.stdout.flush()
            lead = "\n" if bar is not None else ""  # after the progress bar's line
            print(f"{lead}keras-style: warning: skipped {pair}: {reason}", file=sys.stderr)
        if bar is not None:
            bar.update(i + 1)
    if not args.quiet or skipped:
        print(f"wrote {len(written)} of {len(pairs)} images to {out}"
              + (f"; skipped {len(skipped)}:" if skipped else ""))
    for pair, reason in skipped:
        print(f"  skipped {pair}: {reason}")
    return 1 if skipped else 0
