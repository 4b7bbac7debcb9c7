"""Losses and statistics under Keras' distribution engines (``docs/distribution.md``).

Training on several devices uses what Keras and TensorFlow provide, nothing home-made:
``tf.distribute.MirroredStrategy`` / ``MultiWorkerMirroredStrategy`` on TensorFlow, and
``keras.distribution.DataParallel`` on JAX. Under ``tf.distribute`` each replica computes
the loss of its share of the batch and the gradients are *summed* over replicas, so a
model whose ``compute_loss`` returns a batch mean divides it by the number of replicas
(`scale_for_distribution`, what Keras' compiled losses do) and its loss trackers record the
unscaled value. Batch norm statistics span the replicas (`SyncBatchNormalization`). Then one
step on N devices is the single-device step on the global batch (``tests/test_distribution.py``).
"""

from __future__ import annotations

import keras


def replicas_in_sync() -> int:
    """Replicas of the active ``tf.distribute`` strategy (1 outside one, and on other backends)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def scale_for_distribution(value):
    """Divide a per-replica batch-mean loss by the number of replicas under ``tf.distribute``
    (gradients are summed over replicas). No-op on one device and on other backends."""
    n = replicas_in_sync()
    if n > 1:
        value = value * (1.0 / n)
    return value


def _multi_worker_collective() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    in_multi_worker = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return bool(in_multi_worker()) if callable(in_multi_worker) else True


def logs_for_reduction(logs):
    """A train/test step's logs in the shape Keras can reduce across workers.

    Under ``MultiWorkerMirroredStrategy`` with several workers, Keras 3's TF trainer reduces
    each log with ``strategy.reduce("MEAN", value, axis=0)``, which fails on the scalars a
    step returns ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388). Given as shape ``(1,)``, the same call averages them over
    the replicas into a scalar again. Unchanged everywhere else."""
    if not _multi_worker_collective():
        return logs
    from keras import ops

    return {k: ops.reshape(v, (1,)) if len(ops.shape(v)) == 0 else v for k, v in logs.items()}


__all__ = ["logs_for_reduction", "replicas_in_sync", "scale_for_distribution"]
