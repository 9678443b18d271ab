"""A whole training run from `Settings`: data, model, fit with checkpoints, final test, export.

The run folder (`output_dir`):
  config.json      every setting used, the data source and library versions
  checkpoint/      weights + optimizer states after the last finished epoch (`state.json` says which)
  history.json     per-epoch metrics, rewritten after every epoch
  results.json     natural and PGD accuracy on the test split, with the attack's settings
  model.keras      the whole trained model (Keras format)
  savedmodel/      the inference path g -> d_s -> c_s as a SavedModel (see export.py)
Running again with the same folder resumes after the last checkpointed epoch; a finished run is not redone.
Every file is written to a temporary name and renamed, so an interruption never leaves one half-written.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import keras
import tensorflow as tf

from drrdn_tf import config as config_lib, data as data_lib, datasets, distribute
from drrdn_tf.nn import backbones
from drrdn_tf.export import export_savedmodel
from drrdn_tf.files import read_json, write_atomically, write_json
from drrdn_tf.training.callbacks import EpsWarmup, NonFiniteGuard, RunCheckpoint
from drrdn_tf.training.checkpoint import restore_checkpoint
from drrdn_tf.methods import registry


class RunError(ValueError):
    """A run that cannot start or continue as asked; the message says why and what to do."""


# --------------------------------------------------------------------------- model and optimizer

def build_model(s: config_lib.Settings, input_shape, num_classes: int):
    """The method's model on the settings' backbone, with the paper's head."""
    encoder = backbones.build_encoder(s.backbone, input_shape, s.wrn_depth, s.wrn_width)
    return registry.build(s, encoder, num_classes)


def make_optimizer(s: config_lib.Settings, steps_per_epoch: int, learning_rate: Optional[float] = None):
    """SGD with momentum and the step decay of the paper (x lr_decay at each of lr_decay_epochs).

    The optimizer's form depends on lr_decay_epochs only, not on `epochs` (which a resumed run may raise):
    a decay after the last epoch simply never fires."""
    lr = s.learning_rate if learning_rate is None else learning_rate
    boundaries = [int(e * steps_per_epoch) for e in s.lr_decay_epochs if e > 0]
    if boundaries:
        lr = keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries, [lr * s.lr_decay ** i for i in range(len(boundaries) + 1)])
    return keras.optimizers.SGD(lr, momentum=s.momentum, weight_decay=s.weight_decay or None)


# --------------------------------------------------------------------------- the run

