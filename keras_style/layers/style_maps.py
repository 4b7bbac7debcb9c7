"""Spatially varying style conditioning: a style map instead of one style per image.

Conditional normalisation (Dumoulin et al., ICLR 2017; Ghiasi et al., BMVC 2017) applies
a scale and a shift chosen by the style. Both are linear in the style weights (or the
style vector), so a per-pixel convex combination of styles is a per-pixel combination of
scales and shifts: the normalisation statistics stay those of the whole image, only the
affine step varies over the image. This is how `MultiStyleTransfer.stylize(masks=...)`
and `ArbitraryStylization.stylize(masks=...)` give different styles to different regions
with seamless boundaries (``docs/methods/multistyle.md``, "Spatial masks").

A style map is channels-last ``(N, H, W, D)`` at the input image's resolution; the
networks take it at coarser resolutions by stride-2 subsampling, which picks the centre
of every stride-2 convolution window (so crops aligned to the network's stride, as
`keras_style.tiling` makes them, subsample the same pixels as the whole image).
"""

from __future__ import annotations

from keras import ops


def is_style_map(style):
    """True for a rank-4 ``(N, H, W, D)`` style map (``(N, D)`` is one style per image)."""
    return len(style.shape) == 4


def style_map_levels(style, levels):
    """``[style, style / 2, style / 4, ...]`` (``levels`` entries) by stride-2 subsampling;
    a per-image style ``(N, D)`` is returned ``levels`` times."""
    out = [style]
    for _ in range(levels - 1):
        prev = out[-1]
        out.append(prev[:, ::2, ::2, :] if is_style_map(prev) else prev)
    return out


def fit_style_map(style, x):
    """A style map resampled to ``x``'s height and width (channels-last): cropped where it
    is larger, its last row / column repeated where it is smaller (networks whose strided
    convs round an odd size up; a 1x1 map is one style for the whole image)."""
    if not is_style_map(style):
        return style
    for axis in (1, 2):
        n, size = ops.shape(x)[axis], ops.shape(style)[axis]
        idx = ops.minimum(ops.arange(n), size - 1)
        style = ops.take(style, idx, axis=axis)
    return style


__all__ = ["is_style_map", "style_map_levels", "fit_style_map"]
