"""Video style transfer three ways, offline on a CPU: per-frame, stabilised, Ruder et al.

Makes a short clip from a bundled photo (a pan with a slow zoom, so the motion is not a
plain shift), then stylizes it

1. frame by frame with a feed-forward model (the ``johnson_great_wave`` preset when it is
   installed, otherwise a random-weights Johnson network: a fixed random filter bank,
   not a painting style, but it flickers like a real fast model),
2. with the same model and the flow-based stabiliser (``stabilize=True``),
3. with Ruder et al.'s method (Gatys on the offline ``vgg16_hed_bsds500`` VGG16, the
   previous stylized frame warped into each new one as initialisation, plus the masked
   temporal loss),

writes ``examples/gallery/video_comparison.gif`` (input | per-frame | stabilised | Ruder,
side by side) and ``examples/gallery/video_comparison.png`` (a few frames of each, one row
per frame), and prints the warping error of each (certainty-masked mean
|O_t - warp(O_{t-1})| with the flow estimated from the *input* frames; lower = steadier).

    python examples/video.py                           # 24 frames of 160x120, a few minutes
    python examples/video.py --frames 8 --steps 20 8   # quicker
    python examples/video.py --passes 3 --pass-steps 10  # Ruder's multi-pass algorithm too

``--weights`` picks the Gatys VGG (``vgg16_hed_bsds500`` by default, or the offline ImageNet
``vgg16_imagenet`` for real pictures). The compiled Gatys step is built once for the clip's
frame size and reused for every frame.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_style as ks  # noqa: E402
from keras_style import video  # noqa: E402
from keras_style.video.ruder import stylize_video, stylize_video_multipass  # noqa: E402

HERE = Path(__file__).resolve().parent


def feed_forward_model(style):
    """The johnson_great_wave preset if it can be loaded, else a random-weights Johnson net."""
    from keras_style import weights as _weights

    if "johnson_great_wave" in _weights.names():
        try:
            return ks.presets.load("johnson_great_wave"), "johnson_great_wave preset", {}
        except Exception as e:  # weights file missing: fall back, say why
            print(f"johnson_great_wave not usable ({type(e).__name__}: {e}); using a random net")
    import keras

    keras.utils.set_random_seed(3)
    model = ks.get(
        "johnson", style_image=style, style_size=64, backbone_weights=None,
        width=0.5, num_residual_blocks=3, normalization="instance",
    )
    # half photo, half random filter response: flicker without hiding the picture
    return model, "random-weights Johnson net (instance norm, width 0.5), strength 0.5", {"stylize_options": {"strength": 0.5}}


def label(img, text):
    from PIL import Image, ImageDraw

    im = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 6 * len(text) + 4, 12], fill=(0, 0, 0))
    d.text((2, 0), text, fill=(255, 255, 255))
    return np.asarray(im, np.float32) / 255.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photo", default=str(HERE / "images" / "chelsea.jpg"))
    p.add_argument("--style", default=str(HERE / "images" / "hokusai_great_wave.jpg"))
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--size", type=int, nargs=2, default=(120, 160), metavar=("H", "W"))
    p.add_argument("--steps", type=int, nargs=2, default=(50, 15), metavar=("FIRST", "LATER"),
                   help="L-BFGS iterations of Ruder's first and later frames")
    p.add_argument("--temporal-weight", type=float, default=1e3, help="Ruder's units (default 1e3, theirs)")
    p.add_argument("--strength", type=float, default=0.7, help="stabiliser strength")
    p.add_argument("--out-dir", default=str(HERE / "gallery"))
    p.add_argument("--weights", default="vgg16_hed_bsds500", help="Gatys backbone weights")
    p.add_argument("--passes", type=int, default=0,
                   help="also run Ruder's multi-pass algorithm with this many passes (paper: 15)")
    p.add_argument("--pass-steps", type=int, default=10, help="L-BFGS steps per frame and pass (paper: 100)")
    p.add_argument("--gatys-per-frame", action="store_true",
                   help="also run plain Gatys on every frame (no temporal loss) and measure it")
    args = p.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_all = time.time()

    # a pan to the right and down with a 1% zoom per frame (the window grows, then is resized)
    # (the photo is first reduced to a shorter side of 200 px so the clip shows the whole face)
    photo = ks.load_image(args.photo, size=200)
    frames, _ = video.pan_clip(photo, args.frames, size=tuple(args.size), shift=(2, 1),
                               start=(30, 10), zoom=0.01)
    fps = 12

    model, what, kw = feed_forward_model(args.style)
    print(f"feed-forward model: {what}")
    t = time.time()
    per_frame = list(video.stylize(frames, model, verbose=0, **kw))
    t_pf = time.time() - t
    t = time.time()
    stabilised = list(video.stylize(frames, model, stabilize=True, strength=args.strength, verbose=0, **kw))
    t_st = time.time() - t

    print(f"Ruder et al.: gatys on {args.weights}, steps {args.steps[0]}/{args.steps[1]}, "
          f"temporal_weight {args.temporal_weight:g} (Ruder units)")
    gatys = ks.get("gatys", backbone_weights=args.weights, jit_compile=False)
    t = time.time()
    ruder = list(stylize_video(
        frames, args.style, model=gatys,
        steps_first=args.steps[0], steps_later=args.steps[1], init_first="content",
        temporal_weight=args.temporal_weight, tol=0, verbose=1, total=len(frames),
    ))
    t_ru = time.time() - t

    clips = [("input", frames), ("per-frame", per_frame), ("stabilised", stabilised), ("ruder", ruder)]
    if args.passes:
        print(f"Ruder et al. multi-pass: {args.passes} passes of {args.pass_steps} steps")
        t = time.time()
        clips.append(("multi-pass", stylize_video_multipass(
            frames, args.style, model=gatys, passes=args.passes, steps=args.pass_steps,
            temporal_after=min(8, max(1, args.passes // 2 + 1)), init="content", verbose=1)))
        print(f"  {time.time() - t:.0f} s")
    if args.gatys_per_frame:
        print("plain Gatys frame by frame (same steps as Ruder's first frame, content init)")
        g = gatys
        t = time.time()
        clips.append(("gatys", [g.stylize(f, args.style, steps=args.steps[0], verbose=0) for f in frames]))
        print(f"  {time.time() - t:.0f} s")
    # DIS is also the flow Ruder's temporal loss used; Farneback is an independent check
    errors = {name: video.warping_error(out, frames) for name, out in clips}
    errors_fb = {name: video.warping_error(out, frames, flow_method="farneback") for name, out in clips}
    panels = []
    for i in range(len(frames)):
        panels.append(np.concatenate([
            label(frames[i], "input"),
            label(per_frame[i], f"per-frame {errors['per-frame']:.3f}"),
            label(stabilised[i], f"stabilised {errors['stabilised']:.3f}"),
            label(ruder[i], f"Ruder {errors['ruder']:.3f}"),
        ] + ([label(clips[4][1][i], f"multi-pass {errors['multi-pass']:.3f}")] if args.passes else []), axis=1))
    gif = video.write(panels, out_dir / "video_comparison.gif", fps=fps, overwrite=True, verbose=0)
    picks = sorted({0, len(frames) // 3, 2 * len(frames) // 3, len(frames) - 1})
    ks.save_image(np.concatenate([panels[i] for i in picks], axis=0), out_dir / "video_comparison.png",
                  overwrite=True)
    print(f"wrote {gif} and {out_dir / 'video_comparison.png'} (frames {picks})")
    print("warping error (masked mean |O_t - warp(O_t-1)|, flow from the input frames):")
    print(f"  {'':11s} {'DIS':>7s} {'Farneback':>9s}")
    for name, e in errors.items():
        print(f"  {name:11s} {e:7.4f} {errors_fb[name]:9.4f}")
    print(f"times: per-frame {t_pf:.1f} s, stabilised {t_st:.1f} s, Ruder {t_ru:.0f} s, "
          f"total {time.time() - t_all:.0f} s")


if __name__ == "__main__":
    main()
