"""What every feed-forward super-resolution network here shares: `upscale` (images in and
out through `keras_style.images`, alpha kept, exact tiling, automatic tiling within a
memory budget), a memory estimate and a suggested tile.

Tiling is exact for these networks: they have no normalisation layer, so an output pixel
depends only on the input pixels within the network's receptive-field radius
(``receptive_field`` input px). `keras_style.tiling.tiled_apply` feeds each tile with
``overlap`` px of context on its inner sides and keeps only each tile's own core (no
feathering), so with ``overlap >= receptive_field`` the tiled output equals the untiled
one (to float rounding; ``tests/test_super_resolution.py`` checks it). A smaller overlap
is allowed and cheaper, and then only approximately equal near tile borders.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_style.errors import ConfigError, ImageError
from keras_style.images import upscale_alpha
from keras_style.methods.base import FeedForwardModel

# Share of the available memory that `upscale` lets one untiled pass use before it tiles.
MEMORY_FRACTION = 0.5
MEMORY_BUDGET_ENV = "KERAS_STYLE_SR_MEMORY"
# The smallest overlap `plan_tiling` falls back to. Real-ESRGAN x4plus on a 128 px photo in
# 64 px tiles differs from the untiled output by up to 0.12 (mean 0.004) with 16 px of
# overlap and 0.053 (mean 0.0014) with 32 px (docs/methods/super_resolution.md).
MIN_OVERLAP = 32
_FALLBACK_BUDGET = 4 << 30


def default_memory_budget() -> int:
    """Bytes one untiled pass may use: ``$KERAS_STYLE_SR_MEMORY`` (bytes, or with a
    K/M/G suffix), else half of the memory available now, else 4 GiB."""
    env = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if env:
        return parse_bytes(env, MEMORY_BUDGET_ENV)
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if avail > 0:
            return int(avail * MEMORY_FRACTION)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass
    return _FALLBACK_BUDGET


def parse_bytes(value, what="memory budget") -> int:
    """``1073741824``, ``"512M"``, ``"2G"``, ``"1.5GiB"`` -> bytes."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"{what} must be positive, got {value}.")
        return int(value)
    s = str(value).strip().upper().removesuffix("IB").removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(s[-1:], 1)
    try:
        n = float(s[:-1] if s[-1:] in "KMGT" else s) * mult
    except ValueError:
        raise ConfigError(f"{what} {value!r} is not a size in bytes (e.g. 2G, 512M).") from None
    if n <= 0:
        raise ConfigError(f"{what} must be positive, got {value!r}.")
    return int(n)


