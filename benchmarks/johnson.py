"""Johnson et al. transform network: keras-style vs PyTorch, inference and one training step.

Same run, same networks, same weights: pytorch/examples' ``TransformerNet`` written below in
PyTorch (random weights) is converted with `keras_style.convert.johnson_from_torch`, and
the outputs are compared before timing. Repetitions are interleaved (keras, torch, keras,
torch, ...) and medians reported, because these CPUs are shared (docs/design.md).

- inference: one image at each size (batch 1), keras-style as ``tf.function`` graph and
  with XLA (``jit_compile=True``), PyTorch eager under ``torch.inference_mode``;
- training: one Adam step at batch 4, 256 px, transform net + VGG-16 loss network to
  relu4_3 (content relu2_2, Gram style at relu1_2/2_2/3_3/4_3, TV), keras-style through
  ``model.train_on_batch`` (graph, optionally XLA) vs the same losses in PyTorch;
- Johnson vs Gatys at 256 px: one transform forward vs 500 Gatys steps, where a step is a
  VGG-19 forward to relu5_1 plus the backward pass to the image (measured once, times 500).

    python benchmarks/johnson.py --sizes 256 512 1024 --reps 3 [--width 1.0] [--no-train]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TF and PyTorch share 2 cores in one process: no OpenMP spin-waiting between calls
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

TORCH_NET = r'''
import torch
from torch import nn

class ConvLayer(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(i, o, k, s)
    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))

class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1); self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3, 1); self.in2 = nn.InstanceNorm2d(c, affine=True)
    def forward(self, x):
        return self.in2(self.conv2(torch.relu(self.in1(self.conv1(x))))) + x

class UpsampleConvLayer(nn.Module):
    def __init__(self, i, o, k, s, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(i, o, k, s)
    def forward(self, x):
        if self.upsample:
            x = nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))

class TransformerNet(nn.Module):
    def __init__(self, w=32):
        super().__init__()
        self.conv1 = ConvLayer(3, w, 9, 1); self.in1 = nn.InstanceNorm2d(w, affine=True)
        self.conv2 = ConvLayer(w, 2 * w, 3, 2); self.in2 = nn.InstanceNorm2d(2 * w, affine=True)
        self.conv3 = ConvLayer(2 * w, 4 * w, 3, 2); self.in3 = nn.InstanceNorm2d(4 * w, affine=True)
        for k in range(1, 6):
            setattr(self, f"res{k}", ResidualBlock(4 * w))
        self.deconv1 = UpsampleConvLayer(4 * w, 2 * w, 3, 1, upsample=2); self.in4 = nn.InstanceNorm2d(2 * w, affine=True)
        self.deconv2 = UpsampleConvLayer(2 * w, w, 3, 1, upsample=2); self.in5 = nn.InstanceNorm2d(w, affine=True)
        self.deconv3 = ConvLayer(w, 3, 9, 1)
    def forward(self, x):
        y = torch.relu(self.in1(self.conv1(x)))
        y = torch.relu(self.in2(self.conv2(y)))
        y = torch.relu(self.in3(self.conv3(y)))
        for k in range(1, 6):
            y = getattr(self, f"res{k}")(y)
        y = torch.relu(self.in4(self.deconv1(y)))
        y = torch.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)

def vgg16_features():
    """VGG-16 convs to relu4_3 (torchvision layout; 'same' zero padding, max pooling)."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers)

TAPS = {3: "relu1_2", 8: "relu2_2", 15: "relu3_3", 22: "relu4_3"}

def taps(vgg, x):
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    x = x.flip(1) * 255.0 - mean
    out = {}
    for i, layer in enumerate(vgg):
        x = layer(x)
        if i in TAPS:
            out[TAPS[i]] = x
    return out

