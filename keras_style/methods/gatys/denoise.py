"""Total-variation denoising: argmin_x 1/2 ||x - y||^2 + weight * TV(x) (Rudin, Osher & Fatemi 1992).

```python
import keras_style as ks
clean = ks.denoise_tv("noisy.png", weight=0.1, steps=100)   # HxWx3 float32 in [0, 1]
```

TV is the anisotropic L1 total variation (sum of |vertical| + |horizontal|
neighbour differences over all channels, `keras_style.losses.functional.total_variation`),
smoothed as sqrt(d^2 + eps^2) - eps (eps = 1e-3) so that L-BFGS sees a differentiable
objective; ``eps=0`` gives the exact L1 form. Both terms are sums over pixels of images in
[0, 1], so ``weight`` is independent of the image size (0.05-0.2 suits Gaussian noise with
sigma 0.1).
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from keras_style.backend_grad import value_and_grad
from keras_style.errors import ConfigError
from keras_style.losses import functional as F
from keras_style.methods.base import OptimizationLoop
from keras_style.optimizers.lbfgs import LBFGS


def _tv_objective(weight, eps):
    def objective(x, y):
        fid = 0.5 * ops.sum(ops.square(x - y))
        if eps > 0:
            dh = x[:, 1:, :, :] - x[:, :-1, :, :]
            dw = x[:, :, 1:, :] - x[:, :, :-1, :]
            tv = ops.sum(ops.sqrt(ops.square(dh) + eps * eps) - eps) + ops.sum(
                ops.sqrt(ops.square(dw) + eps * eps) - eps
            )
        else:
            tv = F.total_variation(x, kind="l1")[0]
        return fid + weight * tv, {"fidelity": fid, "tv": weight * tv}

    return objective


def denoise_tv(image, weight=0.1, steps=100, *, eps=1e-3, verbose=0, jit_compile=False, callbacks=None):
    """Denoise ``image`` by minimising 1/2 ||x - y||^2 + weight * TV(x) with L-BFGS.

    Args:
        image: path, PIL image, NumPy array (HxW, HxWx1/3/4; uint8 or float in [0, 1]) or tensor.
        weight: TV weight (>= 0; 0 returns the input). 0.1 suits noise with sigma ~0.1.
        steps: L-BFGS iterations (>= 1).
        eps: smoothing of |d| as sqrt(d^2 + eps^2) - eps; 0 = exact anisotropic L1.
        verbose: 1 shows a progress bar.
        jit_compile: XLA on tensorflow (off by default: this objective is cheap and XLA
            compiles per image size).
        callbacks: callables ``fn(step, image, logs)`` and/or Keras callbacks, as in
            `Gatys.stylize` (`keras_style.methods.base.OptimizationLoop`).

    Returns:
        float32 HxWx3 in [0, 1] (grayscale inputs are returned as 3 equal channels).
    """
    from keras_style.images import read_rgb

    if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise ConfigError(f"weight must be a finite number >= 0, got {weight!r}.")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}.")
    if eps < 0:
        raise ConfigError(f"eps must be >= 0, got {eps}.")
    y = read_rgb(image, "image")[None]
    if weight == 0:
        return y[0].copy()
    step_fn = value_and_grad(_tv_objective(float(weight), float(eps)), jit_compile=jit_compile)
    opt = LBFGS(lambda x: step_fn(x, y), y, history_size=20)
    loop = OptimizationLoop(names=["loss", "fidelity", "tv"], callbacks=callbacks, verbose=verbose,
                            what="TV denoising", hint="Lower the weight or raise eps.")
    loop.begin(y.shape)
    x, _ = loop.run(opt, int(steps))
    loop.end()
    return np.clip(x, 0.0, 1.0).astype(np.float32)


__all__ = ["denoise_tv"]
