"""The only backend-specific code of the style-aware GAN: one two-optimiser training step.

Each step runs the whole model.py graph (all loss terms, for the logs) and updates either the
encoder+decoder (when ``discr_success >= win_rate``) or the discriminator, then moves
``discr_success`` (docs/methods/style_aware.md). TensorFlow keeps the branch inside the graph with ``tf.cond``;
torch runs eagerly, so a Python ``if`` does; JAX threads Keras' stateless state through
``jax.lax.cond`` (`_jax_train_step`). Under a ``tf.distribute`` strategy with several replicas
the branch is chosen on the host (`make_distributed_train_function`).
"""

from __future__ import annotations

import keras

from keras_style.distribution import logs_for_reduction, scale_for_distribution
from keras_style.errors import ConfigError


def train_step(model, *args):
    """``(data)`` on tensorflow and torch; ``(state, data)`` -> ``(logs, state)`` on JAX."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_train_step(model, *args)
    if backend == "torch":
        return _torch_train_step(model, *args)
    if backend == "jax":
        return _jax_train_step(model, *args)
    raise ConfigError(
        f"style_aware training supports the tensorflow, torch and jax backends, not {backend!r}; "
        "set KERAS_BACKEND=tensorflow (inference works on every backend)."
    )


class OptimizerPair:
    """What Keras' JAX trainer sees as ``model.optimizer``: the variables of the generator's
    and the discriminator's optimisers, in that order, threaded through its stateless
    state; `_jax_train_step` splits them again. Not saved: the two optimisers are."""

    def __init__(self, g_optimizer, d_optimizer):
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def variables(self):
        return list(self.g_optimizer.variables) + list(self.d_optimizer.variables)

    @property
    def built(self):
        return bool(self.g_optimizer.built and self.d_optimizer.built)

    @property
    def iterations(self):
        return self.g_optimizer.iterations

    def finalize_variable_values(self, variables):
        return None


def _scoped(model, mapping, fn):
    """``fn()`` with model variables read from ``mapping`` [(variable, value)]; returns
    (result, {id(variable): new value} of every variable it assigned)."""
    with keras.StatelessScope(state_mapping=mapping) as scope:
        result = fn()
    new = {}
    for ref, _ in mapping:
        v = scope.get_current_value(ref)
        if v is not None:
            new[id(ref)] = v
    return result, new


def _jax_train_step(model, state, data):
    """The TensorFlow step's semantics as a pure function of Keras' JAX state: the branch is
    ``jax.lax.cond`` on ``discr_success``; each branch differentiates its own loss and applies
    only its own optimiser (``stateless_apply``), leaving the other optimiser's state alone."""
    import jax
    import jax.numpy as jnp

    tv, ntv, ov, mv = state
    photo, art = model.unpack(data)
    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
    pos = {id(v): i for i, v in enumerate(trainable)}
    g_idx = [pos[id(v)] for v in model.generator_trainable_variables]
    d_idx = [pos[id(v)] for v in model.discriminator.trainable_variables]
    ng = len(model.g_optimizer.variables)
    ds_index = next(i for i, v in enumerate(non_trainable) if v is model.discr_success)

    def loss_and_terms(tv_, ntv_, key):
        mapping = list(zip(trainable, tv_)) + list(zip(non_trainable, ntv_))
        terms, new = _scoped(model, mapping, lambda: model.forward_terms(photo, art, training=True))
        ntv_new = [new.get(id(v), val) for v, val in zip(non_trainable, ntv_)]
        return terms[key], (terms, ntv_new)

    def branch(generator_step):
        key = "generator_loss" if generator_step else "discriminator_loss"
        idx = g_idx if generator_step else d_idx
        opt = model.g_optimizer if generator_step else model.d_optimizer

        def run(operands):
            tv_, ntv_, ov_ = operands
            (_, (terms, ntv_new)), grads = jax.value_and_grad(loss_and_terms, has_aux=True)(tv_, ntv_, key)
            own = list(ov_[:ng]) if generator_step else list(ov_[ng:])
            new_vars, own = opt.stateless_apply(own, [grads[i] for i in idx], [tv_[i] for i in idx])
            tv_new = list(tv_)
            for i, v in zip(idx, new_vars):
                tv_new[i] = v
            ov_new = own + list(ov_[ng:]) if generator_step else list(ov_[:ng]) + own
            terms = dict(terms)
            terms["generator_step"] = jnp.asarray(1.0 if generator_step else 0.0, "float32")
            success, _ = _scoped(
                model, [(model.discr_success, ntv_[ds_index])], lambda: model.next_success(terms, generator_step)
            )
            ntv_new = list(ntv_new)
            ntv_new[ds_index] = jnp.asarray(success, "float32")
            return tv_new, ntv_new, ov_new, terms

        return run

    generator_step = ntv[ds_index] >= model.win_rate
    tv, ntv, ov, terms = jax.lax.cond(generator_step, branch(True), branch(False), (list(tv), list(ntv), list(ov)))
    metrics = model.metrics_variables
    logs, new = _scoped(
        model, list(zip(metrics, mv)) + [(model.discr_success, ntv[ds_index])], lambda: model.update_trackers(terms)
    )
    mv = [new.get(id(v), val) for v, val in zip(metrics, mv)]
    return logs, (tv, ntv, ov, mv)


