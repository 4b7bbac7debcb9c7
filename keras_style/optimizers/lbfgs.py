"""L-BFGS (two-loop recursion + strong-Wolfe line search) and Adam on flat NumPy vectors.

Both optimisers are backend-independent: they only need ``fun(x) -> (loss, aux, grad)``
with ``x`` a float32 NumPy vector (see `keras_style.backend_grad.value_and_grad`, which
supplies a compiled ``fun`` on tensorflow, torch and jax).  The cost of one step is
dominated by ``fun`` (a VGG forward + backward); the two-loop recursion is a few hundred
BLAS dot products on the flat image.

```python
opt = LBFGS(fun, x0, history_size=100)
for _ in range(300):
    loss, aux = opt.step()
x = opt.x
```
"""

from __future__ import annotations

import math

import numpy as np

from keras_style.errors import ConfigError


class NonFiniteError(FloatingPointError):
    """``fun`` returned a NaN/Inf loss or gradient (the caller turns it into OptimizationError)."""


def _cubic_min(x1, f1, g1, x2, f2, g2, lo, hi):
    """Minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clamped to [lo, hi].

    Nocedal & Wright, Numerical Optimization (2006), eq. 3.59; bisection when the cubic
    has no real minimiser.
    """
    if lo > hi:
        lo, hi = hi, lo
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2) if x1 != x2 else float("nan")
    d2_sq = d1 * d1 - g1 * g2
    if not math.isfinite(d1) or d2_sq < 0:
        return 0.5 * (lo + hi)
    d2 = math.sqrt(d2_sq)
    if x1 <= x2:
        denom = g2 - g1 + 2.0 * d2
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / denom) if denom != 0 else 0.5 * (lo + hi)
    else:
        denom = g1 - g2 + 2.0 * d2
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / denom) if denom != 0 else 0.5 * (lo + hi)
    if not math.isfinite(t):
        return 0.5 * (lo + hi)
    return min(max(t, lo), hi)


class _Evaluator:
    """Wraps ``fun``: counts evaluations, checks finiteness, keeps the best point."""

    def __init__(self, fun):
        self.fun = fun
        self.n_evals = 0

    def __call__(self, x):
        loss, aux, grad = self.fun(x)
        self.n_evals += 1
        grad = np.asarray(grad, dtype=np.float32).reshape(-1)
        if not math.isfinite(loss) or not np.all(np.isfinite(grad)):
            raise NonFiniteError(f"non-finite loss/gradient (loss={loss})")
        return float(loss), aux, grad


