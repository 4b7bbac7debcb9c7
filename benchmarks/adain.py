"""AdaIN inference speed: keras-style vs PyTorch, same network, same random weights, one run.

    python benchmarks/adain.py --size 512 --reps 3

Measures, interleaved (one repetition of each variant per round) and reported as medians:

- ``torch``: pytorch-AdaIN's pipeline (vgg_normalised[:31] on content and style, calc_mean_std
  AdaIN, decoder) under ``torch.no_grad()``;
- ``keras_xla``: ``model.stylize(content, style)`` with XLA-compiled encode/decode (default);
- ``keras_graph``: the same without XLA (``model.jit_compile_inference = False``);
- ``keras_cached``: ``model.stylize(content, style=encoded)`` with the style encoded once by
  ``model.encode_style`` (the per-image cost when one style is reused for many contents).

The first call of each variant (tracing / XLA compilation) is timed separately and excluded.
The outputs of keras and torch are checked to agree (max abs difference printed).
Timings on shared machines drift; compare the ratios inside one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = p.parse_args(argv)

    import numpy as np
    import torch
    from test_convert_adain import torch_decoder, torch_stylize, torch_vgg

    from keras_style.methods.adain.adain import AdaIN

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vgg, dec = torch_vgg(), torch_decoder()
    vgg.eval()
    dec.eval()

    model = AdaIN(encoder="vgg19_normalised")
    # copy the torch weights (same conversion as keras_style.convert.adain)
    from keras_style.convert.adain import DECODER_KEYS, _vgg_keys

    vsd = {k: v.numpy() for k, v in vgg.state_dict().items()}
    for idx, (name, _) in _vgg_keys().items():
        if name in model.encoder._by_name:
            model.encoder.set_conv_weights(
                name, vsd[f"{idx}.weight"].transpose(2, 3, 1, 0), vsd[f"{idx}.bias"]
            )
    dsd = {k: v.numpy() for k, v in dec.state_dict().items()}
    for idx, (name, _) in DECODER_KEYS.items():
        model.decoder.get_layer(name).set_weights(
            [dsd[f"{idx}.weight"].transpose(2, 3, 1, 0), dsd[f"{idx}.bias"]]
        )
    graph = AdaIN.from_config(model.get_config())
    graph.set_weights(model.get_weights())
    graph.jit_compile_inference = False

    rng = np.random.default_rng(0)
    n = args.size
    content = rng.random((n, n, 3), dtype=np.float32)
    style = rng.random((n, n, 3), dtype=np.float32)
    encoded = model.encode_style(style)

    variants = {
        "torch": lambda: torch_stylize(vgg, dec, content[None], style[None])[0],
        "keras_xla": lambda: model.stylize(content, style),
        "keras_graph": lambda: graph.stylize(content, style),
        "keras_cached": lambda: model.stylize(content, style=encoded),
    }
    first = {}
    for name, fn in variants.items():
        t = time.perf_counter()
        out = fn()
        first[name] = time.perf_counter() - t
        if name == "torch":
            ref = np.clip(out, 0, 1)
        else:
            print(f"{name}: max |keras - torch| = {np.abs(out - ref).max():.2e}")
    times = {k: [] for k in variants}
    for _ in range(args.reps):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nAdaIN {n}x{n} content + {n}x{n} style, {args.reps} interleaved reps, medians:")
    for k in variants:
        print(f"  {k:13s} {med[k]:7.3f} s   (first call {first[k]:.2f} s)")
    print(f"  ratio keras_xla / torch   = {med['keras_xla'] / med['torch']:.2f}")
    print(f"  ratio keras_graph / torch = {med['keras_graph'] / med['torch']:.2f}")
    print(f"  style encoding saved per content by encode_style: "
          f"{med['keras_xla'] - med['keras_cached']:.3f} s "
          f"({med['keras_cached'] / med['keras_xla']:.2f} of the full cost)")
    return med


if __name__ == "__main__":
    main()
