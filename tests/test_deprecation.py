"""Old argument names keep working for one release with a DeprecationWarning
(keras_style/deprecation.py, docs/design.md "Names")."""

import warnings

import numpy as np
import pytest

import keras_style as ks
from keras_style.errors import ConfigError
from tests.helpers import random_image


@pytest.mark.parametrize("name", ["gatys", "deepdream"])
def test_weights_is_the_old_name_of_backbone_weights(name):
    with pytest.warns(DeprecationWarning, match=r"weights=.*deprecated.*backbone_weights="):
        old = ks.get(name, weights=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = ks.get(name, backbone_weights=None)
    assert old.backbone_weights is None and new.backbone_weights is None
    assert old.get_config() == new.get_config() and "weights" not in new.get_config()
    # a config written before the rename loads without a warning
    cfg = {**new.get_config()}
    cfg["weights"] = cfg.pop("backbone_weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert type(new).from_config(cfg).backbone_weights is None
    with pytest.raises(ConfigError, match="not both"):
        ks.get(name, weights=None, backbone_weights="vgg16_hed_bsds500")


@pytest.mark.parametrize("name, kw", [
    ("johnson", {"style_image": np.full((24, 24, 3), 0.5, "float32"), "style_size": 24}),
    ("johnson_sr", {"scale": 4}),
])
def test_johnson_weights_is_the_old_name_of_backbone_weights(name, kw):
    tiny = {"width": 0.125, "num_residual_blocks": 1}
    with pytest.warns(DeprecationWarning, match="backbone_weights"):
        old = ks.get(name, weights=None, **kw, **tiny)
    cfg = old.get_config()
    assert cfg["backbone_weights"] is None and "weights" not in cfg
    cfg["weights"] = cfg.pop("backbone_weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert type(old).from_config(cfg).weights_id is None


def test_style_blend_is_the_old_name_of_style_weights():
    model = ks.get("gatys", backbone_weights=None)
    c, s1, s2 = random_image(32, 32, seed=1), random_image(32, 32, seed=2), random_image(32, 32, seed=3)
    kw = dict(steps=2, optimizer="adam", verbose=0, style_layers=["relu1_1"])
    new = model.stylize(c, [s1, s2], style_weights=[3, 1], **kw)
    with pytest.warns(DeprecationWarning, match="style_weights"):
        old = model.stylize(c, [s1, s2], style_blend=[3, 1], **kw)
    np.testing.assert_allclose(old, new, atol=1e-6)
    assert not np.allclose(new, model.stylize(c, [s1, s2], **kw), atol=1e-4)  # the weights matter
    with pytest.raises(ConfigError, match="not both"):
        model.stylize(c, [s1, s2], style_blend=[3, 1], style_weights=[1, 1], **kw)


def test_preserve_colors_function_is_the_old_name():
    from keras_style.images import preserve_color
    from keras_style.methods.johnson import johnson_style_transfer as style_transfer

    a, b = random_image(16, 16, seed=4), random_image(16, 16, seed=5)
    with pytest.warns(DeprecationWarning, match="preserve_color"):
        old = style_transfer.preserve_colors(a, b)
    np.testing.assert_allclose(old, preserve_color(a, b), atol=1e-6)


def test_finetune_weights_is_the_old_name_of_backbone_weights():
    kw = {"backbone": "mobilenet", "num_classes": 2, "input_shape": (32, 32, 3), "compile": False}
    with pytest.warns(DeprecationWarning, match="backbone_weights"):
        old = ks.get("finetune", weights=None, **kw)
    cfg = old.get_config()
    assert cfg["backbone_weights"] is None and "weights" not in cfg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        type(old).from_config({**{k: v for k, v in cfg.items() if k != "backbone_weights"}, "weights": None})
