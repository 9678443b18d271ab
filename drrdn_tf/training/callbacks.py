"""The callbacks of a training run: the eps warm-up, the per-epoch checkpoint, the NaN guard."""

from __future__ import annotations

import os
import time
from typing import Optional

import keras
import numpy as np

from drrdn_tf.files import write_atomically, write_json


class EpsWarmup(keras.callbacks.Callback):
    """Ramps the training attack's eps linearly from eps/warmup to eps over the first `warmup` epochs."""

    def __init__(self, eps: float, warmup: int):
        super().__init__()
        self.eps, self.warmup = eps, warmup

    def eps_at(self, epoch: int) -> float:
        return self.eps if self.warmup <= 0 else self.eps * min(1.0, (epoch + 1) / self.warmup)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.train_eps.assign(self.eps_at(epoch))


class RunCheckpoint(keras.callbacks.Callback):
    """After every epoch: weights and optimizer states, then `state.json`, then `history.json`.

    The weights go to a new file named for the epoch; `state.json` (the commit point, written atomically)
    names that file and holds the history; only then are older weight files removed. A kill at any
    moment therefore leaves a complete, consistent checkpoint: the previous one or the new one.
    """

    def __init__(self, run_dir: str, history: list):
        super().__init__()
        self.run_dir, self.history = run_dir, history
        self.ckpt_dir = os.path.join(run_dir, "checkpoint")
        self._t0 = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        write_atomically(os.path.join(self.ckpt_dir, name), self.model.save_weights, suffix=".weights.h5")
        entry = {"epoch": epoch + 1, "seconds": round(time.time() - self._t0, 2),
                 "train_eps": float(self.model.train_eps.numpy()),
                 **{k: float(v) for k, v in (logs or {}).items()}}
        self.history.append(entry)
        write_json(os.path.join(self.ckpt_dir, "state.json"),
                   {"epochs_done": epoch + 1, "weights": name, "history": self.history})
        for old in os.listdir(self.ckpt_dir):
            if old.endswith(".weights.h5") and old != name:
                os.remove(os.path.join(self.ckpt_dir, old))
        write_json(os.path.join(self.run_dir, "history.json"), {"epochs": self.history})
        plot_history(self.run_dir, self.history)


_plot_failures: set = set()   # the reasons already printed by plot_history (each once per process)


def plot_history(run_dir: str, history: list) -> Optional[str]:
    """Draws `history.png` (training curves, drrdn_tf.plots) in the run folder; without matplotlib, or if
    drawing fails, says why (once) and returns None: a plot never stops a training run."""
    from drrdn_tf import plots
    try:
        return plots.plot_training({os.path.basename(os.path.normpath(run_dir)): history},
                                   os.path.join(run_dir, "history.png"))
    except Exception as e:  # noqa: BLE001 - the checkpoint is written; the picture is a convenience
        if str(e) not in _plot_failures:
            _plot_failures.add(str(e))
            print(f"(no history.png: {e})", flush=True)
        return None


class TrainingDiverged(RuntimeError):
    """A loss term became NaN or Inf; the message names it."""


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose metrics (every loss term) are not finite.

    Raising here happens before the epoch's checkpoint is written, so the last good checkpoint stays.
    """

    def __init__(self, run_dir: str):
        super().__init__()
        self.run_dir = run_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if not np.isfinite(float(v))}
        if bad:
            raise TrainingDiverged(
                f"non-finite loss term(s) {', '.join(f'{k}={v}' for k, v in bad.items())} at epoch "
                f"{self.epoch + 1}, batch {batch + 1}: training stopped; "
                + (f"the last good checkpoint (epoch {self.epoch}) is kept in {self.run_dir}" if self.epoch
                   else "no epoch had finished, so there is no checkpoint")
                + ". Lower the learning rate or lambda_mi/lambda_rec "
                "and start a new run folder")
