"""The only backend-specific code of the style-aware GAN: one two-optimiser training step.

Each step runs the whole model.py graph (all loss terms, for the logs) and updates either the
encoder+decoder (when ``discr_success >= win_rate``) or the discriminator, then moves
``discr_success`` (docs/methods/style_aware.md). TensorFlow keeps the branch inside the graph with ``tf.cond``;
torch runs eagerly, so a Python ``if`` does. Other backends (JAX) are not supported: their
stateless train_step would need the optimiser states threaded by hand.
"""

from __future__ import annotations

import keras

from keras_style.errors import ConfigError


def train_step(model, data):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_train_step(model, data)
    if backend == "torch":
        return _torch_train_step(model, data)
    raise ConfigError(
        f"style_aware training supports the tensorflow and torch backends, not {backend!r}; "
        "set KERAS_BACKEND=tensorflow (inference works on every backend)."
    )


def _tf_train_step(model, data):
    import tensorflow as tf

    photo, art = model.unpack(data)
    g_vars = model.generator_trainable_variables
    d_vars = model.discriminator.trainable_variables

    def branch(generator_step):
        def run():
            with tf.GradientTape() as tape:
                terms = model.forward_terms(photo, art, training=True)
            if generator_step:
                loss, variables, opt = terms["generator_loss"], g_vars, model.g_optimizer
            else:
                loss, variables, opt = terms["discriminator_loss"], d_vars, model.d_optimizer
            grads = tape.gradient(loss, variables)
            opt.apply_gradients(zip(grads, variables))
            terms = dict(terms)
            terms["generator_step"] = tf.constant(1.0 if generator_step else 0.0)
            return terms, model.next_success(terms, generator_step)

        return run

    train_generator = tf.convert_to_tensor(model.discr_success) >= model.win_rate
    terms, success = tf.cond(train_generator, branch(True), branch(False))
    model.discr_success.assign(success)
    return model.update_trackers(terms)


def _torch_train_step(model, data):
    import torch

    photo, art = model.unpack(data)
    generator_step = bool(float(keras.ops.convert_to_numpy(model.discr_success)) >= model.win_rate)
    if generator_step:
        variables, opt, key = model.generator_trainable_variables, model.g_optimizer, "generator_loss"
    else:
        variables, opt, key = model.discriminator.trainable_variables, model.d_optimizer, "discriminator_loss"
    model.zero_grad()
    terms = model.forward_terms(photo, art, training=True)
    terms[key].backward()
    grads = [v.value.grad for v in variables]
    with torch.no_grad():
        opt.apply(grads, variables)
    terms = {k: v.detach() for k, v in terms.items()}
    terms["generator_step"] = torch.tensor(1.0 if generator_step else 0.0)
    model.discr_success.assign(model.next_success(terms, generator_step))
    return model.update_trackers(terms)
