"""Batch normalisation whose training statistics span every replica under ``tf.distribute``."""

from __future__ import annotations

import keras

from keras_style.distribution import replicas_in_sync
from keras_style.registry import register


@keras.saving.register_keras_serializable(package="keras_style")
@register(
    "sync_batch_normalization",
    "layer",
    test_config={"epsilon": 1e-5, "momentum": 0.9},
    paper="https://arxiv.org/abs/1502.03167",
    notes="keras.layers.BatchNormalization; under a tf.distribute strategy with several "
    "replicas its batch statistics are those of the global batch (synchronized=True), so "
    "training on N devices gives the single-device update (docs/distribution.md).",
)
class SyncBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that synchronises its batch statistics across
    replicas whenever it is trained under a ``tf.distribute`` strategy with more than one.

    Keras' own ``synchronized=True`` is TensorFlow-only and is written into the config, so a
    model saved with it cannot load on torch or JAX; and on one device it computes the
    variance as ``E[x^2] - E[x]^2`` instead of ``tf.nn.moments``. This layer decides at call
    time: several replicas -> Keras' synchronised moments (the global batch's mean and
    variance, what one device computes on the whole batch); otherwise the ordinary layer,
    bit for bit. Its config is BatchNormalization's without ``synchronized``, and its weights
    are the same four (``gamma``, ``beta``, ``moving_mean``, ``moving_variance``).
    On JAX, ``keras.distribution.DataParallel`` already computes statistics of the global
    (sharded) batch.
    """

    def __init__(self, **kwargs):
        kwargs.pop("synchronized", None)
        super().__init__(**kwargs)

    def call(self, inputs, training=None, mask=None):
        # read at trace time: a strategy's train function is traced inside its scope
        self.synchronized = bool(training) and replicas_in_sync() > 1
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        config = super().get_config()
        config.pop("synchronized", None)
        return config


__all__ = ["SyncBatchNormalization"]
