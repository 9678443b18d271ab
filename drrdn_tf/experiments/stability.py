"""The DRRDN stability study: a ladder of variants trained on a cheap MNIST proxy, with Madry beside them.
(Definitions: stability_rungs.py; report: stability_report.py; this module trains, evaluates and is the CLI.)

    python -m drrdn_tf.experiments.stability --data_dir=DIR                      # the whole ladder, 2 seeds
    python -m drrdn_tf.experiments.stability --data_dir=DIR --rungs=madry,drrdn --seeds=0
    python -m drrdn_tf.experiments.stability --data_dir=DIR --report_only       # tables/figure from the folders
    python -m drrdn_tf.experiments.stability --list                             # the rungs and what they change

Every (rung, seed) is one run folder `<output_dir>/runs/<rung>_s<seed>` written by `training.run`, so an
interrupted study resumes where it stopped (rerun the same command) and a finished run is not retrained.
After training, each run's exported SavedModel is attacked on the first `test_examples` test images with
PGD-40 (step 0.01, the paper's evaluation attack, fixed seed) -> `eval.json`, and, for the rungs named by
--autoattack, with the `autoattack` preset -> `autoattack.json`. The study then writes
`<output_dir>/summary.json` (every figure of the table, per run), `table.md` and `curves.png` (validation
accuracy natural and under PGD per epoch, one line per run).

Steadiness (the issue's criterion), per run, on validation PGD accuracy from the first epoch at full eps:
the largest drop from one epoch to the next ("max drop") and last minus best ("last - best"); a run is
steady when both are within 2 points.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from absl import flags

from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app
from drrdn_tf.evaluation.settings import TINY_AUTOATTACK_BUDGET
from drrdn_tf.experiments.stability_report import table_markdown, write_report
from drrdn_tf.experiments.steadiness import steadiness
from drrdn_tf.experiments.stability_rungs import EVAL_STEP, EVAL_STEPS, LADDER, RUNGS, run_dir, settings_of

#: The study's parts: rungs and budget (stability_rungs), the report (stability_report), the runner (here).
__all__ = ["study", "evaluate_run", "steadiness", "write_report", "settings_of", "RUNGS"]

FLAGS = flags.FLAGS
flags.DEFINE_list("rungs", list(LADDER), "rungs to train and report, in order (see --list)")
flags.DEFINE_list("seeds", ["0", "1"], "seeds per rung")
flags.DEFINE_string("output_dir", "results/stability", "study folder (run folders go to <output_dir>/runs)")
flags.DEFINE_string("data_dir", None, "folder holding mnist.npz (default: $DRRDN_DATA_DIR)")
flags.DEFINE_list("autoattack", [], "rungs whose models also get the autoattack preset")
flags.DEFINE_integer("epochs", None, "override the proxy's epochs")
flags.DEFINE_boolean("tiny", False, "a few batches per run (CI): checks the study's code paths only")
flags.DEFINE_boolean("report_only", False, "train nothing: tables and figure from every run folder there is")
flags.DEFINE_boolean("list", False, "print the rungs and what each changes, then exit")


def test_split(s: config_lib.Settings, data_dir: Optional[str]):
    """The first `test_examples` test images (float32 in [0, 1]) and labels."""
    from drrdn_tf import data as data_lib
    raw = data_lib.load_raw(s.dataset, data_dir, download=False)
    n = s.test_examples or len(raw.test.labels)
    return data_lib.to_float(raw.test.images[:n]), raw.test.labels[:n]


#: the autoattack preset's budget in a TINY study (the real study uses AutoAttack's standard budget)
TINY_AUTOATTACK = TINY_AUTOATTACK_BUDGET


def evaluate_run(folder: str, s: config_lib.Settings, data_dir: Optional[str], autoattack: bool,
                 tiny: bool = False) -> None:
    """PGD-40 (and optionally the autoattack preset) on the run's exported SavedModel; JSON in the folder."""
    import numpy as np

    from drrdn_tf import attacks, evaluation
    from drrdn_tf.files import write_json
    images, labels = None, None
    model_fn = None
    eval_path, aa_path = os.path.join(folder, "eval.json"), os.path.join(folder, "autoattack.json")
    if not os.path.exists(eval_path) or (autoattack and not os.path.exists(aa_path)):
        images, labels = test_split(s, data_dir)
        model_fn, _ = evaluation.savedmodel_fn(os.path.join(folder, "savedmodel"))
    if not os.path.exists(eval_path):
        runner = evaluation.Runner(model_fn, images, labels, batch_size=250, seed=0)
        attack = attacks.PGD(model_fn, eps=s.eps, step_size=EVAL_STEP, steps=EVAL_STEPS, seed=0)
        natural = runner.natural()
        robust = runner.run(attack, np.flatnonzero(natural), title=f"PGD-{EVAL_STEPS}")
        write_json(eval_path, {"num_examples": int(len(labels)), "natural": float(natural.mean()),
                               f"pgd{EVAL_STEPS}": float(robust.mean()), "attack": attack.get_config(),
                               "examples": "the first num_examples images of the test split"})
    if autoattack and not os.path.exists(aa_path):
        result = evaluation.evaluate(model_fn, images, labels, s.dataset, preset="autoattack", seed=0,
                                     per_example=False, model=os.path.basename(folder),
                                     autoattack_budget=TINY_AUTOATTACK if tiny else None)
        write_json(aa_path, result)


# --------------------------------------------------------------------------- the command

def study(rungs: List[str], seeds: List[int], output_dir: str, data_dir: Optional[str], autoattack=(),
          tiny: bool = False, epochs: Optional[int] = None, report_only: bool = False) -> List[dict]:
    """Trains (or resumes) and evaluates every (rung, seed), seeds in the inner loop, then writes the report."""
    from drrdn_tf import training
    os.makedirs(output_dir, exist_ok=True)
    total = len(rungs) * len(seeds)
    for i, (rung, seed) in enumerate((r, s) for r in rungs for s in seeds):
        if report_only:
            break
        s = settings_of(rung, seed, tiny, epochs)
        folder = run_dir(output_dir, rung, seed)
        print(f"[{i + 1}/{total}] {rung} seed {seed}: {RUNGS[rung].description} -> {folder}", flush=True)
        training.run(s, folder, data_dir=data_dir, download=False, verbose=2)
        evaluate_run(folder, s, data_dir, autoattack=rung in autoattack, tiny=tiny)
        write_report(output_dir)
    rows = write_report(output_dir)
    print(table_markdown(rows), flush=True)
    return rows


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if FLAGS.list:
        for name, rung in RUNGS.items():
            print(f"{name:16s} {rung.description}  {rung.overrides}")
        return
    unknown = [r for r in FLAGS.rungs + FLAGS.autoattack if r not in RUNGS]
    if unknown:
        fail(f"unknown rung(s) {', '.join(unknown)}: see --list")
    try:
        seeds = [int(s) for s in FLAGS.seeds]
    except ValueError:
        fail(f"--seeds must be integers, got {FLAGS.seeds}")
    try:
        study(FLAGS.rungs, seeds, FLAGS.output_dir, FLAGS.data_dir, FLAGS.autoattack, FLAGS.tiny, FLAGS.epochs,
              FLAGS.report_only)
    except ValueError as e:
        fail(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume the study", file=sys.stderr, flush=True)
        sys.exit(130)


if __name__ == "__main__":
    run_app(main)