def split_data(raw: data_lib.RawDataset, s: config_lib.Settings):
    """(train, val, test) uint8/int32 arrays: val is the last `val_examples` of the training split, held
    out; train the first `train_examples` of the rest; test the first `test_examples` of the test split."""
    xtr, ytr = raw.train
    n_val = min(s.val_examples, len(ytr) // 2)
    n_train = len(ytr) - n_val
    if s.train_examples is not None:
        n_train = min(n_train, s.train_examples)
    if n_train < s.batch_size:
        raise RunError(f"{n_train} training examples are fewer than one batch of {s.batch_size}: "
                       "lower --batch_size or raise --train_examples")
    train = (xtr[:n_train], ytr[:n_train])
    val = (xtr[len(ytr) - n_val:], ytr[len(ytr) - n_val:]) if n_val else None
    xte, yte = raw.test
    n_test = len(yte) if s.test_examples is None else min(s.test_examples, len(yte))
    return train, val, (xte[:n_test], yte[:n_test])


def finished_checkpoint(run_dir: str) -> bool:
    """Whether `run_dir` holds config.json and a checkpoint after its last planned epoch (what
    `load_trained_model` rebuilds the whole model from)."""
    cfg_path, state_path = os.path.join(run_dir, "config.json"), os.path.join(run_dir, "checkpoint", "state.json")
    return (os.path.exists(cfg_path) and os.path.exists(state_path)
            and int(read_json(state_path)["epochs_done"]) >= int(read_json(cfg_path)["settings"]["epochs"]))


def load_trained_model(run_dir: str) -> keras.Model:
    """The whole trained model of a finished run folder, built from its config.json and its last checkpoint
    (`checkpoint/`, weights and optimizer states), for folders that do not hold `model.keras` (it is written
    where the run was trained and not committed; the checkpoint is). The weights are those model.keras would
    hold: the run ends with that checkpoint. Raises RunError when the folder has no finished checkpoint."""
    if not finished_checkpoint(run_dir):
        raise RunError(f"{run_dir}: no finished checkpoint (config.json, and checkpoint/state.json after the last "
                       "planned epoch) to rebuild the model from; rerun the run's training command")
    cfg = read_json(os.path.join(run_dir, "config.json"))
    state = read_json(os.path.join(run_dir, "checkpoint", "state.json"))
    s = config_lib.settings_from_json(cfg["settings"])
    done = int(state["epochs_done"])
    spec = datasets.get(s.dataset)
    model = build_model(s, tuple(spec.image_shape), spec.num_classes)
    steps_per_epoch = int(cfg["train_examples_used"]) // s.batch_size
    model.compile(optimizer=make_optimizer(s, steps_per_epoch), **registry.compile_kwargs(s, model))
    restore_checkpoint(model, os.path.join(run_dir, "checkpoint", state["weights"]), done * steps_per_epoch)
    return model


#: settings a resumed run may change: the number of epochs, and how often the read-only gradient probe runs
RESUMABLE_CHANGES = ("epochs", "probe_every")


def _check_resume(run_dir: str, cfg: dict) -> Optional[dict]:
    """The checkpoint state of `run_dir` (`state.json`: epochs_done, weights, history), or None for a new run;
    refuses a folder holding a run with different settings."""
    state_path = os.path.join(run_dir, "checkpoint", "state.json")
    cfg_path = os.path.join(run_dir, "config.json")
    if not os.path.exists(state_path):
        return None
    if os.path.exists(cfg_path):
        old = read_json(cfg_path).get("settings", {})
        new = cfg["settings"]
        # A setting the old folder does not record (it predates the field) had its default value.
        old = {**{k: config_lib.default_of(k) for k in new if k not in old}, **old}
        if isinstance(old.get("lr_decay_epochs"), tuple):
            old["lr_decay_epochs"] = list(old["lr_decay_epochs"])
        diff = sorted(k for k in set(old) | set(new) if k not in RESUMABLE_CHANGES and old.get(k) != new.get(k))
        if diff:
            details = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in diff)
            raise RunError(f"{run_dir} holds a run with other settings ({details}); rerun with the same "
                           "flags to resume it, or choose another --output_dir")
    return read_json(state_path)


def _tested_results(run_dir: str, epochs_done: int) -> Optional[dict]:
    """The run folder's results.json if it records a test after `epochs_done` epochs, else None."""
    try:
        results = read_json(os.path.join(run_dir, "results.json"))
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) and results.get("epochs_trained") == epochs_done else None