class SuperResolutionModel(FeedForwardModel):
    """Base of the converted super-resolution networks (NHWC float32 RGB in [0, 1]).

    Subclasses set ``scale`` (int), and implement ``receptive_field`` (radius in input
    px), ``min_input_size`` and ``activation_floats_per_pixel`` (the peak number of
    float32 activations alive per input pixel during one forward pass).
    """

    scale = 1
    #: multiplies the analytic activation count in `estimate_memory` (backend
    #: workspaces, the input/output copies); see docs/methods/super_resolution.md
    memory_safety_factor = 2.0

    def compile(self, optimizer="auto", loss="auto", *args, **kwargs):
        """`FeedForwardModel.compile`; ``loss="auto"`` is the L1 pixel loss that Real-ESRGAN's
        PSNR-oriented stage trains with (options/train_realesrnet_x4plus.yml ``pixel_opt:
        L1Loss``); any Keras loss works, e.g. ``"mse"``."""
        if isinstance(loss, str) and loss == "auto":
            loss = "mean_absolute_error"
        return super().compile(optimizer, loss, *args, **kwargs)

    # ------------------------------------------------------------------ facts

    @property
    def receptive_field(self) -> int:
        raise NotImplementedError

    @property
    def min_input_size(self) -> int:
        return 1

    def activation_floats_per_pixel(self) -> float:
        raise NotImplementedError

    def build_for_weights(self):
        """Build every layer (by one call on a small zero image)."""
        if not self.built:
            self.build((None, None, None, 3))
        return self

    def load_preset_weights(self, path):
        self.build_for_weights()
        self.load_weights(str(path))

    # ------------------------------------------------------------------ memory

    def weight_bytes(self) -> int:
        self.build_for_weights()
        return int(sum(int(np.prod(v.shape)) for v in self.weights)) * 4

    def estimate_memory(self, height, width, tile=None, overlap=None) -> int:
        """Estimated peak bytes for upscaling a ``height`` x ``width`` image.

        Untiled (``tile=None``): the weights plus the peak activations of one pass over
        the whole image. Tiled: the weights, one crop's activations (``tile + 2 *
        overlap`` px square at most) and the full-size output being assembled.
        """
        height, width = int(height), int(width)
        per_px = 4.0 * self.activation_floats_per_pixel() * self.memory_safety_factor
        io = 4 * 3 * height * width * (1 + 2 * self.scale * self.scale)  # input, output, weight map
        if tile is None:
            return int(self.weight_bytes() + per_px * height * width + io)
        overlap = self.receptive_field if overlap is None else int(overlap)
        ch = min(height, int(tile) + 2 * overlap)
        cw = min(width, int(tile) + 2 * overlap)
        return int(self.weight_bytes() + per_px * ch * cw + io)

    def suggest_tile(self, height, width, budget=None, overlap=None, multiple=8):
        """The largest tile (input px, a multiple of ``multiple``) whose estimate fits in
        ``budget`` bytes (default `default_memory_budget`), or ``None`` when the whole
        image fits untiled. Raises `ConfigError` when not even a small tile fits."""
        budget = default_memory_budget() if budget is None else parse_bytes(budget)
        if self.estimate_memory(height, width) <= budget:
            return None
        overlap = self.receptive_field if overlap is None else int(overlap)
        lo, hi = multiple, max(height, width)
        if self.estimate_memory(height, width, tile=lo, overlap=overlap) > budget:
            need = self.estimate_memory(height, width, tile=lo, overlap=overlap)
            raise ConfigError(
                f"{self.name}: a {height}x{width} image needs about {need / 2**30:.2f} GiB even with "
                f"{lo} px tiles and overlap {overlap}, more than the budget of {budget / 2**30:.2f} GiB; "
                "raise the budget (memory_budget=, $KERAS_STYLE_SR_MEMORY) or lower the overlap."
            )
        while hi - lo > multiple:
            mid = (lo + hi) // 2 // multiple * multiple
            if mid <= lo:
                break
            if self.estimate_memory(height, width, tile=mid, overlap=overlap) <= budget:
                lo = mid
            else:
                hi = mid
        return lo

    def plan_tiling(self, height, width, budget=None, overlap=None, min_tile=64, tile=None):
        """``(tile, overlap)`` for an image within ``budget`` bytes: ``(None, overlap)``
        when it fits untiled. With ``overlap=None`` the exact overlap
        (``receptive_field``) is tried first; when no tile of at least ``min_tile`` px
        fits with it (deep networks: Real-ESRGAN's radius is 351 px), the overlap is
        halved until one does (not below ``MIN_OVERLAP`` px) and a warning says the result is then
        only approximately the untiled one near tile borders. With a given ``tile``
        only the overlap is chosen, the same way. An explicit ``overlap`` is kept."""
        budget = default_memory_budget() if budget is None else parse_bytes(budget)
        if overlap is not None:
            if tile is not None:
                return int(tile), int(overlap)
            return self.suggest_tile(height, width, budget=budget, overlap=overlap), int(overlap)
        ov = self.receptive_field
        if tile is not None:
            while ov > MIN_OVERLAP and self.estimate_memory(height, width, tile=tile, overlap=ov) > budget:
                ov = max(MIN_OVERLAP, ov // 2)
            if ov < self.receptive_field:
                self._warn_overlap(budget, ov, f"{tile} px tiles")
            return int(tile), ov
        while True:
            try:
                t = self.suggest_tile(height, width, budget=budget, overlap=ov)
            except ConfigError:
                t = 0
            if t is None or t >= min(min_tile, height, width) or ov <= MIN_OVERLAP:
                break
            ov = max(MIN_OVERLAP, ov // 2)
        if t == 0:
            t = self.suggest_tile(height, width, budget=budget, overlap=ov)  # raises, saying why
        if t is not None and ov < self.receptive_field:
            self._warn_overlap(budget, ov, f"{min_tile} px tiles")
        return t, ov

    def _warn_overlap(self, budget, ov, what):
        import warnings

        warnings.warn(
            f"{self.name}: the exact overlap ({self.receptive_field} px) does not fit in "
            f"{budget / 2**30:.2f} GiB with {what}; using overlap {ov}: pixels near tile "
            "borders may differ slightly from an untiled run. Pass overlap= or memory_budget= "
            "to choose.",
            stacklevel=4,
        )

    # ------------------------------------------------------------------ inference

    def _infer(self, x):
        """The network on an NHWC batch (NumPy), compiled (`FeedForwardModel.compiled_call`)."""
        return self.compiled_call("network", lambda t: self(t, training=False), np.asarray(x, "float32"))

    def paper_optimizer(self):
        """``compile(optimizer="auto")``: Adam 1e-4. The networks come converted from their
        releases; this is a conservative rate for fine-tuning them (Wang et al. 2021,
        Real-ESRGAN, train their GAN stage with Adam 1e-4), not a published recipe for
        every network here."""
        return keras.optimizers.Adam(1e-4)

    def _check_scale(self, scale):
        """Number of passes for ``scale`` (a power of the network's own scale)."""
        if scale is None:
            return 1
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
            raise ConfigError(f"scale must be a positive int, got {scale!r}.")
        passes, s = 0, 1
        while s < scale:
            s *= self.scale
            passes += 1
        if s != scale or passes == 0:
            allowed = ", ".join(str(self.scale**k) for k in range(1, 4))
            raise ConfigError(
                f"{self.name} upscales by {self.scale}; it can do x{allowed}, ... (repeated passes), "
                f"not x{scale}. Choose a model of that scale (e.g. waifu2x_photo for x2, "
                "realesrgan_x4plus for x4) or resize the result."
            )
        return passes

    def _check_size(self, h, w):
        m = self.min_input_size
        if min(h, w) < m:
            raise ImageError(
                f"The image is {w}x{h} pixels; {self.name} needs at least {m} px on each side. "
                "Give a larger image."
            )

    def _run(self, x, tile=None, overlap=None, verbose=0):
        from keras_style.tiling import tiled_apply

        h, w = x.shape[1], x.shape[2]
        self._check_size(h, w)
        m = self.min_input_size
        overlap = self.receptive_field if overlap is None else int(overlap)
        if overlap < 0:
            raise ConfigError(f"overlap must be >= 0, got {overlap}.")
        if tile is not None:
            if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1:
                raise ConfigError(f"tile must be a positive number of input pixels, got {tile!r}.")
            tile = int(tile)
        if tile is None or (tile + overlap >= h and tile + overlap >= w):
            # every crop would be the whole image: one untiled pass is the same result
            return self._infer(x)
        if tile + 2 * overlap < m:
            raise ConfigError(f"tile + 2 * overlap must be at least {m} px for {self.name}.")
        return tiled_apply(
            self._infer, x, tile=tile, overlap=overlap, whole_image_stats=False, feather=0,
            align=1, verbose=verbose,
        )

    def upscale(self, image, tile=None, overlap=None, scale=None, memory_budget=None, verbose=0):
        """Upscale one image; returns NumPy float32 in [0, 1], HxWx3, or HxWx4 when the
        input has an alpha channel (the alpha is upscaled bicubically).

        Args:
            image: a path, PIL image, array or tensor (`keras_style.images.load_image`).
            tile: tile size in input px (``None``: untiled, unless the estimate exceeds
                ``memory_budget``, then the suggested tile; ``0``: untiled whatever the estimate). Tiled output equals untiled
                output when ``overlap >= receptive_field``.
            overlap: context px around each tile (default ``receptive_field``: exact,
                unless that does not fit in ``memory_budget``: see `plan_tiling`).
            scale: total scale; a power of the network's scale runs that many passes
                (as waifu2x does for x4); anything else is a `ConfigError`.
            memory_budget: bytes (or ``"2G"``) for the automatic tiling; default
                `default_memory_budget`.
            verbose: 1 prints the memory decision and shows a progress bar over tiles.
        """
        from keras_style.images import load_image

        passes = self._check_scale(scale)
        rgb, alpha = load_image(image, return_alpha=True)
        x = rgb[None]
        for _ in range(passes):
            h, w = x.shape[1], x.shape[2]
            t, ov = tile, overlap
            if t is not None and not isinstance(t, bool) and t == 0:  # one piece, whatever the estimate
                t = None
            elif t is not None and ov is None:
                budget = default_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
                t, ov = self.plan_tiling(h, w, budget=budget, tile=t)
            elif t is None:
                budget = default_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
                t, ov = self.plan_tiling(h, w, budget=budget, overlap=overlap)
                if verbose:
                    est = self.estimate_memory(h, w)
                    how = "untiled" if t is None else f"in {t} px tiles, overlap {ov}"
                    print(f"{self.name}: {w}x{h} -> about {est / 2**20:.0f} MiB untiled "
                          f"(budget {budget / 2**20:.0f} MiB): running {how}", flush=True)
            x = np.clip(self._run(x, tile=t, overlap=ov, verbose=verbose), 0.0, 1.0)
        out = x[0].astype("float32")
        if alpha is not None:
            a = upscale_alpha(alpha, out.shape[:2])  # bicubic (keras_style/images.py)
            out = np.concatenate([out, a[..., None]], axis=-1)
        return out

    def stylize(self, image, tile=None, overlap=None):
        """Alias of `upscale` (so the generic ``keras-style stylize --model`` works)."""
        return self.upscale(image, tile=tile, overlap=overlap)


__all__ = [
    "SuperResolutionModel",
    "default_memory_budget",
    "parse_bytes",
    "MEMORY_BUDGET_ENV",
]
