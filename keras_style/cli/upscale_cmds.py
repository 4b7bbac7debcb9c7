"""`keras-style upscale`: super-resolution with a preset or a johnson_sr model."""

from __future__ import annotations

from pathlib import Path

from keras_style.errors import ConfigError

# the help of add_upscale_parser's parser, for the top-level help (a test keeps them equal)
COMMANDS = {"upscale": "super-resolve an image (waifu2x_photo x2, realesrgan_x4plus x4, johnson_sr)"}


def add_parsers(sub):
    p = add_upscale_parser(sub)
    p.set_defaults(func=_never_random(p.get_default("func")))


def add_upscale_parser(sub):
    p = sub.add_parser("upscale", help="super-resolve an image (waifu2x_photo x2, realesrgan_x4plus x4, johnson_sr)")
    p.add_argument("image", help="low-resolution input image")
    p.add_argument("--model", required=True,
                   help="a preset (waifu2x_photo, realesrgan_x4plus, ...) or a .keras super-resolution model")
    p.add_argument("-o", "--output", required=True, help="output image")
    p.add_argument("--tile", type=int, default=None, help="tile size in input pixels")
    p.add_argument("--overlap", type=int, default=None,
                   help="context px around each tile (default: the exact receptive field)")
    p.add_argument("--denoise", type=int, choices=[0, 1, 2, 3], default=None,
                   help="waifu2x_photo noise level (default: no denoising)")
    p.add_argument("--scale", type=int, default=None,
                   help="check the model's scale (waifu2x: 2, 4, 8 by repeated passes)")
    p.add_argument("--no-histogram-matching", action="store_true",
                   help="skip the paper's histogram matching to the input")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_upscale)
    return p


def _upscale(args):
    from keras_style.images import save_image
    from keras_style.presets import load

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it.")
    if args.denoise is not None:
        from keras_style.registry import get

        if str(args.model).lower() != "waifu2x_photo":
            raise ConfigError(f"--denoise applies to --model waifu2x_photo only, not {args.model}.")
        model = get("waifu2x_photo", denoise=args.denoise)
    else:
        model = load(args.model)
    if not hasattr(model, "upscale"):
        raise ConfigError(f"{args.model} is not a super-resolution model (it has no upscale()).")
    import inspect

    accepts = inspect.signature(model.upscale).parameters
    kwargs = {}
    if "histogram_matching" in accepts:
        kwargs["histogram_matching"] = False if args.no_histogram_matching else None
    if "scale" in accepts:
        kwargs["scale"] = args.scale
    elif args.scale is not None and args.scale != getattr(model, "scale", None):
        raise ConfigError(f"{args.model} upscales by {getattr(model, 'scale', '?')}, not {args.scale}.")
    if args.overlap is not None:
        kwargs["overlap"] = args.overlap
    if "verbose" in accepts:
        kwargs["verbose"] = 1  # a progress bar for tiled (large) images
    tile = args.tile
    if tile is None and "memory_budget" not in accepts:
        # networks that do not plan their own tiling (Johnson SR): the estimate of `stylize`
        from keras_style.cli.stylize_cmds import _auto_tile

        opts = {"overlap": args.overlap} if args.overlap is not None else {}
        tile = _auto_tile(model, args.model, args.image, opts, args, verb="upscaling").get("tile")
    big = model.upscale(args.image, tile=tile, **kwargs)  # tile=0: one piece
    save_image(big, str(out), overwrite=args.overwrite)
    print(f"wrote {out} ({big.shape[1]}x{big.shape[0]})")
    return 0


def _never_random(run):
    """--model must be a preset or a trained file: `--model johnson_sr` would be random weights."""

    def checked(args):
        from keras_style.cli._random_weights import check_model

        if getattr(args, "model", None) and getattr(args, "denoise", None) is None:
            check_model(args.model)
        return run(args)

    return checked
