"""`keras-style train style_aware`: train the style-aware GAN on a photo folder vs. an art folder.

```
keras-style train style_aware --photos places/ --art van_gogh/ --steps 300000 -o van_gogh.keras
keras-style stylize photo.jpg --model van_gogh.keras --size 1280 -o out.png
```
Defaults are the official ones (768 px crops, batch 1, ngf 32, ndf 64, Adam 2e-4, dlw 1,
tlw 100, flw 100, success rate 0.8). Training is resumable: a `ResumableBackup` folder
(``OUTPUT.backup/``) is written every ``--save-every`` steps; rerun the same command to resume.
"""

from __future__ import annotations

import math

from keras_style.errors import ConfigError
from keras_style.saving import check_keras_path, save_model_atomic


def add_train_parser(sub):
    p = sub.add_parser(
        "style_aware",
        aliases=["style-aware"],
        help="train the style-aware content loss GAN (Sanakoyeu et al. 2018) on photos vs. an artist's paintings",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--photos", required=True, help="folder of content photos (Places365 in the paper)")
    p.add_argument("--art", required=True, help="folder of one artist's paintings (at least 2)")
    p.add_argument("--steps", type=int, required=True, help="training steps (official: 300000)")
    p.add_argument("-o", "--output", required=True, help="output .keras model")
    p.add_argument("--image-size", type=int, default=768, help="training crop (official 768)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--res-blocks", type=int, default=9)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--feature-loss-norm", choices=["l1", "l2"], default="l1")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--save-every", type=int, default=1000, help="backup every N steps (official --save_freq 1000)")
    p.add_argument("--preview", nargs="*", default=None, help="images stylized into --preview-dir while training")
    p.add_argument("--preview-dir", default=None)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=train_cli)
    return p


def train_cli(args):
    import keras

    import keras_style as ks

    out = str(check_keras_path(args.output, overwrite=args.overwrite))
    if args.steps < 1 or args.save_every < 1:
        raise ConfigError("--steps and --save-every must be positive.")
    pairs = ks.data.photo_art_pairs(
        args.photos, args.art, image_size=args.image_size, batch_size=args.batch_size, seed=args.seed
    )
    model = ks.get(
        "style_aware",
        ngf=args.ngf,
        ndf=args.ndf,
        num_residual_blocks=args.res_blocks,
        feature_loss_norm=args.feature_loss_norm,
        seed=args.seed,
    )

    def adam():
        return keras.optimizers.Adam(args.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    model.compile(g_optimizer=adam(), d_optimizer=adam())
    per_epoch = min(args.save_every, args.steps)
    from keras_style.callbacks import ResumableBackup

    # atomic checkpoints: a kill at any moment (even while one is written) resumes
    callbacks = [ResumableBackup(out[: -len(".keras")] + ".backup", verbose=0 if args.quiet else 1)]
    if args.preview:
        callbacks.append(
            ks.get(
                "stylized_preview",
                images=args.preview,
                every_n_steps=per_epoch,
                directory=args.preview_dir or out[: -len(".keras")] + ".previews",
            )
        )
    model.fit(
        pairs,
        steps_per_epoch=per_epoch,
        epochs=math.ceil(args.steps / per_epoch),
        callbacks=callbacks,
        verbose=0 if args.quiet else 2,
    )
    save_model_atomic(model, out)
    if not args.quiet:
        print(f"wrote {out}")
    return 0
