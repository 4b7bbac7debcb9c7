"""Tiled AdaIN inference for images too large to run in one piece.

AdaIN normalises the *whole* content feature map with its mean and std, so tiles cannot be
stylized independently (each tile would get its own statistics and the seams would show).
Here the image is processed in two tiled passes:

1. **Encode** tiles of ``tile`` px overlapping by ``overlap`` px; each tile contributes only
   its core (the part nearer to it than to its neighbours) to one relu4_1 feature map of the
   whole image (1/8 of the image size, 512 channels: 128 MB for a 2048x2048 image).
   Whole-image statistics, interpolation, masks and alpha are then applied to that map
   exactly as without tiles.
2. **Decode** the target feature map in overlapping tiles and blend them with linear
   (feathered) weights in the overlaps (`keras_style.tiling.tiled_apply`, output scale 8).

Tiles and overlaps are rounded to multiples of 8 px (one feature pixel). With an overlap
larger than the encoder's receptive radius (about 40 px at relu4_1) the result matches the
untiled one up to the blending of the decoder's border effects.
"""

from __future__ import annotations

import numpy as np

from keras_style.errors import ConfigError


def _starts(length, tile, step):
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _cores(starts, tile, length):
    """Partition [0, length) into cores: boundaries halfway through each overlap (x8)."""
    bounds = [0]
    for a, b in zip(starts[:-1], starts[1:]):
        mid = (a + tile + b) // 2
        bounds.append(int(8 * round(mid / 8)))
    bounds.append(length)
    return list(zip(bounds[:-1], bounds[1:]))


def stylize_tiled(model, image, encoded, weights, labels, alpha, tile, overlap, verbose=0):
    """Tiled version of `AdaIN.stylize`'s core; returns the (H, W, 3) output, not clipped."""
    import keras

    if not isinstance(tile, int) or tile < 16:
        raise ConfigError(f"tile must be an int >= 16 (pixels), got {tile!r}.")
    if not isinstance(overlap, int) or overlap < 0:
        raise ConfigError(f"overlap must be an int >= 0 (pixels), got {overlap!r}.")
    h, w = image.shape[:2]
    t = max(16, 8 * (tile // 8))
    o = 8 * int(round(overlap / 8))
    if o >= t:
        raise ConfigError(f"overlap ({overlap}) must be smaller than tile ({tile}).")
    H, W = 8 * -(-h // 8), 8 * -(-w // 8)
    padded = (
        np.pad(image, ((0, H - h), (0, W - w), (0, 0)), mode="reflect")
        if (H, W) != (h, w)
        else image
    )
    ys, xs = _starts(H, t, t - o), _starts(W, t, t - o)
    th, tw = min(t, H), min(t, W)
    n_tiles = len(ys) * len(xs)
    bar = keras.utils.Progbar(2 * n_tiles, unit_name="tile") if verbose else None

    # 1. encode in tiles, keep each tile's core
    feat = None
    for y, (cy0, cy1) in zip(ys, _cores(ys, th, H)):
        for x, (cx0, cx1) in zip(xs, _cores(xs, tw, W)):
            f = model.encode(padded[None, y : y + th, x : x + tw])[0]
            if feat is None:
                feat = np.zeros((H // 8, W // 8, f.shape[-1]), np.float32)
            feat[cy0 // 8 : cy1 // 8, cx0 // 8 : cx1 // 8] = f[
                (cy0 - y) // 8 : (cy1 - y) // 8, (cx0 - x) // 8 : (cx1 - x) // 8
            ]
            if bar is not None:
                bar.add(1)

    # whole-image statistics, interpolation, masks, alpha: as untiled
    target = model._target(feat[None], encoded, weights, labels, alpha)[0]

    # 2. decode in overlapping feature tiles with feathered blending (keras_style.tiling;
    #    the decoder has no instance norm, so no statistics passes)
    from keras_style.tiling import tiled_apply

    if bar is not None:
        bar.add(n_tiles)
    out = tiled_apply(
        model.decode,
        target[None],
        tile=(th // 8, tw // 8),
        overlap=o // 8,
        whole_image_stats=False,
        verbose=0,
    )[0]
    return out[:h, :w]


__all__ = ["stylize_tiled"]
