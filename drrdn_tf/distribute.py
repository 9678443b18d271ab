"""tf.distribute strategies by name, for the CLI and for tests.

  default      the current (default) strategy: one device
  mirrored     tf.distribute.MirroredStrategy on all local GPUs, or on the devices given
  multiworker  tf.distribute.MultiWorkerMirroredStrategy, configured by the standard TF_CONFIG variable

Build and compile a model inside `strategy.scope()`; `AdversarialModel.compile` builds every optimizer there
(Keras 3.15 / TF 2.21 otherwise fails with "You must feed a value for placeholder tensor" when a train_step
uses several optimizers under a strategy).
"""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multiworker")


def split_cpu(n: int) -> None:
    """Splits the physical CPU into `n` logical devices (/cpu:0 ... /cpu:n-1), so MirroredStrategy can run
    several replicas on a machine without GPUs. Must run before TensorFlow initialises its devices."""
    if n < 1:
        raise ValueError(f"the number of logical CPU devices must be >= 1, got {n}")
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as e:
        raise ValueError(f"cannot split the CPU into {n} devices after TensorFlow has started ({e}); "
                         "do it first thing in the process") from None


def set_cpu_threads(intra_op: int = 0, inter_op: int = 0) -> None:
    """Threads TensorFlow uses on the CPU: `intra_op` per op (a convolution's threads), `inter_op` for ops run
    side by side; 0 keeps TensorFlow's default (one per core). One thread per op lets two runs share a 2-core
    machine with more images a second between them than one run with both cores (`docs/design_notes.md`).
    Must run before TensorFlow runs its first op."""
    for name, n in (("intra_op", intra_op), ("inter_op", inter_op)):
        if n < 0:
            raise ValueError(f"--{name}_threads must be >= 0 (0: TensorFlow's default), got {n}")
    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as e:
        raise ValueError(f"cannot set TensorFlow's CPU threads after it has started ({e}); do it first thing in "
                         "the process") from None


def make_strategy(name: str = "default", devices: Optional[Sequence[str]] = None) -> tf.distribute.Strategy:
    """The strategy called `name`; raises ValueError for an unknown name or a missing/malformed TF_CONFIG."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not devices:
            gpus = tf.config.list_logical_devices("GPU")
            cpus = tf.config.list_logical_devices("CPU")
            devices = [d.name for d in gpus] or [d.name for d in cpus]
        return tf.distribute.MirroredStrategy(list(devices))
    if name == "multiworker":
        raw = os.environ.get("TF_CONFIG")
        if not raw:
            raise ValueError("--strategy=multiworker needs the TF_CONFIG environment variable (cluster and task), "
                             'e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                             '"task": {"type": "worker", "index": 0}}')
        try:
            cfg = json.loads(raw)
            workers = cfg["cluster"]["worker"]
            task = cfg["task"]
            assert task["type"] in ("worker", "chief") and int(task["index"]) >= 0 and workers
        except (ValueError, KeyError, TypeError, AssertionError):
            raise ValueError(f"TF_CONFIG is malformed: {raw!r} (need cluster.worker and task.type/index)") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the worker that writes the run folder (worker 0, or the only process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


def gather_global_batch(z):
    """For statistics over the global batch inside a replica step (MINE, Eq. 9): under tf.distribute, this
    replica's [2n, D] (natural then adversarial halves) gathered from every replica into the one-device
    order [2Rn, D] (all natural halves, then all adversarial); else z."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return z
    replicas = ctx.num_replicas_in_sync
    g = ctx.all_gather(z[None], axis=0)                      # [R, 2n, D]
    g = tf.reshape(g, [replicas, 2, -1, tf.shape(z)[-1]])    # [R, 2, n, D]
    return tf.reshape(tf.transpose(g, [1, 0, 2, 3]), [-1, tf.shape(z)[-1]])
