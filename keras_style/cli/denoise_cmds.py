"""`keras-style denoise NOISY -o CLEAN [--weight 0.1] [--steps 100]`: total-variation denoising."""

from __future__ import annotations

from keras_style.cli._collect import check_input, check_output


def add_parsers(sub):
    p = sub.add_parser(
        "denoise",
        help="total-variation denoising: argmin 1/2||x - y||^2 + weight * TV(x) (L-BFGS)",
    )
    p.add_argument("image", help="noisy image")
    p.add_argument("-o", "--output", required=True, help="output image")
    p.add_argument("--weight", type=float, default=0.1, help="TV weight (default 0.1; ~sigma of the noise)")
    p.add_argument("--steps", type=int, default=100, help="L-BFGS iterations (default 100)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args):
    import keras_style as ks

    src = check_input(args.image)
    out = check_output(args.output, args.overwrite)
    result = ks.denoise_tv(str(src), weight=args.weight, steps=args.steps, verbose=0 if args.quiet else 1)
    ks.save_image(result, out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {out}")
    return 0
