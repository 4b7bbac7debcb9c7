"""Every registered ``keras.Model`` is called, trained one step and saved (`run_model_test`).

The registry sweep (test_registry_sweep.py) only builds each entry; here each model built
from its ``test_config`` runs inference (and ``stylize``/``upscale``), one ``fit`` step and a
``.keras`` round trip on tiny data shaped like what its method's own tests train on.  A model
that cannot do a step is listed in ``CANNOT`` with the reason, and the test checks that the
reason still holds, so that no entry escapes silently.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import random_image, run_model_test

import keras_style as ks
from keras_style.errors import ConfigError
from keras_style.methods.multistyle import MultiStyleTransfer

EAGER = {"run_eagerly": True}  # one tiny step: tracing a train function costs more than it


def _build(name):
    keras.utils.set_random_seed(0)
    return ks.get(name, **ks.registry.entry(name).test_config)


def _is_model(name):
    """Classes are checked as classes; factory functions (presets, finetune) are built."""
    factory = ks.registry.entry(name).factory
    if isinstance(factory, type):
        return issubclass(factory, keras.Model)
    return isinstance(_build(name), keras.Model)


MODEL_NAMES = [n for n in ks.names() if _is_model(n)]
keras.backend.clear_session(free_memory=False)


def _tf_batch(data):
    import tensorflow as tf

    n = len(next(iter(data.values())))
    return tf.data.Dataset.from_tensor_slices(data).batch(n)


# ----------------------------------------------------------------------------- per-method inputs
# Each returns the keyword arguments of run_model_test (inputs, fit_data, image, shapes ...).


def _content_style(model):
    """AdaIN / arbitrary stylization: (content, style) batches (test_adain.py, test_arbitrary.py)."""
    c, s = random_image(32, 32, seed=1, batch=2), random_image(32, 32, seed=2, batch=2)
    return dict(
        inputs=(c, s),
        expected_shape=(2, 32, 32, 3),
        image=random_image(32, 32, seed=3),
        image_kwargs={"style": random_image(32, 32, seed=4)},
        fit_data=_tf_batch({"content": c, "style": s}),
        compile_kwargs={"jit_compile": False, **EAGER},
    )


def _adain(model):
    model.jit_compile_inference = False  # XLA compiles per shape: slow here (test_adain.tiny)
    return _content_style(model)


def _feed_forward(model):
    """Johnson style models: trained on content images alone (test_johnson.py)."""
    x = random_image(32, 32, seed=1, batch=2)
    return dict(inputs=x, image=random_image(32, 32, seed=3), fit_data=x, compile_kwargs=EAGER)


def _image_to_image(model):
    """A bare image-to-image network (johnson_transformer): trained as a plain Keras model."""
    x = random_image(32, 32, seed=1, batch=2)
    return dict(inputs=x, fit_data=(x, x), compile_kwargs=EAGER)


def _super_resolution(scale, lr=8, method=True):
    """LR/HR pairs (test_johnson.py, test_super_resolution.py): HR is the LR size x scale."""

    def make(model):
        hr = random_image(lr * scale, lr * scale, seed=1, batch=2)
        lo = keras.ops.convert_to_numpy(keras.ops.image.resize(hr, (lr, lr)))
        kw = dict(inputs=lo, expected_shape=hr.shape, fit_data=(lo, hr), compile_kwargs=EAGER)
        if method:
            kw.update(image=lo[0], expected_image_shape=hr.shape[1:])
        return kw

    return make


def _multistyle(num_styles):
    """Multi-style networks: (images, style weights) (test_multistyle.py)."""

    def make(model):
        x = random_image(32, 32, seed=1, batch=2)
        w = np.eye(num_styles, dtype="float32")[[0, num_styles - 1]]
        kw = dict(inputs=(x, w), compile_kwargs=EAGER)
        if isinstance(model, MultiStyleTransfer):
            kw.update(image=random_image(32, 32, seed=3), image_kwargs={"style": num_styles - 1}, fit_data=x)
        else:  # the bare network: a plain Keras model on ((images, weights), images)
            kw.update(fit_data=((x, w), x))
        return kw

    return make


def _finetune(model):
    """A classifier on (images, sparse labels) (test_finetune.py), compiled by compile_finetune.

    Random weights with frozen BatchNorm give all-zero features and a uniform softmax
    (test_finetune.py says so), so only the head's bias gets a gradient, and only from
    unbalanced labels: balanced ones cancel exactly and nothing would change."""
    from keras_style.methods.finetune.fine_tune_classifier import compile_finetune

    x = random_image(32, 32, seed=1, batch=4)
    return dict(
        inputs=x,
        expected_shape=(4, model.num_classes),
        fit_data=(x, np.array([0, 0, 0, 1]) % model.num_classes),  # unbalanced: see below
        compile_fn=lambda m: compile_finetune(m, run_eagerly=True),
    )


def _style_aware(model):
    """The style-aware GAN trains on {"photo", "art"} pairs (test_style_aware.py); its
    alternating two-optimiser step logs generator/discriminator losses, no "loss"."""
    photo, art = random_image(32, 32, seed=1, batch=1), random_image(32, 32, seed=2, batch=1)
    return dict(
        inputs=photo,
        image=photo[0],
        fit_data=_tf_batch({"photo": photo, "art": art}),
        compile_kwargs=EAGER,
        loss_key="discriminator_loss",
    )


SPECS = {
    "adain": _adain,
    "arbitrary_stylization": _content_style,
    "finetune": _finetune,
    "johnson": _feed_forward,
    "johnson_great_wave": _feed_forward,
    "johnson_starry_night": _feed_forward,
    "johnson_sr": _super_resolution(4),
    "johnson_sr_x4": _super_resolution(4),
    "johnson_sr_network": _super_resolution(4, method=False),
    "johnson_transformer": _image_to_image,
    "multistyle": _multistyle(2),
    "multistyle_26": _multistyle(26),
    "multistyle_network": _multistyle(3),
    "realesrgan_x4plus": _super_resolution(4),
    "rrdbnet": _super_resolution(4),
    "style_aware": _style_aware,
    "waifu2x_photo": _super_resolution(2, lr=16),
    "waifu2x_photo_denoise0": _super_resolution(2, lr=16),
    "waifu2x_photo_denoise1": _super_resolution(2, lr=16),
    "waifu2x_photo_denoise2": _super_resolution(2, lr=16),
    "waifu2x_photo_denoise3": _super_resolution(2, lr=16),
    "waifu2x_upconv7": _super_resolution(2, lr=16),
}


def _no_gram_targets(model, kw):
    with pytest.raises(ConfigError, match="Gram targets"):
        model.fit(kw["fit_data"], epochs=1, verbose=0)


# name -> {step: (reason, check that the reason still holds)}
CANNOT = {
    "multistyle_26": {
        "fit": (
            "the preset ships the network only (converted from the TF Lite demo), no style images: "
            "it has no Gram targets and fit() refuses to train",
            _no_gram_targets,
        ),
    },
}

# Real bugs the sweep found: name -> reason (strict xfail: fixing one fails the test until removed).
BUGS: dict[str, str] = {}


def test_every_model_entry_has_a_spec():
    assert MODEL_NAMES, "no keras.Model entries found"
    assert set(MODEL_NAMES) == set(SPECS), (
        f"no input spec for {sorted(set(MODEL_NAMES) - set(SPECS))}; "
        f"stale specs {sorted(set(SPECS) - set(MODEL_NAMES))}"
    )
    assert set(CANNOT) <= set(SPECS) and set(BUGS) <= set(SPECS)


def _params():
    for n in MODEL_NAMES:
        marks = [pytest.mark.xfail(strict=True, reason=BUGS[n])] if n in BUGS else []
        yield pytest.param(n, marks=marks, id=n)


@pytest.mark.parametrize("name", list(_params()))
def test_registered_model_predicts_fits_and_saves(name, tmp_path):
    model = _build(name)
    kw = SPECS[name](model)
    cannot = CANNOT.get(name, {})
    for step, (reason, still_true) in cannot.items():
        assert step in ("fit", "save") and reason, f"{name}: bad CANNOT entry {step!r}"
        still_true(model, kw)  # the listed limitation must still hold
    if "fit" in cannot:
        kw = {**kw, "fit": False}
    if "save" in cannot:
        kw = {**kw, "save": False}
    # the reloaded model's call() output is compared; its stylize()/upscale() is not (that
    # traces every inference function again: ~2 s a model here; the method tests do it)
    run_model_test(model, tmp_path=tmp_path, reload_method=False, **kw)
