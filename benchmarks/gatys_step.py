"""Seconds per Gatys optimisation step: keras-style vs a PyTorch implementation, same run.

One step = the objective's value and its gradient with respect to the image (VGG19 forward
to relu5_1 + backward to the image), which is what an L-BFGS or Adam iteration costs;
the optimiser's own arithmetic is reported separately for keras-style's NumPy L-BFGS.

Both sides use the same VGG19 graph (keras.applications layout: zero "same" padding, max
pooling), the same random weights (copied from Keras into PyTorch), the same losses
(neural-style: content MSE on relu4_2, Gram MSE on relu1_1..relu5_1, squared TV) and the
same inputs. The outputs are compared first. Repetitions are interleaved and medians
reported, as the machines are shared (docs/design.md, "Performance").

    python benchmarks/gatys_step.py --sizes 256 512 --reps 5
    python benchmarks/gatys_step.py --sizes 256 --reps 3 --end-to-end 20 --optimizers adam lbfgs

``--conv-stack`` also times the VGG19 convolutions alone (to relu5_1, forward and backward
to the image, loss = sum of squares): TF graph, XLA, PyTorch NCHW and PyTorch channels-last,
i.e. how fast the frameworks' float32 convolution kernels are on this CPU, the floor under
any Gatys step.

``--end-to-end N`` also times whole runs as a user makes them, after one warm-up run each:
``ks.get("gatys", backbone_weights=None).stylize(content, style, steps=N, optimizer=...)``
against the same objective written in PyTorch with ``torch.optim.Adam`` / ``torch.optim.LBFGS``
(strong-Wolfe line search, as ours), both from the content image, targets computed inside
the timed run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

CONTENT = ["relu4_2"]
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
BLOCKS = (2, 2, 4, 4, 4)
CHANNELS = (64, 128, 256, 512, 512)
CW, SW, TVW = 5.0, 100.0, 1e-3 * 255.0**2 / 2.0


def keras_side(size, jit_compile):
    import keras_style as ks
    from keras_style.backend_grad import value_and_grad

    model = ks.get("gatys", backbone="vgg19", backbone_weights=None, jit_compile=jit_compile)
    objective = model.build_objective(CONTENT, STYLE, (CW, SW, TVW), 0)
    rng = np.random.default_rng(0)
    content = rng.random((size, size, 3), dtype=np.float32)
    style = rng.random((size, size, 3), dtype=np.float32)
    targets, _ = model._targets(content, [style], np.ones(1), None, None, CONTENT, STYLE)
    step = value_and_grad(objective, jit_compile=jit_compile)
    x = rng.random((1, size, size, 3), dtype=np.float32)
    extractor = model.extractor(CONTENT + STYLE)
    return step, x, targets, extractor


def torch_side(extractor, targets):
    import torch
    import torch.nn.functional as tF

    convs = []
    for b, n in enumerate(BLOCKS, 1):
        for k in range(1, n + 1):
            if f"block{b}_conv{k}" not in extractor._by_name:  # built only to relu5_1
                break
            kern, bias = extractor._by_name[f"block{b}_conv{k}"].get_weights()
            convs.append(
                (
                    torch.tensor(np.transpose(kern, (3, 2, 0, 1)).copy()),
                    torch.tensor(bias),
                )
            )
    mean = torch.tensor(np.asarray(extractor.bgr_mean, np.float32)).view(1, 3, 1, 1)
    t_content = {n: torch.tensor(t) for n, t in targets["content"].items()}
    t_style = {n: torch.tensor(t) for n, t in targets["style"].items()}

    def features(x):  # x: (1, 3, H, W) RGB in [0, 1]
        h = torch.flip(x, dims=[1]) * 255.0 - mean
        out, i = {}, 0
        for b, n in enumerate(BLOCKS, 1):
            for k in range(1, n + 1):
                w, bb = convs[i]
                i += 1
                h = torch.relu(tF.conv2d(h, w, bb, padding=1))
                name = f"relu{b}_{k}"
                if name in CONTENT or name in STYLE:
                    out[name] = h
                if b == 5 and k == 1:
                    return out
            h = tF.max_pool2d(h, 2, 2)
        return out

    def gram(f):
        _, c, hh, ww = f.shape
        m = f.reshape(c, hh * ww)
        return (m @ m.t())[None] / (c * hh * ww)

    def objective(x):
        f = features(x)
        c_loss = sum(((f[n] - t_content[n].permute(0, 3, 1, 2)) ** 2).mean() for n in CONTENT)
        s_loss = sum(((gram(f[n]) - t_style[n]) ** 2).mean() for n in STYLE)
        tv = ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum() + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum()
        return CW * c_loss + SW * s_loss + TVW * tv

    def step(x_nhwc):
        xt = torch.tensor(np.transpose(x_nhwc, (0, 3, 1, 2)).copy(), requires_grad=True)
        loss = objective(xt)
        (g,) = torch.autograd.grad(loss, [xt])
        return float(loss.detach()), np.transpose(g.numpy(), (0, 2, 3, 1))

    def run(content, style, steps, optimizer):
        """A whole run: targets from the images, then ``steps`` optimiser iterations."""
        with torch.no_grad():
            c = torch.tensor(np.transpose(content[None], (0, 3, 1, 2)).copy())
            fc = features(c)
            fs = features(torch.tensor(np.transpose(style[None], (0, 3, 1, 2)).copy()))
            t_content.update({n: fc[n].permute(0, 2, 3, 1) for n in CONTENT})
            t_style.update({n: gram(fs[n]) for n in STYLE})
        x = c.clone().requires_grad_(True)
        if optimizer == "adam":
            opt = torch.optim.Adam([x], lr=1.0 / 255.0 * 10.0)
            for _ in range(steps):
                opt.zero_grad()
                loss = objective(x)
                loss.backward()
                opt.step()
        else:
            opt = torch.optim.LBFGS([x], max_iter=steps, history_size=100, line_search_fn="strong_wolfe",
                                    tolerance_grad=-1.0, tolerance_change=-1.0)

            def closure():
                opt.zero_grad()
                loss = objective(x)
                loss.backward()
                return loss

            opt.step(closure)
        return x.detach()

    step.run = run
    return step


def timeit(fn, reps):
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def interleaved(runs, reps):
    """One warm-up call of each run (traces, allocator), then ``reps`` interleaved rounds:
    (median seconds per run, all times)."""
    for fn in runs.values():
        fn()
    times = {k: [] for k in runs}
    for _ in range(reps):
        for k, fn in runs.items():
            times[k].append(timeit(fn, 1))
    return {k: statistics.median(v) for k, v in times.items()}, times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--reps", type=int, default=5, help="interleaved rounds (median reported)")
    p.add_argument("--modes", nargs="+", default=["graph", "xla"], choices=["graph", "xla"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--end-to-end", type=int, default=0, metavar="STEPS",
                   help="also time whole stylize runs of this many steps (0: off)")
    p.add_argument("--optimizers", nargs="+", default=["adam"], choices=["adam", "lbfgs"])
    p.add_argument("--conv-stack", action="store_true", help="also time the VGG19 convolutions alone")
    args = p.parse_args()

    import tensorflow as tf
    import torch

    torch.set_num_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    print(f"torch {torch.__version__}, tensorflow {tf.__version__}, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f} (shared machine: compare ratios, not absolutes)")
    from keras_style.optimizers.lbfgs import LBFGS

    for size in args.sizes:
        sides = {}
        for mode in args.modes:
            step, x, targets, extractor = keras_side(size, jit_compile=(mode == "xla"))
            t = time.perf_counter()
            loss_k, _, grad_k = step(x, targets)  # compile
            print(f"[{size}] keras {mode}: first call (trace/compile) {time.perf_counter() - t:.1f} s")
            sides[f"keras-{mode}"] = (lambda s=step, t_=targets, x_=x: s(x_, t_))
        tstep = torch_side(extractor, targets)
        loss_t, grad_t = tstep(x)
        rel = abs(loss_t - loss_k) / abs(loss_t)
        gerr = np.abs(grad_t - grad_k).max() / np.abs(grad_t).max()
        print(f"[{size}] check: loss keras {loss_k:.6g} torch {loss_t:.6g} (rel {rel:.1e}); "
              f"grad max rel err {gerr:.1e}")
        sides["pytorch"] = lambda f=tstep, x_=x: f(x_)
        med, times = interleaved(sides, args.reps)
        for k, v in med.items():
            print(f"[{size}] {k:12s} median {v:.3f} s/step  (runs: {', '.join(f'{t:.2f}' for t in times[k])})")
        for k in med:
            if k != "pytorch":
                print(f"[{size}] ratio {k} / pytorch = {med[k] / med['pytorch']:.2f}")
        # the optimiser's own cost (two-loop recursion with a full history of 100 pairs)
        n = size * size * 3
        opt = LBFGS(lambda v: (float(np.sum(v * v)), {}, 2 * v), np.ones(n, np.float32), history_size=100)
        rng = np.random.default_rng(0)
        opt._count = 100
        opt._S[:] = rng.standard_normal(opt._S.shape, dtype=np.float32)
        opt._Y[:] = opt._S
        opt._rho[:] = 1.0 / np.einsum("ij,ij->i", opt._S.astype(np.float64), opt._Y)
        t = time.perf_counter()
        opt._direction(np.ones(n, np.float32))
        print(f"[{size}] L-BFGS two-loop recursion (100 pairs, NumPy): {time.perf_counter() - t:.3f} s")
        if args.conv_stack:
            conv_stack(size, args.reps, extractor)
        if args.end_to_end:
            end_to_end(size, args.end_to_end, args.optimizers, args.reps, tstep)


def conv_stack(size, reps, extractor):
    """VGG19 conv + ReLU + max-pool layers to relu5_1, forward and backward to the input."""
    import tensorflow as tf
    import torch
    import torch.nn.functional as tF

    layers = []
    for b, n in enumerate(BLOCKS, 1):
        for k in range(1, n + 1):
            if f"block{b}_conv{k}" not in extractor._by_name:
                break
            kern, bias = extractor._by_name[f"block{b}_conv{k}"].get_weights()
            layers.append((kern, bias, k == n and b < 5))
    tf_w = [(tf.constant(k), tf.constant(b), pool) for k, b, pool in layers]
    pt_w = [(torch.tensor(np.transpose(k, (3, 2, 0, 1)).copy()), torch.tensor(b), pool) for k, b, pool in layers]

    def tf_loss(x):
        for k, b, pool in tf_w:
            x = tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME") + b)
            if pool:
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        return tf.reduce_sum(x * x) / 2

    def make_tf(jit):
        @tf.function(jit_compile=jit)
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf_loss(x)
            return loss, tape.gradient(loss, x)

        return f

    def pt_step(x):
        x = x.clone().requires_grad_(True)
        y = x
        for k, b, pool in pt_w:
            y = torch.relu(tF.conv2d(y, k, b, padding=1))
            if pool:
                y = tF.max_pool2d(y, 2, 2)
        ((y * y).sum() / 2).backward()
        return x.grad

    x = np.random.default_rng(2).random((1, size, size, 3), dtype=np.float32)
    xt = tf.constant(x)
    xp = torch.tensor(np.transpose(x, (0, 3, 1, 2)).copy())
    xcl = xp.contiguous(memory_format=torch.channels_last)
    graph, xla = make_tf(False), make_tf(True)
    runs = {"tf graph": lambda: graph(xt)[1].numpy(), "tf xla": lambda: xla(xt)[1].numpy(),
            "torch nchw": lambda: pt_step(xp), "torch channels_last": lambda: pt_step(xcl)}
    med, _ = interleaved(runs, reps)
    print(f"[{size}] conv stack: " + ", ".join(f"{k} {v:.3f} s" for k, v in med.items())
          + f"; tf graph / torch nchw {med['tf graph'] / med['torch nchw']:.2f}, "
          f"tf xla / torch nchw {med['tf xla'] / med['torch nchw']:.2f}", flush=True)


def end_to_end(size, steps, optimizers, reps, tstep):
    """Whole runs, keras-style ``stylize`` vs the PyTorch loop, interleaved medians."""
    import keras_style as ks

    model = ks.get("gatys", backbone="vgg19", backbone_weights=None)  # the weights tstep copied
    rng = np.random.default_rng(1)
    content = rng.random((size, size, 3), dtype=np.float32)
    style = rng.random((size, size, 3), dtype=np.float32)
    for opt in optimizers:
        runs = {
            "keras": lambda o=opt: model.stylize(content, style, steps=steps, optimizer=o, verbose=0,
                                                 content_layers=CONTENT, style_layers=STYLE),
            "pytorch": lambda o=opt: tstep.run(content, style, steps, o),
        }
        med, times = interleaved(runs, reps)
        print(f"[{size}] end to end, {steps} {opt} steps: keras {med['keras']:.2f} s, pytorch "
              f"{med['pytorch']:.2f} s, ratio {med['keras'] / med['pytorch']:.2f} "
              f"(runs keras {', '.join(f'{t:.1f}' for t in times['keras'])}; "
              f"pytorch {', '.join(f'{t:.1f}' for t in times['pytorch'])})", flush=True)


if __name__ == "__main__":
    main()
