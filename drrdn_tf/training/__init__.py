"""Training: one run from `config.Settings` (`run`: data, model, fit with checkpoints, test, export) and the
callbacks it uses (`callbacks`: eps warm-up, per-epoch checkpoint, NaN guard)."""

from drrdn_tf.training.callbacks import EpsWarmup, NonFiniteGuard, RunCheckpoint, TrainingDiverged, plot_history
from drrdn_tf.training.run import RESUMABLE_CHANGES, RunError, build_model, make_optimizer, run, split_data

__all__ = ["run", "build_model", "make_optimizer", "split_data", "RunError", "RESUMABLE_CHANGES", "EpsWarmup",
           "NonFiniteGuard", "RunCheckpoint", "TrainingDiverged", "plot_history"]