def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)
'''


def median_time(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--no-gatys", action="store_true")
    args = p.parse_args()

    import keras
    import tensorflow as tf
    import torch

    import keras_style as ks

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    ns = {}
    exec(TORCH_NET, ns)
    torch.manual_seed(0)
    w = int(round(32 * args.width))
    tnet = ns["TransformerNet"](w).eval()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "net.pth")
        torch.save(tnet.state_dict(), path)
        model = ks.convert.johnson_from_torch(path)
    knet = model.transform
    graph = tf.function(lambda x: knet(x, training=False), reduce_retracing=True)
    xla = tf.function(lambda x: knet(x, training=False), jit_compile=True)
    print(f"transform network width {args.width} ({w}/{2 * w}/{4 * w} filters), "
          f"{knet.count_params() / 1e6:.2f} M parameters; torch threads {torch.get_num_threads()}")
    print(f"{'workload':28s} {'keras graph':>12s} {'keras XLA':>10s} {'pytorch':>9s} {'graph/pt':>9s} {'XLA/pt':>7s}")
    results = {}
    for size in args.sizes:
        x = np.random.default_rng(size).random((1, size, size, 3), dtype=np.float32)
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        with torch.inference_mode():
            ref = tnet(xt * 255.0).permute(0, 2, 3, 1).numpy() / 255.0
        err = float(np.abs(graph(x).numpy() - ref).max())
        xla(x)  # compile once per shape (reported separately; docs/design.md: 3-8 s)
        tk, tx, tp = [], [], []
        for _ in range(args.reps):
            tk.append(median_time(lambda: graph(x).numpy(), 1))
            tx.append(median_time(lambda: xla(x).numpy(), 1))
            with torch.inference_mode():
                tp.append(median_time(lambda: tnet(xt * 255.0), 1))
        mk, mx, mp = map(statistics.median, (tk, tx, tp))
        results[size] = (mk, mx, mp)
        print(f"{'inference ' + str(size) + ' px':28s} {mk:11.3f}s {mx:9.3f}s {mp:8.3f}s {mk / mp:9.2f} {mx / mp:7.2f}"
              f"   (max |keras - torch| {err:.1e})", flush=True)

    if not args.no_train:
        # keras-style: the johnson model's own compute_loss through train_on_batch
        kw = dict(style_image=np.random.default_rng(1).random((256, 256, 3), dtype=np.float32), style_size=256,
                  weights=None, width=args.width, layout="pytorch_examples")
        batch = np.random.default_rng(2).random((4, 256, 256, 3), dtype=np.float32)
        timings = {}
        for jit in (False, True):
            m = ks.get("johnson", **kw)
            m.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
            m.train_on_batch(batch)  # trace / compile
            timings[jit] = m
        tvgg = ns["vgg16_features"]()
        for p_ in tvgg.parameters():
            p_.requires_grad_(False)
        tnet.train()
        opt = torch.optim.Adam(tnet.parameters(), 1e-3)
        bt = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
        style_t = ns["taps"](tvgg, torch.from_numpy(kw["style_image"]).permute(2, 0, 1)[None])
        grams = {k: ns["gram"](v) for k, v in style_t.items()}

        def torch_step():
            opt.zero_grad()
            y = tnet(bt * 255.0) / 255.0
            fy, fx = ns["taps"](tvgg, y), ns["taps"](tvgg, bt)
            loss = ((fy["relu2_2"] - fx["relu2_2"]) ** 2).mean()
            for k in grams:
                loss = loss + 5.0 * ((ns["gram"](fy[k]) - grams[k]) ** 2).mean()
            tv = ((y[:, :, 1:, :] - y[:, :, :-1, :]) ** 2).sum() + ((y[:, :, :, 1:] - y[:, :, :, :-1]) ** 2).sum()
            loss = loss + 1e-6 * 0.5 * tv * 255.0**2 / 4
            loss.backward()
            opt.step()

        torch_step()
        tk, tx, tp = [], [], []
        for _ in range(max(2, args.reps)):
            tk.append(median_time(lambda: timings[False].train_on_batch(batch), 1))
            tx.append(median_time(lambda: timings[True].train_on_batch(batch), 1))
            tp.append(median_time(torch_step, 1))
        mk, mx, mp = map(statistics.median, (tk, tx, tp))
        print(f"{'train step b4 256 px':28s} {mk:11.3f}s {mx:9.3f}s {mp:8.3f}s {mk / mp:9.2f} {mx / mp:7.2f}", flush=True)

    if not args.no_gatys and 256 in results:
        vgg19 = ks.get("vgg19", layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"], weights=None)
        img = tf.Variable(np.random.default_rng(3).random((1, 256, 256, 3), dtype=np.float32))

        @tf.function(jit_compile=True)
        def gatys_step():
            with tf.GradientTape() as tape:
                f = vgg19(img)
                loss = tf.add_n([tf.reduce_mean(tf.square(v)) for v in f.values()])
            return tape.gradient(loss, img)

        gatys_step()
        tg = median_time(lambda: gatys_step().numpy(), max(2, args.reps))
        fwd = min(results[256][:2])
        print(f"Gatys step 256 px (VGG19 fwd+bwd, XLA): {tg:.3f} s; 500 steps ~ {500 * tg:.0f} s; "
              f"Johnson forward {fwd:.3f} s; Gatys(500)/Johnson = {500 * tg / fwd:.0f}x")


if __name__ == "__main__":
    main()
