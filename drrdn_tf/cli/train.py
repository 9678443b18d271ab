"""Command line: train a robust model and write its run folder.

  python -m drrdn_tf.train                                # DRRDN on the embedded MNIST demo set, offline
  python -m drrdn_tf.train --dataset=mnist --data_dir=DIR --epochs=100 --output_dir=runs/mnist

Defaults are the paper's settings for the chosen --dataset (see config.py); every one can be overridden.
Rerunning a command with the same --output_dir resumes it. Bad input exits with status 2 and one line.
"""

from __future__ import annotations

import dataclasses
import sys

from absl import flags, logging

from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "demo", f"one of {', '.join(config_lib.DATASETS)} (demo: embedded MNIST slice)")
flags.DEFINE_string("method", "drrdn", f"one of {', '.join(config_lib.METHODS)}")
flags.DEFINE_string("data_dir", None, "folder holding <dataset>.npz (default: $DRRDN_DATA_DIR)")
flags.DEFINE_string("output_dir", None, "run folder (default: runs/<dataset>_<method>)")
flags.DEFINE_boolean("download", True, "let tensorflow-datasets download the data set if nothing else has it")
flags.DEFINE_string("strategy", "default", "default (one device), mirrored (all local GPUs, or --devices) or "
                    "multiworker (MultiWorkerMirroredStrategy from TF_CONFIG)")
flags.DEFINE_list("devices", None, "devices for --strategy=mirrored, e.g. /gpu:0,/gpu:1 or /cpu:0,/cpu:1")
flags.DEFINE_integer("cpu_devices", None, "split the CPU into N logical devices (to run replicas without GPUs)")
flags.DEFINE_integer("intra_op_threads", 0, "CPU threads per op (0: TensorFlow's default, one per core); 1 lets "
                     "two runs share a 2-core machine faster than one after the other")
flags.DEFINE_integer("inter_op_threads", 0, "CPU threads for ops run side by side (0: TensorFlow's default)")
flags.DEFINE_string("logdir", None, "also write TensorBoard logs (keras.callbacks.TensorBoard) to this folder")
flags.DEFINE_string("verbose", "auto", "Keras verbosity: auto, 0, 1 (progress bar) or 2 (one line per epoch)")
# One flag per config.Settings field (its help, None: keep the data set's default), typed by the field.
_DEFINE = {"int": flags.DEFINE_integer, "Optional[int]": flags.DEFINE_integer, "float": flags.DEFINE_float,
           "Optional[float]": flags.DEFINE_float, "str": flags.DEFINE_string, "bool": flags.DEFINE_boolean,
           "Tuple[int, ...]": flags.DEFINE_list}
_SETTINGS = [f for f in dataclasses.fields(config_lib.Settings) if f.name not in ("dataset", "method")]
for _field in _SETTINGS:
    _DEFINE[str(_field.type)](_field.name, None, _field.metadata["help"])
_OVERRIDES = ("method",) + tuple(f.name for f in _SETTINGS if f.name != "lr_decay_epochs")


def settings_from_flags() -> config_lib.Settings:
    overrides = {name: getattr(FLAGS, name) for name in _OVERRIDES}
    if FLAGS.lr_decay_epochs is not None:
        try:
            overrides["lr_decay_epochs"] = tuple(int(e) for e in FLAGS.lr_decay_epochs)
        except ValueError:
            fail(f"--lr_decay_epochs must be a comma-separated list of integers, got {FLAGS.lr_decay_epochs}")
    return config_lib.settings_for(FLAGS.dataset, **overrides)


def _verbosity(value: str):
    if value not in ("auto", "0", "1", "2"):
        fail(f"--verbose must be auto, 0, 1 or 2, got {value!r}")
    return value if value == "auto" else int(value)


def main(argv) -> None:
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines (SavedModel writing) drown the results
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    try:
        settings = settings_from_flags()
    except ValueError as e:
        fail(str(e))
    verbose = _verbosity(FLAGS.verbose)
    output_dir = FLAGS.output_dir or f"runs/{settings.dataset}_{settings.method}"
    from drrdn_tf import distribute, training  # imports TensorFlow: after the flags are known to be good

    try:
        distribute.set_cpu_threads(FLAGS.intra_op_threads, FLAGS.inter_op_threads)
        if FLAGS.cpu_devices:
            distribute.split_cpu(FLAGS.cpu_devices)
        strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.devices)
        callbacks = []
        if FLAGS.logdir:
            import importlib.util

            import keras
            if importlib.util.find_spec("tensorboard") is None:
                fail("--logdir writes TensorBoard logs, and TensorBoard is not installed: "
                     "pip install tensorboard (or drrdn_tf[tensorboard])")
            callbacks.append(keras.callbacks.TensorBoard(FLAGS.logdir))
        training.run(settings, output_dir, data_dir=FLAGS.data_dir, download=FLAGS.download, verbose=verbose,
                     strategy=strategy, callbacks=callbacks)
    except ValueError as e:  # DataError, RunError, bad settings: the message is the whole story
        fail(str(e))
    except training.TrainingDiverged as e:
        fail(str(e), status=1)
    except KeyboardInterrupt:
        print(f"\ninterrupted: rerun the same command to resume {output_dir} from its last finished epoch",
              file=sys.stderr, flush=True)
        sys.exit(130)


def run() -> None:
    """Console-script entry point."""
    run_app(main)


if __name__ == "__main__":
    run()