def jax_test_step(model, state, data):
    """``test_step`` on JAX: every term on ``(photo, art)`` without updates, into the trackers."""
    tv, ntv, mv = state
    photo, art = model.unpack(data)
    mapping = list(zip(model.trainable_variables, tv)) + list(zip(model.non_trainable_variables, ntv))

    def run():
        terms = model.forward_terms(photo, art, training=False)
        terms["generator_step"] = keras.ops.cast(
            keras.ops.convert_to_tensor(model.discr_success) >= model.win_rate, "float32"
        )
        return model.update_trackers(terms)

    logs, new = _scoped(model, mapping + list(zip(model.metrics_variables, mv)), run)
    mv = [new.get(id(v), val) for v, val in zip(model.metrics_variables, mv)]
    return logs, (tv, ntv, mv)


def _tf_branch(model, photo, art, generator_step):
    """One update of E+G (``generator_step``) or of D, in a tape; returns (terms, success)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        terms = model.forward_terms(photo, art, training=True)
        if generator_step:
            loss, variables, opt = terms["generator_loss"], model.generator_trainable_variables, model.g_optimizer
        else:
            loss, variables, opt = terms["discriminator_loss"], model.discriminator.trainable_variables, model.d_optimizer
        loss = scale_for_distribution(loss)  # gradients are summed over tf.distribute replicas
    grads = tape.gradient(loss, variables)
    opt.apply_gradients(zip(grads, variables))
    terms = dict(terms)
    terms["generator_step"] = tf.constant(1.0 if generator_step else 0.0)
    return terms, model.next_success(terms, generator_step)


def _tf_train_step(model, data):
    import tensorflow as tf

    photo, art = model.unpack(data)
    train_generator = tf.convert_to_tensor(model.discr_success) >= model.win_rate
    terms, success = tf.cond(
        train_generator,
        lambda: _tf_branch(model, photo, art, True),
        lambda: _tf_branch(model, photo, art, False),
    )
    model.discr_success.assign(success)
    return logs_for_reduction(model.update_trackers(terms))


def tf_branch_step(model, data, generator_step):
    """The step of one fixed branch (no ``tf.cond``): what `make_distributed_train_function`
    compiles twice."""
    photo, art = model.unpack(data)
    terms, success = _tf_branch(model, photo, art, generator_step)
    model.discr_success.assign(success)  # aggregation "mean": the replicas' average
    return logs_for_reduction(model.update_trackers(terms))


def make_distributed_train_function(model):
    """The train function under a ``tf.distribute`` strategy with several replicas.

    An optimizer's ``apply_gradients`` all-reduces the gradients across replicas, and
    TensorFlow allows no such synchronisation inside ``tf.cond``; so the generator step and
    the discriminator step are two compiled functions and the host picks one per step from
    ``discr_success`` (a mirrored variable, the same on every replica), as the official
    model.py does in Python."""
    if int(getattr(model, "steps_per_execution", 1) or 1) != 1:
        raise ConfigError(
            "style_aware under a tf.distribute strategy with several replicas chooses the "
            "generator or discriminator step on the host before each step: compile it with "
            "steps_per_execution=1."
        )
    generator = model._make_function(lambda data: tf_branch_step(model, data, True))
    discriminator = model._make_function(lambda data: tf_branch_step(model, data, False))

    def train_function(iterator):
        success = float(keras.ops.convert_to_numpy(model.discr_success))
        return (generator if success >= model.win_rate else discriminator)(iterator)

    return train_function


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
