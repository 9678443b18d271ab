"""Which devices TensorFlow sees: the CPU drop-ins (conv.py, pooling.py) and XLA's default ask here."""

from __future__ import annotations

import functools

import tensorflow as tf


def accelerators_present() -> bool:
    """Whether TensorFlow sees a GPU or TPU (CPU-only machines choose other kernels and no XLA)."""
    return any(d.device_type in ("GPU", "TPU") for d in tf.config.list_physical_devices())


@functools.lru_cache(maxsize=None)
def on_cpu_only() -> bool:
    """`not accelerators_present()`, asked once per process: whether the CPU kernels of nn.fast.conv and
    nn.fast.pooling apply (layers ask it on every call)."""
    return not accelerators_present()