def run(s: config_lib.Settings, output_dir: str, data_dir: Optional[str] = None, download: bool = True,
        verbose="auto", strategy: Optional[tf.distribute.Strategy] = None, callbacks=()) -> dict:
    """Trains (or resumes) one run and writes the run folder. Returns the test results dict.

    `strategy`: a tf.distribute strategy (default: the current one); the model is built and compiled in
    its scope. Under MultiWorkerMirroredStrategy, worker 0 writes `output_dir` and every other worker
    writes its own copy to `output_dir/workers/<index>` (all take part in every collective step).
    A run that has finished `s.epochs` epochs and been tested (its results.json, written last, records them)
    is not touched again: its results are returned. Without results.json a finished run is tested and
    exported again.
    Raises ValueError subclasses (DataError, RunError) for bad data, settings or folders, and
    TrainingDiverged when a loss becomes NaN/Inf.
    """
    config_lib.validate(s)
    strategy = strategy or tf.distribute.get_strategy()
    if not distribute.is_chief(strategy):
        output_dir = os.path.join(output_dir, "workers", str(strategy.cluster_resolver.task_id))
    if s.batch_size % strategy.num_replicas_in_sync:
        raise RunError(f"batch_size {s.batch_size} is not divisible by the {strategy.num_replicas_in_sync} "
                       "replicas: choose a multiple")
    keras.utils.set_random_seed(s.seed)
    raw = data_lib.load_raw(s.dataset, data_dir, download=download)
    (xtr, ytr), val, (xte, yte) = split_data(raw, s)
    num_classes = datasets.get(s.dataset).num_classes
    input_shape = tuple(xtr.shape[1:])
    steps_per_epoch = len(ytr) // s.batch_size

    run_dir = os.path.abspath(output_dir)
    cfg = {"settings": s.to_json(), "data_source": raw.source, "train_examples_used": int(len(ytr)),
           "val_examples_used": int(0 if val is None else len(val[1])), "test_examples_used": int(len(yte)),
           "num_replicas": strategy.num_replicas_in_sync,
           "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": sys.version.split()[0]}}
    state = _check_resume(run_dir, cfg)
    done = int(state["epochs_done"]) if state else 0
    write_json(os.path.join(run_dir, "config.json"), cfg)
    tested = _tested_results(run_dir, done) if done >= s.epochs else None
    if tested is not None:
        print(f"{run_dir} already finished {done} epochs and was tested: nothing to do (delete its results.json "
              "to test and export it again)", flush=True)
        return tested

    with strategy.scope():
        model = build_model(s, input_shape, num_classes)
        model.compile(optimizer=make_optimizer(s, steps_per_epoch), **registry.compile_kwargs(s, model),
                      jit_compile=s.jit_compile)
    history = []
    if done:
        restore_checkpoint(model, os.path.join(run_dir, "checkpoint", state["weights"]), done * steps_per_epoch)
        history = state["history"]
        print(f"Resuming {run_dir} after epoch {done}/{s.epochs}", flush=True)

    train_ds = data_lib.make_dataset(xtr, ytr, s.batch_size, shuffle=True, seed=s.seed, drop_remainder=True)
    val_ds = data_lib.make_dataset(val[0], val[1], max(s.batch_size, 256)) if val is not None else None
    if done < s.epochs:
        model.fit(train_ds, epochs=s.epochs, initial_epoch=done, validation_data=val_ds, verbose=verbose,
                  callbacks=[EpsWarmup(s.eps, s.eps_warmup_epochs), NonFiniteGuard(run_dir), *callbacks,
                             RunCheckpoint(run_dir, history)])
    else:
        print(f"{run_dir} already finished {done} epochs: evaluating and exporting only", flush=True)

    # The final test uses the data set's own attack: the settings' eps, step and steps.
    test_ds = data_lib.make_dataset(xte, yte, max(s.batch_size, 256))
    print(f"Test: natural and PGD-{s.pgd_steps} (eps {s.eps}, step {s.step_size}) accuracy on "
          f"{len(yte)} {s.dataset} test images", flush=True)
    metrics = model.evaluate(test_ds, return_dict=True, verbose=verbose)
    results = {"dataset": s.dataset, "method": s.method, "num_examples": int(len(yte)), "epochs_trained": len(history),
               "accuracy": {"natural": float(metrics["acc"]), f"pgd{s.pgd_steps}": float(metrics["pgd_acc"])},
               "attack": {"name": "pgd", "norm": "linf", "eps": s.eps, "step_size": s.step_size,
                          "steps": s.pgd_steps, "random_start": True, "loss": "ce"}}
    write_atomically(os.path.join(run_dir, "model.keras"), model.save, suffix=".keras")
    export_savedmodel(model, os.path.join(run_dir, "savedmodel"))
    write_json(os.path.join(run_dir, "results.json"), results)  # last: it marks the run as tested and exported
    print(f"natural accuracy {100 * results['accuracy']['natural']:.2f}%  "
          f"PGD-{s.pgd_steps} accuracy {100 * metrics['pgd_acc']:.2f}%  -> {run_dir}", flush=True)
    return results
