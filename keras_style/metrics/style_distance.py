"""A yardstick for stylized images: style and content distances under ImageNet VGG16.

Any two methods, presets or settings can be compared on the same photos and painting
with numbers instead of impressions (``docs/evaluation.md``):

- **style distance** of an output ``y`` made from photo ``x`` with painting ``s``::

      D(y) = sum_l ||G_l(y) - G_l(s)||^2 / ||G_l(s)||^2,   l in relu1_2, relu2_2, relu3_3, relu4_3

  with Gram matrices ``G = F^T F / (H W)`` (the constant normalisation cancels in the
  ratio), divided by ``D(x)``, the same distance for the untouched photo. 1.0 means "no
  closer to the painting than the photo was", lower means more of the painting's style;
  values above 1 mean the output moved away from it.
- **content distance**: ``||F(y) - F(x)|| / ||F(x)||`` at ``relu3_3``, the relative
  change of mid-level features (0 = the photo itself).

The layers are those of Johnson et al.'s style loss (ECCV 2016, section 3.2); the
network is the ImageNet VGG16 (``vgg16_imagenet``, offline through the ``offline`` extra),
not the loss network of any model being measured, when that model was trained on
another one.

```python
from keras_style.metrics import StyleYardstick
ys = StyleYardstick()                       # ImageNet VGG16
ys.evaluate(output, photo, painting)        # {'style_distance': 0.31, 'content_distance': 0.52}
```
"""

from __future__ import annotations

import numpy as np
from keras import ops

from keras_style.errors import ConfigError

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu3_3"


class StyleYardstick:
    """Style and content distances of stylized images (see the module docstring).

    Args:
        weights: VGG16 weights (default ``"vgg16_imagenet"``; ``None`` only for tests).
        size: photos and paintings are resized so that their longer side is ``size``
            before measuring (``None`` keeps them); the output is resized to the photo's size.
        style_layers, content_layer: the taps (defaults above).
    """

    def __init__(self, weights="vgg16_imagenet", size=256, style_layers=STYLE_LAYERS,
                 content_layer=CONTENT_LAYER):
        from keras_style.registry import get

        self.style_layers = tuple(style_layers)
        self.content_layer = content_layer
        if not self.style_layers:
            raise ConfigError("style_layers must name at least one VGG16 layer.")
        self.size = size
        taps = sorted(set(self.style_layers) | {content_layer})
        self.vgg = get("vgg16", layers=taps, weights=weights)
        self._grams_cache = {}

    def _image(self, image, shape=None):
        from keras_style.images import load_image, resize_image

        x = np.asarray(load_image(image), "float32")
        if shape is not None:
            if x.shape[:2] != tuple(shape):
                x = np.asarray(resize_image(x, shape=tuple(shape)), "float32")
        elif self.size is not None and max(x.shape[:2]) != self.size:
            x = np.asarray(resize_image(x, max_size=self.size), "float32")
        return np.clip(x, 0.0, 1.0)

    def features(self, image):
        """VGG16 features ``{layer: (1, H, W, C)}`` of an RGB image in [0, 1]."""
        return self.vgg(ops.convert_to_tensor(np.asarray(image, "float32")[None]))

    def _grams(self, feats):
        from keras_style.losses.functional import gram_matrix

        return {k: ops.convert_to_numpy(gram_matrix(feats[k]))[0] for k in self.style_layers}

    def style_grams(self, painting):
        key = id(painting) if not isinstance(painting, str) else painting
        if key not in self._grams_cache:
            self._grams_cache[key] = self._grams(self.features(self._image(painting)))
        return self._grams_cache[key]

    @staticmethod
    def _style_ratio(grams, target):
        return float(sum(
            np.sum((grams[k] - target[k]) ** 2) / max(np.sum(target[k] ** 2), 1e-30) for k in target
        ))

    def evaluate(self, output, photo, painting) -> dict:
        """``{"style_distance", "content_distance", "style_raw", "photo_style_raw"}``."""
        x = self._image(photo)
        y = self._image(output, shape=x.shape[:2])
        target = self.style_grams(painting)
        fx, fy = self.features(x), self.features(y)
        d_photo = self._style_ratio(self._grams(fx), target)
        d_out = self._style_ratio(self._grams(fy), target)
        cx = ops.convert_to_numpy(fx[self.content_layer])
        cy = ops.convert_to_numpy(fy[self.content_layer])
        content = float(np.linalg.norm(cy - cx) / max(np.linalg.norm(cx), 1e-30))
        return {
            "style_distance": d_out / max(d_photo, 1e-30),
            "content_distance": content,
            "style_raw": d_out,
            "photo_style_raw": d_photo,
        }


def style_distance(output, photo, painting, weights="vgg16_imagenet", size=256) -> float:
    """The style distance of one output (see `StyleYardstick`); builds the VGG16 each call."""
    return StyleYardstick(weights=weights, size=size).evaluate(output, photo, painting)["style_distance"]


__all__ = ["StyleYardstick", "style_distance", "STYLE_LAYERS", "CONTENT_LAYER"]
