"""The style/content yardstick (keras_style.metrics.StyleYardstick) on a random VGG16."""

import numpy as np
import pytest

from keras_style.errors import ConfigError
from keras_style.metrics import StyleYardstick


@pytest.fixture(scope="module")
def ys():
    import keras

    keras.utils.set_random_seed(0)
    return StyleYardstick(weights=None, size=40)


def _images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48] / 40.0
    photo = np.stack([yy, xx, 0.5 * (yy + xx)], -1).astype("float32") / 1.2
    painting = rng.uniform(0, 1, (36, 36, 3)).astype("float32")
    return photo, painting


def test_photo_scores_one_and_painting_scores_zero(ys):
    photo, painting = _images()
    r = ys.evaluate(photo, photo, painting)
    assert r["style_distance"] == pytest.approx(1.0, abs=1e-6)
    assert r["content_distance"] == pytest.approx(0.0, abs=1e-6)
    # the painting's own texture, at the photo's size, is much closer to the painting
    tiled = np.tile(painting, (2, 2, 1))[:40, :48]
    t = ys.evaluate(tiled, photo, painting)
    assert t["style_distance"] < 0.5 and t["content_distance"] > 0.1


def test_moving_towards_the_painting_lowers_the_distance(ys):
    photo, painting = _images()
    tiled = np.tile(painting, (2, 2, 1))[:40, :48]
    d = [ys.evaluate((1 - a) * photo + a * tiled, photo, painting)["style_distance"] for a in (0.0, 0.5, 1.0)]
    assert d[0] > d[1] > d[2]


def test_output_of_another_size_is_resized_to_the_photo(ys):
    photo, painting = _images()
    big = np.repeat(np.repeat(photo, 2, 0), 2, 1)
    r = ys.evaluate(big, photo, painting)
    assert r["style_distance"] == pytest.approx(1.0, abs=0.1)


def test_needs_style_layers():
    with pytest.raises(ConfigError, match="style_layers"):
        StyleYardstick(weights=None, style_layers=())
