"""Command line: train a robust model and write its run folder.

  python -m drrdn_tf.train                                # DRRDN on the embedded MNIST demo set, offline
  python -m drrdn_tf.train --dataset=mnist --data_dir=DIR --epochs=100 --output_dir=runs/mnist

Defaults are the paper's settings for the chosen --dataset (see config.py); every one can be overridden.
Rerunning a command with the same --output_dir resumes it. Bad input exits with status 2 and one line.
"""

from __future__ import annotations

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
flags.DEFINE_string("verbose", "auto", "Keras verbosity: auto, 0, 1 (progress bar) or 2 (one line per epoch)")
# Overrides of the per-data-set defaults (None: keep the default).
flags.DEFINE_string("backbone", None, "small_cnn or wide_resnet")
flags.DEFINE_integer("wrn_depth", None, "WRN depth (6n+4)")
flags.DEFINE_integer("wrn_width", None, "WRN widening factor")
flags.DEFINE_float("eps", None, "L_inf radius of the training/validation/test PGD")
flags.DEFINE_float("step_size", None, "PGD step size")
flags.DEFINE_integer("pgd_steps", None, "PGD steps")
flags.DEFINE_integer("eps_warmup_epochs", None, "ramp the training eps linearly over this many epochs")
flags.DEFINE_integer("epochs", None, "training epochs")
flags.DEFINE_integer("batch_size", None, "global batch size")
flags.DEFINE_float("learning_rate", None, "initial SGD learning rate")
flags.DEFINE_float("momentum", None, "SGD momentum")
flags.DEFINE_float("weight_decay", None, "SGD weight decay")
flags.DEFINE_list("lr_decay_epochs", None, "epochs after which the learning rate is multiplied by lr_decay")
flags.DEFINE_float("lr_decay", None, "learning-rate decay factor")
flags.DEFINE_float("mine_learning_rate", None, "Adam learning rate of MINE's statistics network")
flags.DEFINE_float("lambda_mi", None, "weight of the MI term (Eq. 11); 0 = off")
flags.DEFINE_float("lambda_rec", None, "weight of the reconstruction term (Eq. 11); 0 = off")
flags.DEFINE_float("trades_beta", None, "TRADES' KL weight")
# DRRDN's stability knobs (DRRDN's docstring says which parameters each moves).
_DRRDN_FLAGS = {
    "lambda_adv": (flags.DEFINE_float, "weight of L_ADV (Eq. 7, moves g and d_s)"),
    "lambda_ent": (flags.DEFINE_float, "weight of L_ENT (Eq. 8, moves g and d_i)"),
    "bc_encoder_weight": (flags.DEFINE_float, "scale of L_BC's gradient into the encoder (Eq. 6); 0 = none"),
    "ce_adv_weight": (flags.DEFINE_float, "alpha in L_CE = (1-alpha) CE(x) + alpha CE(x') (Eq. 4: 0.5)"),
    "alignment": (flags.DEFINE_string, "L_ADV's form: confusion, minimax (as printed) or one_sided"),
    "alignment_ramp": (flags.DEFINE_string, "none, or dann: L_ADV ramped in from the end of the eps warm-up"),
    "formulation": (flags.DEFINE_string, "alternating (Algorithm 1's three updates) or single (one pass)"),
    "disentangler_lr_mult": (flags.DEFINE_float, "learning-rate multiplier of the disentangler update"),
    "disentangler_momentum": (flags.DEFINE_float, "momentum of the disentangler update (default: --momentum)"),
    "discriminator_spectral_norm": (flags.DEFINE_boolean, "spectral-normalise the domain discriminator c_i"),
    "discriminator_steps": (flags.DEFINE_integer, "updates of c_i per training step"),
    "mine_ema": (flags.DEFINE_float, "MINE moving-average rate for the bias-corrected gradient (0 = off)"),
    "probe_every": (flags.DEFINE_integer, "steps between gradient-norm probes on the encoder (0 = off)"),
}
assert tuple(_DRRDN_FLAGS) == config_lib.DRRDN_KNOBS, "one flag per DRRDN knob of config.Settings"
for _name, (_define, _help) in _DRRDN_FLAGS.items():
    _define(_name, None, _help)
flags.DEFINE_integer("train_examples", None, "use the first N training images")
flags.DEFINE_integer("val_examples", None, "held-out training images for per-epoch validation")
flags.DEFINE_integer("test_examples", None, "final test on the first N test images (default: all)")
flags.DEFINE_integer("seed", None, "random seed")
flags.DEFINE_string("jit_compile", None, "auto (XLA on GPU/TPU only), true or false")

_OVERRIDES = ("method", "backbone", "wrn_depth", "wrn_width", "eps", "step_size", "pgd_steps", "eps_warmup_epochs",
              "epochs", "batch_size", "learning_rate", "momentum", "weight_decay", "lr_decay", "mine_learning_rate",
              "lambda_mi", "lambda_rec", "trades_beta", "train_examples", "val_examples", "test_examples", "seed",
              "jit_compile") + tuple(_DRRDN_FLAGS)


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
        if FLAGS.cpu_devices:
            distribute.split_cpu(FLAGS.cpu_devices)
        strategy = distribute.make_strategy(FLAGS.strategy, FLAGS.devices)
        training.run(settings, output_dir, data_dir=FLAGS.data_dir, download=FLAGS.download, verbose=verbose,
                     strategy=strategy)
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
