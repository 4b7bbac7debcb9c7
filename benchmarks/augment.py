"""Augmentation throughput in a tf.data pipeline: keras_style's seed_augment vs Keras core vs keras-cv.

    python benchmarks/augment.py --batches 10 --rounds 3

Every variant reads the same in-memory 256x256 float images (``from_tensor_slices`` of a
fixed random array, repeated), batches of ``--batch`` (64), output 224x224, and maps one
augmentation pipeline over the batches with ``num_parallel_calls=AUTOTUNE`` + prefetch:

- ``keras_style``: ``ks.get("seed_augment", size=224)`` = RandomFlip (Keras) +
  RandomResizedCrop (torchvision semantics, per image) + RandomHSVScale (ours);
- ``keras_core``: the closest Keras 3 core pipeline (Keras has no RandomResizedCrop):
  RandomFlip + RandomZoom(height/width factors (-0.7, 0), independent, per image) +
  Resizing(224) + RandomColorJitter(brightness (-0.25, 0.25) additive, saturation
  (1/3, 0.6) i.e. x[0.5, 1.5], hue 0.5);
- ``keras_cv``: keras-cv 0.9 RandomFlip + RandomCropAndResize((224, 224), area (0.08, 1),
  aspect (3/4, 4/3)) + RandomBrightness(0.25) + RandomSaturation((1/3, 0.6)) + RandomHue(0.5).

Repetitions are interleaved (one timing of each variant per round) and the per-variant
median images/s is reported with ratios.  Each timing runs a fresh iterator over exactly
``--batches`` batches (no work-ahead between variants); the warm-up batches that include
tracing are excluded.  Timings on shared machines drift; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_pipelines(size, with_cv=True):
    import keras

    import keras_style as ks

    pipes = {"keras_style": ks.get("seed_augment", size=size, seed=0)}
    pipes["keras_core"] = keras.layers.Pipeline(
        [
            keras.layers.RandomFlip("horizontal", seed=0),
            keras.layers.RandomZoom(height_factor=(-0.7, 0.0), width_factor=(-0.7, 0.0), seed=0),
            keras.layers.Resizing(size, size),
            keras.layers.RandomColorJitter(
                value_range=(0, 1), brightness_factor=(-0.25, 0.25),
                saturation_factor=(1 / 3, 0.6), hue_factor=0.5, seed=0,
            ),
        ]
    )
    if with_cv:
        try:
            from keras_style.layers.augmentation.keras_cv_interop import import_keras_cv

            kcv = import_keras_cv()
            pipes["keras_cv"] = keras.Sequential(
                [
                    kcv.layers.RandomFlip("horizontal", seed=0),
                    kcv.layers.RandomCropAndResize(
                        target_size=(size, size), crop_area_factor=(0.08, 1.0),
                        aspect_ratio_factor=(3 / 4, 4 / 3), seed=0,
                    ),
                    kcv.layers.RandomBrightness(0.25, value_range=(0, 1), seed=0),
                    kcv.layers.RandomSaturation((1 / 3, 0.6), seed=0),
                    kcv.layers.RandomHue(0.5, value_range=(0, 1), seed=0),
                ]
            )
        except Exception as e:  # report and continue without it
            print(f"keras_cv skipped: {e}")
    return pipes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=10, help="batches per timing")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2, help="batches discarded per pipeline")
    p.add_argument("--no-keras-cv", action="store_true")
    args = p.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    pool = rng.random((args.batch * 2, args.input_size, args.input_size, 3), dtype=np.float32)
    pipes = build_pipelines(args.size, with_cv=not args.no_keras_cv)

    # One dataset per variant (its map function is traced once, here). Each timing consumes
    # a FRESH iterator over exactly `batches` batches, so no variant can work ahead in the
    # background (prefetch / parallel map) while another one is being timed.
    datasets = {}
    for name, pipe in pipes.items():
        ds = tf.data.Dataset.from_tensor_slices(pool).repeat().batch(args.batch, drop_remainder=True)
        ds = ds.map(lambda x, pipe=pipe: pipe(x, training=True), num_parallel_calls=tf.data.AUTOTUNE)
        datasets[name] = ds.prefetch(2)
        t0 = time.perf_counter()
        out = None
        for batch in datasets[name].take(args.warmup):
            out = batch
        assert tuple(out.shape) == (args.batch, args.size, args.size, 3), (name, out.shape)
        print(f"{name}: first {args.warmup} batches (incl. tracing) {time.perf_counter() - t0:.1f} s")

    rates = {n: [] for n in datasets}
    for r in range(args.rounds):
        for name, ds in datasets.items():
            t0 = time.perf_counter()
            for _ in ds.take(args.batches):
                pass
            dt = time.perf_counter() - t0
            rates[name].append(args.batches * args.batch / dt)
        print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.0f} img/s" for n, v in rates.items()))

    med = {n: statistics.median(v) for n, v in rates.items()}
    print(f"\nmedian images/s ({args.size}px out of {args.input_size}px, batch {args.batch}, "
          f"{args.batches} batches x {args.rounds} interleaved rounds, {os.cpu_count()} CPUs):")
    for n, v in med.items():
        print(f"  {n:12s} {v:8.1f}")
    for other in ("keras_core", "keras_cv"):
        if other in med:
            print(f"  keras_style / {other}: {med['keras_style'] / med[other]:.2f}x")


if __name__ == "__main__":
    main()