class LBFGS:
    """Limited-memory BFGS minimiser of ``fun`` starting at ``x0``.

    Args:
        fun: ``fun(x) -> (loss, aux_dict, grad)`` with ``x`` a float32 NumPy array.
        x0: starting point (any shape; kept flat inside, `x` returns it reshaped).
        history_size: number of (s, y) correction pairs. 100 is ``optim.lbfgs``'s
            ``nCorrection`` default used by jcjohnson/neural-style (torch/optim lbfgs.lua).
            Memory: 2 * history_size float32 copies of the image.
        line_search: ``"strong_wolfe"`` (cubic interpolation, Nocedal & Wright alg. 3.5/3.6),
            ``"armijo"`` (backtracking) or ``None`` (fixed step ``learning_rate``, as
            ``optim.lbfgs`` in neural-style, which runs without a line search).
        learning_rate: initial step multiplier (1 in optim.lbfgs).
        c1, c2: sufficient-decrease and curvature constants (1e-4 and 0.9, Nocedal & Wright).
        max_line_search: maximum function evaluations per line search.
    """

    def __init__(
        self,
        fun,
        x0,
        *,
        history_size=100,
        line_search="strong_wolfe",
        learning_rate=1.0,
        c1=1e-4,
        c2=0.9,
        max_line_search=20,
    ):
        if int(history_size) < 1:
            raise ConfigError(f"history_size must be >= 1, got {history_size}.")
        if line_search not in ("strong_wolfe", "armijo", None):
            raise ConfigError(
                f"line_search must be 'strong_wolfe', 'armijo' or None, got {line_search!r}."
            )
        if not learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {learning_rate}.")
        self.shape = np.shape(x0)
        self._x = np.asarray(x0, dtype=np.float32).reshape(-1).copy()
        self.fun = _Evaluator(lambda v: fun(v.reshape(self.shape)))
        self.m = int(history_size)
        self.line_search = line_search
        self.lr = float(learning_rate)
        self.c1, self.c2 = float(c1), float(c2)
        self.max_ls = int(max_line_search)
        n = self._x.size
        self._S = np.zeros((self.m, n), np.float32)
        self._Y = np.zeros((self.m, n), np.float32)
        self._rho = np.zeros(self.m, np.float64)
        self._count = 0  # pairs stored
        self._head = 0  # next slot of the ring buffer
        self._gamma = 1.0
        self.iterations = 0
        self.f = None
        self.aux = None
        self.g = None

    @property
    def x(self):
        return self._x.reshape(self.shape)

    @property
    def n_evals(self):
        return self.fun.n_evals

    def _direction(self, g):
        """Two-loop recursion (Nocedal & Wright alg. 7.4): returns -H g.

        float32 BLAS dot/axpy on the stored pairs (float64 temporaries of a 512 px image
        would cost more than the arithmetic); scalars are accumulated in float64.
        """
        q = np.array(g, dtype=np.float32, copy=True)
        k = self._count
        idx = [(self._head - 1 - i) % self.m for i in range(k)]  # newest first
        alpha = np.empty(k)
        for j, i in enumerate(idx):
            alpha[j] = self._rho[i] * float(np.dot(self._S[i], q))
            q -= np.float32(alpha[j]) * self._Y[i]
        r = q
        r *= np.float32(self._gamma)
        for j in range(k - 1, -1, -1):
            i = idx[j]
            beta = self._rho[i] * float(np.dot(self._Y[i], r))
            r += np.float32(alpha[j] - beta) * self._S[i]
        return -r

    def _update_history(self, s, y):
        ys = float(np.dot(y, s))
        if ys <= 1e-10:  # curvature condition fails: skip the pair (keeps H positive definite)
            return
        i = self._head
        self._S[i] = s
        self._Y[i] = y
        self._rho[i] = 1.0 / ys
        self._head = (i + 1) % self.m
        self._count = min(self._count + 1, self.m)
        self._gamma = ys / float(np.dot(y, y))

    def step(self):
        """One L-BFGS iteration (>= 1 evaluation of ``fun``); returns ``(loss, aux)`` at the new x."""
        if self.g is None:
            self.f, self.aux, self.g = self.fun(self._x)
        g = self.g
        d = self._direction(g)
        gtd = float(np.dot(g.astype(np.float64), d))
        if gtd > -1e-12:  # not a descent direction: restart from steepest descent
            self._count, self._head, self._gamma = 0, 0, 1.0
            d = -g
            gtd = -float(np.dot(g.astype(np.float64), g))
        if self._count == 0:
            # first step (or restart): optim.lbfgs / torch.optim.LBFGS use min(1, 1/|g|_1) * lr
            t = min(1.0, 1.0 / max(float(np.abs(g).sum()), 1e-12)) * self.lr
        else:
            t = self.lr
        if self.line_search == "strong_wolfe":
            t, f, aux, g_new = self._strong_wolfe(d, t, gtd)
        elif self.line_search == "armijo":
            t, f, aux, g_new = self._armijo(d, t, gtd)
        else:
            f, aux, g_new = self.fun(self._x + t * d)
        s = t * d
        self._x = self._x + s
        self._update_history(s, g_new - g)
        self.f, self.aux, self.g = f, aux, g_new
        self.iterations += 1
        return f, aux

    # -- line searches ---------------------------------------------------------------

    def _phi(self, d, t):
        f, aux, g = self.fun(self._x + t * d)
        return f, aux, g, float(np.dot(g.astype(np.float64), d))

    def _armijo(self, d, t, gtd0):
        f0 = self.f
        best = None
        for _ in range(self.max_ls):
            f, aux, g, _ = self._phi(d, t)
            if best is None or f < best[1]:
                best = (t, f, aux, g)
            if f <= f0 + self.c1 * t * gtd0:
                return t, f, aux, g
            t *= 0.5
        return best

    def _strong_wolfe(self, d, t, gtd0):
        f0 = self.f
        g0 = self.g
        t_prev, f_prev, g_prev, gtd_prev, aux_prev = 0.0, f0, g0, gtd0, self.aux
        for i in range(self.max_ls):
            f, aux, g, gtd = self._phi(d, t)
            if f > f0 + self.c1 * t * gtd0 or (i > 0 and f >= f_prev):
                return self._zoom(
                    d, f0, gtd0, (t_prev, f_prev, g_prev, gtd_prev, aux_prev), (t, f, g, gtd, aux)
                )
            if abs(gtd) <= -self.c2 * gtd0:
                return t, f, aux, g
            if gtd >= 0:
                return self._zoom(
                    d, f0, gtd0, (t, f, g, gtd, aux), (t_prev, f_prev, g_prev, gtd_prev, aux_prev)
                )
            # extrapolate: the cubic's minimiser in [t + 0.01 (t - t_prev), 10 t]
            t_new = _cubic_min(t_prev, f_prev, gtd_prev, t, f, gtd, t + 0.01 * (t - t_prev), 10.0 * t)
            t_prev, f_prev, g_prev, gtd_prev, aux_prev = t, f, g, gtd, aux
            t = t_new
        return t_prev, f_prev, aux_prev, g_prev

    def _zoom(self, d, f0, gtd0, lo, hi):
        """Nocedal & Wright alg. 3.6 with safeguarded cubic interpolation."""
        t_lo, f_lo, g_lo, gtd_lo, aux_lo = lo
        t_hi, f_hi, g_hi, gtd_hi, aux_hi = hi
        d_max = float(np.abs(d).max())
        for _ in range(self.max_ls):
            a, b = min(t_lo, t_hi), max(t_lo, t_hi)
            # the bracket moves x by less than 1e-9 per element (torch.optim.LBFGS's tolerance_change)
            if (b - a) * d_max < 1e-9:
                break
            t = _cubic_min(t_lo, f_lo, gtd_lo, t_hi, f_hi, gtd_hi, a, b)
            margin = 0.1 * (b - a)
            if t - a < margin or b - t < margin:  # too close to an end: bisect
                t = 0.5 * (a + b)
            f, aux, g, gtd = self._phi(d, t)
            if f > f0 + self.c1 * t * gtd0 or f >= f_lo:
                t_hi, f_hi, g_hi, gtd_hi, aux_hi = t, f, g, gtd, aux
            else:
                if abs(gtd) <= -self.c2 * gtd0:
                    return t, f, aux, g
                if gtd * (t_hi - t_lo) >= 0:
                    t_hi, f_hi, g_hi, gtd_hi, aux_hi = t_lo, f_lo, g_lo, gtd_lo, aux_lo
                t_lo, f_lo, g_lo, gtd_lo, aux_lo = t, f, g, gtd, aux
        if t_lo == 0.0:
            # no decrease found: take the tiny step anyway to keep the pair informative
            return t_hi, f_hi, aux_hi, g_hi
        return t_lo, f_lo, aux_lo, g_lo


