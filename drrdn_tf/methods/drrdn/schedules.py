"""DRRDN's schedules and gradient scaling: the DANN ramp of the alignment terms (and its callback), learning
rates scaled from another optimizer's, and a gradient-scaling identity."""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf


def scale_gradient(x, weight):
    """x in the forward pass; weight * (upstream gradient) in the backward pass. weight 0 stops it."""
    if isinstance(weight, (int, float)) and weight == 0:
        return tf.stop_gradient(x)
    if isinstance(weight, (int, float)) and weight == 1:
        return x
    return weight * x + (1.0 - weight) * tf.stop_gradient(x)


def dann_ramp(progress):
    """DANN's schedule 2 / (1 + exp(-10 p)) - 1 for progress p in [0, 1] (0 -> 0, 1 -> ~1)."""
    p = tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)
    return 2.0 / (1.0 + tf.exp(-10.0 * p)) - 1.0


@keras.saving.register_keras_serializable(package="drrdn_tf")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`multiplier` times another learning rate (a float or a schedule read at step // step_divisor): the
    disentangler update's rate, or that of an optimizer applied step_divisor times per training step."""

    def __init__(self, base, multiplier: float = 1.0, step_divisor: int = 1):
        if isinstance(base, dict):
            base = keras.optimizers.schedules.deserialize(base)
        self.base, self.multiplier, self.step_divisor = base, float(multiplier), int(step_divisor)

    def __call__(self, step):
        if not callable(self.base):
            return self.multiplier * self.base
        return self.multiplier * self.base(step // self.step_divisor)

    def get_config(self):
        base = self.base if not callable(self.base) else keras.optimizers.schedules.serialize(self.base)
        return {"base": base, "multiplier": self.multiplier, "step_divisor": self.step_divisor}


def optimizer_copy(optimizer, lr_mult: float, momentum: Optional[float], step_divisor: int = 1):
    """A new optimizer of `optimizer`'s class and config, learning rate x lr_mult (read at its step count
    // step_divisor), momentum replaced if not None."""
    cfg = optimizer.get_config()
    if lr_mult != 1.0 or step_divisor != 1:
        cfg["learning_rate"] = ScaledSchedule(cfg["learning_rate"], lr_mult, step_divisor)
    if momentum is not None:
        if "momentum" not in cfg:
            raise ValueError(f"disentangler_momentum needs an optimizer with momentum (SGD), got "
                             f"{type(optimizer).__name__}")
        cfg["momentum"] = momentum
    return optimizer.__class__.from_config(cfg)


class AlignmentRamp(keras.callbacks.Callback):
    """Sets `model.ramp` before every batch to DANN's 2/(1+exp(-10p))-1, p = (epoch + batch/steps - start) /
    (epochs - start) clipped to [0, 1]: 0 until epoch `start` (e.g. the end of the eps warm-up), ~1 at the end."""

    def __init__(self, start_epoch: int, epochs: int):
        super().__init__()
        self.start, self.epochs = int(start_epoch), int(epochs)
        self.epoch, self.steps = 0, None

    def value(self, epoch: float) -> float:
        span = max(self.epochs - self.start, 1)
        return float(dann_ramp((epoch - self.start) / span))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.steps = self.params.get("steps") if self.params else None

    def on_train_batch_begin(self, batch, logs=None):
        frac = batch / self.steps if self.steps else 0.0
        self.model.ramp.assign(self.value(self.epoch + frac))
