"""Robustness evaluation: the paper's protocol, an AutoAttack-grade worst case, transfer and masking checks.

`evaluate(model_fn, images, labels, dataset, preset)` runs one preset on the given examples and returns the
results dict that `python -m drrdn_tf.evaluate` writes to JSON:

  paper       the columns of the paper's Tables 1/2 with its settings per data set: Natural, FGSM (the "x10"
              step), PGD40, PGD100, CW40, CW100 (L_inf, random start), plus a transfer column per surrogate.
  autoattack  the per-example worst case of APGD-CE, APGD-T (targeted DLR, 9 targets) and Square (5,000
              queries): each attack only sees the examples all previous ones failed on. Accuracies are
              cumulative (after APGD-CE, after APGD-T, after Square = the final "autoattack" number).
  quick       natural, FGSM (step eps) and PGD-10 (step eps/4): a cheap smoke test.

`add_transfer(results, model_fn, images, labels, surrogates)` adds transfer columns to an earlier results dict
(a surrogate trained after the model was evaluated) without rerunning its other columns.

Conventions. An example counts as robust to an attack only if the model classifies it correctly both at x
and at the attack's x' (the eps-ball contains x): so robust accuracy never exceeds natural accuracy, and only
naturally correct examples are attacked. Every x' is checked to lie in the eps-ball and in [0, 1] (a
violation is a bug and raises). Batches have a fixed size (a smaller remainder is padded, by repeating its
last example, to the batch size or the next power of two), so each attack is traced at most twice per model
(the full batch and one relaxed-shape trace), never per batch. Random starts are seeded by (seed, batch index): two
attacks that differ only in steps or restarts start from the same points, which makes PGD100 <= PGD40 and
CW100 <= CW40 hold per example (see `attacks.PGD`).

The masking report (Carlini et al. 2019, "On evaluating adversarial robustness") checks that
  - accuracy under PGD is non-increasing in eps and reaches ~0 at eps = 1 (an unbounded attack),
  - iterative attacks are at least as strong as single-step FGSM,
  - white-box attacks are at least as strong as transfer from each surrogate,
  - the gradient-free Square attack does not find many examples every gradient-based attack missed,
  - more PGD steps never help the model;
each with a tolerance (default 2 percentage points, on the same examples). Violations become warnings.

Layout: `settings` (presets, the data sets' attack settings, budgets), `models` (SavedModel loading, checked
against a data set; surrogates' column names; provenance), `runner` (`Runner`: batched, padded, seeded attack
runs with eps-ball checks), `protocol` (`evaluate`, `add_transfer`), `masking` (`masking_report`, one function per check),
`report` (`format_table`), `progress` (`SavedColumns`: an interrupted evaluation resumes after its last
finished column).
"""

from drrdn_tf.evaluation.masking import masking_report, warnings_of
from drrdn_tf.evaluation.models import (check_input_shape, load_checked, load_surrogates, model_name, provenance,
                                        savedmodel_fn)
from drrdn_tf.evaluation.protocol import Column, add_transfer, evaluate, paper_columns, quick_columns
from drrdn_tf.evaluation.report import format_masking, format_table
from drrdn_tf.evaluation.runner import Runner, accuracy
from drrdn_tf.evaluation.settings import (AUTOATTACK_BUDGET, MASKING_SETTINGS, PRESETS, TINY_AUTOATTACK_BUDGET,
                                          settings_for, transfer_settings)

__all__ = ["evaluate", "add_transfer", "masking_report", "format_table", "Runner", "savedmodel_fn", "check_input_shape",
           "settings_for", "PRESETS", "model_name",
           # the other module-level names of the former evaluation.py, and the split's new helpers
           "Column", "paper_columns", "quick_columns", "transfer_settings", "MASKING_SETTINGS", "AUTOATTACK_BUDGET",
           "accuracy", "warnings_of", "format_masking",
           # SavedModels checked against a data set, named surrogates, provenance (shared by the two CLIs)
           "load_checked", "load_surrogates", "provenance", "TINY_AUTOATTACK_BUDGET"]