class Adam:
    """Adam (Kingma & Ba 2015) on a flat NumPy vector, same interface as `LBFGS`.

    ``step()`` evaluates ``fun`` at the current x, then updates x; the returned loss is
    the one at the point *before* the update (one evaluation per step).
    """

    def __init__(self, fun, x0, *, learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        if not learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {learning_rate}.")
        self.shape = np.shape(x0)
        self._x = np.asarray(x0, dtype=np.float32).reshape(-1).copy()
        self.fun = _Evaluator(lambda v: fun(v.reshape(self.shape)))
        self.lr, self.b1, self.b2, self.eps = float(learning_rate), beta_1, beta_2, epsilon
        self._m = np.zeros_like(self._x)
        self._v = np.zeros_like(self._x)
        self.iterations = 0
        self.f = self.aux = self.g = None

    @property
    def x(self):
        return self._x.reshape(self.shape)

    @property
    def n_evals(self):
        return self.fun.n_evals

    def step(self):
        f, aux, g = self.fun(self._x)
        self.iterations += 1
        k = self.iterations
        self._m = self.b1 * self._m + (1 - self.b1) * g
        self._v = self.b2 * self._v + (1 - self.b2) * g * g
        m_hat = self._m / (1 - self.b1**k)
        v_hat = self._v / (1 - self.b2**k)
        self._x = self._x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        self.f, self.aux, self.g = f, aux, g
        return f, aux


def minimize(fun, x0, steps, *, method="lbfgs", **kwargs):
    """Run ``steps`` iterations of ``method`` ("lbfgs" | "adam"); returns ``(x, optimizer)``."""
    cls = {"lbfgs": LBFGS, "adam": Adam}.get(method)
    if cls is None:
        raise ConfigError(f"optimizer must be 'lbfgs' or 'adam', got {method!r}.")
    opt = cls(fun, x0, **kwargs)
    for _ in range(int(steps)):
        opt.step()
    return opt.x, opt


__all__ = ["LBFGS", "Adam", "NonFiniteError", "minimize"]
