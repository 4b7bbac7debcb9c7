"""`keras-style video`: stylize a video file or a folder of frames."""

from __future__ import annotations

from keras_style.errors import ConfigError


def add_parsers(sub):
    p = sub.add_parser(
        "video",
        help="stylize a video (mp4/webm/gif) or a folder of frames; keeps fps and audio",
    )
    p.add_argument("input", help="video file or folder of frames")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="a preset name or a .keras file (feed-forward model)")
    g.add_argument("--method", help="adain (arbitrary style) or gatys (Ruder et al. optimisation)")
    p.add_argument("--style", help="style image for --method")
    p.add_argument("--weights", help="weights for --method (e.g. adain_vgg19_coco_wikiart, or "
                                     "vgg16_imagenet for gatys/ruder offline)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4/.webm/.gif) or folder")
    p.add_argument("--stabilize", action="store_true", help="flow-based stabiliser for feed-forward models")
    p.add_argument("--strength", type=float, default=0.7, help="stabiliser strength in [0, 1) (default 0.7)")
    p.add_argument(
        "--temporal-weight", type=float, default=None,
        help="gatys: Ruder et al.'s temporal loss weight, in their units (default 1e3)",
    )
    p.add_argument("--steps", type=int, nargs=2, metavar=("FIRST", "LATER"), help="gatys steps for the first and later frames")
    p.add_argument(
        "--long-term", type=int, nargs="+", metavar="J",
        help="gatys: frame offsets of the temporal terms, e.g. 1 2 4 (Ruder's long-term "
        "consistency; default 1 = short-term only)",
    )
    p.add_argument(
        "--passes", type=int,
        help="gatys: Ruder et al.'s multi-pass algorithm with N forward/backward passes over the "
        "clip (their default 15; keeps every frame in memory); without it, one pass",
    )
    p.add_argument("--pass-steps", type=int, help="gatys --passes: L-BFGS steps per frame and pass (default 100)")
    p.add_argument("--size", type=int, help="resize frames so the shorter side is SIZE before stylizing")
    p.add_argument("--alpha", type=float, help="adain content-style trade-off")
    p.add_argument("--tile", type=int, help="tile size for large frames")
    p.add_argument("--max-frames", type=int, help="only the first N frames")
    p.add_argument("--fps", type=float, help="frame rate for a folder of frames (default 25)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def _frames(reader, size, max_frames):
    from keras_style.images import resize_image

    for i, f in enumerate(reader):
        if max_frames is not None and i >= max_frames:
            return
        yield f if size is None else resize_image(f, size=size)


def run(args):
    from keras_style import presets, video

    reader = video.read(args.input, fps=args.fps)
    verbose = 0 if args.quiet else 1
    total = reader.num_frames
    if args.max_frames is not None and total is not None:
        total = min(total, args.max_frames)
    frames = _frames(reader, args.size, args.max_frames)
    kw = {}
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    if args.tile is not None:
        kw["tile"] = args.tile

    if args.method and args.method.lower() == "gatys":
        if not args.style:
            raise ConfigError("--method gatys needs --style IMAGE.")
        if args.stabilize:
            raise ConfigError("--stabilize is for feed-forward models; gatys uses --temporal-weight.")
        from keras_style.video.ruder import stylize_video

        build = {"backbone_weights": args.weights} if args.weights else {}
        opts = {}
        if args.temporal_weight is not None:
            opts["temporal_weight"] = args.temporal_weight
        if args.passes is not None:
            from keras_style.video.ruder import stylize_video_multipass

            if args.steps or args.long_term:
                raise ConfigError(
                    "--steps and --long-term are for the single-pass algorithm; with --passes "
                    "give --pass-steps (every neighbour is used in both directions)."
                )
            for flag, v in (("--passes", args.passes), ("--pass-steps", args.pass_steps)):
                if v is not None and v < 1:  # before the whole clip is read into memory
                    raise ConfigError(f"{flag} must be an integer >= 1, got {v}.")
            if args.pass_steps is not None:
                opts["steps"] = args.pass_steps
            styled = stylize_video_multipass(
                list(frames), args.style, build=build, passes=args.passes, verbose=verbose, **opts
            )
        else:
            if args.pass_steps is not None:
                raise ConfigError("--pass-steps needs --passes N (the multi-pass algorithm).")
            if args.steps:
                opts["steps_first"], opts["steps_later"] = args.steps
            if args.long_term:
                opts["long_term"] = tuple(args.long_term)
            styled = stylize_video(frames, args.style, build=build, verbose=verbose, total=total, **opts)
    else:
        if (
            args.temporal_weight is not None or args.long_term or args.steps
            or args.passes is not None or args.pass_steps is not None
        ):
            raise ConfigError(
                "--temporal-weight, --long-term, --steps, --passes and --pass-steps apply to "
                "--method gatys only; use --stabilize for feed-forward models."
            )
        from keras_style.cli._random_weights import check_method, check_model

        if args.model:
            check_model(args.model)  # never random weights
            model = presets.load(args.model)
            style = None
            if args.style:
                raise ConfigError(f"{args.model} has its style built in; --style is for --method adain.")
        else:
            import keras_style as ks

            if not args.style:
                raise ConfigError(f"--method {args.method} needs --style IMAGE.")
            check_method(args.method, {"weights": args.weights} if args.weights else {})
            model = ks.get(args.method, **({"weights": args.weights} if args.weights else {}))
            style = args.style
        styled = video.stylize(
            frames, model, style, stabilize=args.stabilize, strength=args.strength,
            verbose=verbose, total=total, **kw,
        )
    out = video.write(styled, args.output, like=reader, overwrite=args.overwrite, verbose=0, total=total)
    if not args.quiet:
        print(f"wrote {out}")
    return 0
