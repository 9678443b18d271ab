"""Reading a run's checkpoint back: weights and every optimizer's state (iteration count, momentum slots).

`RunCheckpoint` (callbacks.py) writes `checkpoint/epoch-NNNN.weights.h5` with `model.save_weights`; Keras
stores each optimizer there as `<attribute>/vars/<i>`, in the order of `optimizer.variables`: the iteration
counter, then the learning rate *if it is a variable* (a constant rate is, a schedule is not), then the
per-weight slots. When the two sides disagree on that one variable, `model.load_weights` skips the whole
optimizer with a warning, and a resumed run would restart its learning-rate schedule at step 0 and lose its
momentum. `restore_checkpoint` loads what Keras skipped, and checks the result.
"""

from __future__ import annotations

import warnings

import h5py
import keras
import numpy as np


class CheckpointError(ValueError):
    """A checkpoint whose optimizer state cannot be matched to the model's optimizers."""


def restore_checkpoint(model: keras.Model, weights_path: str, expected_iterations: int) -> None:
    """Loads `weights_path` into the compiled `model`, optimizer states included.

    `expected_iterations`: the main optimizer's step count at the checkpoint (epochs done x steps per
    epoch). Raises CheckpointError if, after loading, the main optimizer's iteration count differs from
    it: the learning-rate schedule would otherwise silently restart.
    """
    with warnings.catch_warnings():
        # The one warning Keras gives here ("Skipping variable loading for optimizer ...") is handled below.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(weights_path)
    with h5py.File(weights_path, "r") as f:
        for name in f.keys():
            optimizer = getattr(model, name, None)
            if isinstance(optimizer, keras.optimizers.Optimizer) and "vars" in f[name]:
                saved = [f[name]["vars"][str(i)][()] for i in range(len(f[name]["vars"]))]
                _assign_optimizer_state(name, optimizer, saved)
    got = int(model.optimizer.iterations.numpy())
    if got != expected_iterations:
        raise CheckpointError(f"{weights_path}: the optimizer resumed at step {got}, expected "
                              f"{expected_iterations}; the learning-rate schedule would not continue where "
                              "the run stopped. Start a new run folder")


def _assign_optimizer_state(name: str, optimizer: keras.optimizers.Optimizer, saved: list) -> None:
    """Assigns `saved` (the file's variables of one optimizer) to `optimizer`, allowing the learning rate
    to be a variable on one side only. Index 0 is the iteration counter on both sides; a learning-rate
    variable, where there is one, is index 1; the per-weight slots follow, in the same order."""
    current = list(optimizer.variables)
    if len(saved) == len(current):
        return  # Keras's own load matched the two one for one
    if len(saved) == len(current) + 1:
        saved_slots, current_slots = saved[2:], current[1:]    # a constant rate then, a schedule now
    elif len(saved) + 1 == len(current):
        saved_slots, current_slots = saved[1:], current[2:]    # a schedule then, a constant rate now
    else:
        raise CheckpointError(f"optimizer '{name}' has {len(current)} variables, the checkpoint {len(saved)}: "
                              "it was written by a run with other settings. Start a new run folder")
    for value, variable in zip(saved_slots, current_slots):
        if tuple(np.shape(value)) != tuple(variable.shape):
            raise CheckpointError(f"optimizer '{name}': a slot of shape {np.shape(value)} in the checkpoint "
                                  f"does not fit {variable.path} {tuple(variable.shape)}. Start a new run folder")
    optimizer.iterations.assign(saved[0])
    for value, variable in zip(saved_slots, current_slots):
        variable.assign(value)
