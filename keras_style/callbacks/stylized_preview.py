"""``stylized_preview``: save a grid of stylized test images while a model trains.

Every trainable keras_style model implements ``preview(images) -> images in [0, 1]``;
this callback calls it on fixed test images every ``every_n_steps`` batches (or at the
end of each epoch when ``every_n_steps`` is None), writes ``{directory}/step_000500.png``
(atomically) and, with ``log_dir``, a TensorBoard image summary (TF backend).

```python
cb = ks.get("stylized_preview", images=["test.jpg"], every_n_steps=500, directory="previews")
model.fit(data, epochs=2, callbacks=[cb])
```
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from keras_style.errors import ConfigError
from keras_style.images import resize_to
from keras_style.registry import register


def _as_batch(images, size):
    from keras_style.images import load_image

    if isinstance(images, (str, os.PathLike)) or (
        hasattr(images, "ndim") and np.ndim(images) == 3
    ):
        images = [images]
    if hasattr(images, "ndim") and np.ndim(images) == 4:
        return np.asarray(images, "float32")
    arrays = [np.asarray(load_image(im), "float32") for im in images]
    if not arrays:
        raise ConfigError("stylized_preview needs at least one image.")
    out = []
    for a in arrays:  # centre square, photo resize (keras_style/images.py)
        out.append(np.clip(resize_to(a, (size, size), crop=True), 0.0, 1.0))
    return np.stack(out).astype("float32")


def make_grid(inputs, outputs):
    """Row 1: inputs, row 2: outputs (both NHWC in [0, 1]); returns HxWx3."""
    top = np.concatenate(list(inputs), axis=1)
    bottom = np.concatenate(list(outputs), axis=1)
    if bottom.shape[:2] != top.shape[:2]:
        bottom = resize_to(np.clip(bottom, 0.0, 1.0), top.shape[:2])
    return np.clip(np.concatenate([top, bottom], axis=0), 0.0, 1.0)


@register(
    "stylized_preview",
    "callback",
    test_config={"images": np.zeros((1, 16, 16, 3), "float32"), "directory": None},
)
class StylizedPreview(keras.callbacks.Callback):
    """Save ``model.preview(images)`` as a grid (inputs above, outputs below).

    Args:
        images: paths, arrays or an NHWC batch in [0, 1] (resized and centre-cropped to
            ``size`` unless already a batch).
        every_n_steps: save every N training batches; ``None`` = at the end of each epoch.
        directory: output folder (created); ``None`` writes no files.
        log_dir: TensorBoard log folder for image summaries (TF backend), or ``None``.
        size: preview size in pixels (square), default 256.
    """

    def __init__(self, images, every_n_steps=None, directory="previews", log_dir=None, size=256):
        super().__init__()
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ConfigError(f"every_n_steps must be a positive int or None, got {every_n_steps!r}.")
        self.images = _as_batch(images, size)
        self.every_n_steps = every_n_steps
        self.directory = None if directory is None else Path(directory)
        self.log_dir = log_dir
        self.size = size
        self._step = 0
        self._writer = None
        self.saved = []

    def _save(self, tag):
        if not hasattr(self.model, "preview"):
            raise ConfigError(
                f"{type(self.model).__name__} has no preview(images) method; stylized_preview "
                "works with keras_style models (johnson, adain, ...)."
            )
        out = np.asarray(self.model.preview(self.images), "float32")
        grid = make_grid(self.images, out)
        if self.directory is not None:
            from keras_style.images import save_image

            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{tag}.png"
            save_image(grid, str(path), overwrite=True)
            self.saved.append(str(path))
        if self.log_dir is not None:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.log_dir))
            with self._writer.as_default():
                tf.summary.image("stylized_preview", grid[None], step=self._step)
            self._writer.flush()
        return grid

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.every_n_steps and self._step % self.every_n_steps == 0:
            self._save(f"step_{self._step:06d}")

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is None:
            self._save(f"epoch_{epoch + 1:03d}")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def stylized_preview(images, every_n_steps=None, directory="previews", log_dir=None, size=256):
    """Factory form of `StylizedPreview` (same arguments)."""
    return StylizedPreview(images, every_n_steps=every_n_steps, directory=directory, log_dir=log_dir, size=size)


__all__ = ["StylizedPreview", "stylized_preview", "make_grid"]
