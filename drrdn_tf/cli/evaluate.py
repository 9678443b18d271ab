"""Command line: evaluate any exported SavedModel against the attack suite.

  python -m drrdn_tf.evaluate --model=runs/mnist_drrdn/savedmodel --dataset=mnist --preset=paper \\
      --num_examples=1000 --output=results.json [--surrogates=runs/mnist_madry/savedmodel,...]

The model is any SavedModel with the `serving_default` contract of `drrdn_tf.export` (input `images` float32
[B, H, W, C] in [0, 1], output `logits`). Examples are the first --num_examples of the test split, so runs
are comparable. Presets (see `drrdn_tf.evaluation`): paper (Natural, FGSM, PGD40, PGD100, CW40, CW100 and a
transfer column per surrogate), autoattack (APGD-CE, APGD-T, Square, per-example worst case) and quick
(Natural, FGSM, PGD10). Prints the table (accuracies in %) and the masking report, and writes the results
as JSON (accuracies as fractions). Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import os

from absl import flags, logging

from drrdn_tf.cli.common import fail, run_app

from drrdn_tf import datasets

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "SavedModel folder with a serving_default signature (images -> logits)")
flags.DEFINE_string("dataset", "demo", f"one of {', '.join(datasets.NAMES)} (demo: embedded MNIST slice)")
flags.DEFINE_string("data_dir", None, "folder holding <dataset>.npz (default: $DRRDN_DATA_DIR)")
flags.DEFINE_boolean("download", True, "let tensorflow-datasets download the data set if nothing else has it")
flags.DEFINE_enum("preset", "paper", ["paper", "autoattack", "quick"], "which attacks to run")
flags.DEFINE_integer("num_examples", 1000, "evaluate on the first N test images")
flags.DEFINE_integer("batch_size", 256, "examples per attack batch")
flags.DEFINE_string("output", None, "results JSON file (default: evaluation_<dataset>_<preset>.json)")
flags.DEFINE_list("surrogates", [], "comma-separated SavedModel folders: one transfer column per surrogate")
flags.DEFINE_integer("seed", 0, "seed of the attacks' random starts")
flags.DEFINE_boolean("masking", True, "run the gradient-masking checks")
flags.DEFINE_integer("masking_examples", 200, "examples used by the masking checks' extra attacks")
flags.DEFINE_float("masking_tolerance", 0.02, "tolerance of the masking checks (fraction of examples)")
flags.DEFINE_boolean("per_example", True, "store per-example correctness in the JSON")
flags.DEFINE_boolean("progress", True, "show progress bars")
flags.DEFINE_boolean("resume", True, "save each finished attack column to <output>.progress.json, so that rerunning "
                     "the same command after an interruption continues after the last finished column")


def check_flags() -> None:
    if FLAGS.model is None:
        fail("--model=PATH is required (a SavedModel folder, e.g. runs/<run>/savedmodel)")
    if FLAGS.dataset not in datasets.NAMES:
        fail(f"unknown dataset {FLAGS.dataset!r}: choose one of {', '.join(datasets.NAMES)}")
    for name in ("num_examples", "batch_size", "masking_examples"):
        if getattr(FLAGS, name) < 1:
            fail(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")
    if not 0 <= FLAGS.masking_tolerance <= 1:
        fail(f"--masking_tolerance must be in [0, 1], got {FLAGS.masking_tolerance}")
    for path in [FLAGS.model] + list(FLAGS.surrogates):
        if not os.path.exists(path):
            fail(f"model path {path} does not exist")


def load_model(path: str, what: str):
    """(model_fn, name) for a SavedModel that takes the data set's images and returns its classes' logits
    (`evaluation.load_checked`); anything else is a one-line error."""
    from drrdn_tf import evaluation
    try:
        return evaluation.load_checked(path, FLAGS.dataset, what)
    except ValueError as e:
        fail(str(e))


def main(argv) -> None:
    logging.set_verbosity(logging.ERROR)
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    check_flags()

    import numpy as np
    import tensorflow as tf

    from drrdn_tf import data as data_lib
    from drrdn_tf import evaluation
    from drrdn_tf.files import write_json

    tf.get_logger().setLevel("ERROR")  # the retracing notices of the attacks' separate tf.functions
    try:
        raw = data_lib.load_raw(FLAGS.dataset, FLAGS.data_dir, download=FLAGS.download)
    except ValueError as e:
        fail(str(e))
    n = min(FLAGS.num_examples, len(raw.test.labels))
    images = data_lib.to_float(raw.test.images[:n])
    labels = raw.test.labels[:n].astype(np.int32)

    model_fn, name = load_model(FLAGS.model, "model")
    try:
        surrogates = evaluation.load_surrogates(FLAGS.surrogates, FLAGS.dataset)
    except ValueError as e:
        fail(str(e))

    output = FLAGS.output or f"evaluation_{FLAGS.dataset}_{FLAGS.preset}.json"
    print(f"Evaluating {os.path.abspath(FLAGS.model)} on the first {n} {FLAGS.dataset} test images "
          f"(preset {FLAGS.preset})", flush=True)
    results = evaluation.evaluate(
        model_fn, images, labels, FLAGS.dataset, preset=FLAGS.preset, batch_size=FLAGS.batch_size,
        surrogates={k: fn for k, (fn, _) in surrogates.items()}, seed=FLAGS.seed, masking=FLAGS.masking,
        masking_examples=FLAGS.masking_examples, masking_tolerance=FLAGS.masking_tolerance,
        per_example=FLAGS.per_example, progress=FLAGS.progress, model=name,
        log=lambda m: print(m, flush=True), progress_file=output + ".progress.json" if FLAGS.resume else None)
    results.update(evaluation.provenance(FLAGS.model, surrogates, raw.source))
    write_json(output, results)
    print(evaluation.format_table(results), flush=True)
    print(f"-> {os.path.abspath(output)}", flush=True)
    from drrdn_tf import plots
    picture = os.path.splitext(output)[0] + ".png"
    try:
        plots.plot_evaluation({name: results}, picture)
        print(f"-> {os.path.abspath(picture)}", flush=True)
    except plots.PlotUnavailable as e:
        print(f"(no {picture}: {e})", flush=True)


def run() -> None:
    """Console-script entry point."""
    run_app(main)


if __name__ == "__main__":
    run()
