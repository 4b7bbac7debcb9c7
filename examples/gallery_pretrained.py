"""Gallery pictures of the pretrained feed-forward networks (offline, a minute on a CPU).

    python examples/gallery_pretrained.py            # writes examples/gallery/multistyle_26_sheet.jpg
                                                     # examples/gallery/arbitrary_strip.jpg
                                                     # examples/gallery/masks_strip.jpg
    python examples/gallery_pretrained.py --johnson  # examples/gallery/johnson_presets_strip.jpg only

- ``multistyle_26``: the contact sheet of all 26 styles on a bundled photo (160 px).
- ``arbitrary_stylization``: photo | Starry Night | the Great Wave at strength 0.5 |
  a 50/50 blend of both with the photo's colours preserved (300 px).
- spatial masks: photo | the mask (a soft left-right ramp) | ``multistyle_26`` styles 22
  and 13, one per side | ``arbitrary_stylization`` Starry Night and the Great Wave, one per
  side (300 px). Both condition every normalisation layer per pixel, so there is no seam.
- ``--johnson``: the bundled Johnson presets on a photo: photo | Great Wave | ``johnson_great_wave``
  | Starry Night | ``johnson_starry_night`` | ``johnson_starry_night`` with ``--preserve-color``
  (the painting cells are the style images scaled to the photo's height; 300 px).
"""

import argparse
from pathlib import Path

import numpy as np

import keras_style as ks

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photo", default=str(IMAGES / "chelsea.jpg"))
    p.add_argument("--out-dir", default=str(HERE / "gallery"))
    p.add_argument("--johnson", action="store_true", help="only the Johnson presets strip")
    args = p.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if args.johnson:
        photo = ks.load_image(args.photo, max_size=300)
        h = photo.shape[0]

        def painting(name):
            return ks.load_image(IMAGES / name, size=h)[:h, : int(h * 0.8)]

        sn = ks.get("johnson_starry_night")
        row = [photo, painting("hokusai_great_wave.jpg"), ks.get("johnson_great_wave").stylize(photo),
               painting("van_gogh_starry_night.jpg"), sn.stylize(photo), sn.stylize(photo, preserve_color=True)]
        strip = np.concatenate([np.clip(np.asarray(r, "float32"), 0, 1) for r in row], axis=1)
        ks.save_image(strip, out / "johnson_presets_strip.jpg", overwrite=True, quality=88)
        print("wrote", out / "johnson_presets_strip.jpg")
        return

    sheet = ks.get("multistyle_26").contact_sheet(ks.load_image(args.photo, max_size=160))
    ks.save_image(sheet, out / "multistyle_26_sheet.jpg", overwrite=True, quality=88)

    arb = ks.get("arbitrary_stylization")
    photo = ks.load_image(args.photo, max_size=300)
    starry, wave = str(IMAGES / "van_gogh_starry_night.jpg"), str(IMAGES / "hokusai_great_wave.jpg")
    row = [
        photo,
        arb.stylize(photo, starry),
        arb.stylize(photo, wave, strength=0.5),
        arb.stylize(photo, [starry, wave], style_weights=[0.5, 0.5], preserve_color=True),
    ]
    strip = np.concatenate([np.clip(np.asarray(r, "float32"), 0, 1) for r in row], axis=1)
    ks.save_image(strip, out / "arbitrary_strip.jpg", overwrite=True, quality=88)

    h, w = photo.shape[:2]
    ramp = np.clip((np.arange(w, dtype="float32") / w - 0.4) / 0.2, 0.0, 1.0)  # soft edge
    right = np.repeat(ramp[None], h, axis=0)
    masks = [1.0 - right, right]
    row = [
        photo,
        np.repeat(right[..., None], 3, axis=-1),
        ks.get("multistyle_26").stylize(photo, style=[22, 13], masks=masks),
        arb.stylize(photo, [starry, wave], masks=masks),
    ]
    strip = np.concatenate([np.clip(np.asarray(r, "float32"), 0, 1) for r in row], axis=1)
    ks.save_image(strip, out / "masks_strip.jpg", overwrite=True, quality=88)
    print("wrote", out / "multistyle_26_sheet.jpg", out / "arbitrary_strip.jpg", "and", out / "masks_strip.jpg")


if __name__ == "__main__":
    main()
