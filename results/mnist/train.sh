#!/usr/bin/env bash
# Paper-scale MNIST runs (issue 12's paper-scale check, then issue 13's tables): full MNIST (60,000 training
# images, 1,000 of them held out for validation), SmallCNN, eps 0.3, PGD-40 of step 0.01, SGD 0.01 momentum 0.9,
# batch 128, the 3-epoch eps warm-up (the MNIST default), 20 epochs with the learning rate x0.1 after epochs 11,
# 15 and 18 (the paper's 55/75/90% of its 100 epochs). One run at a time per call, each resumable: rerun this script
# after an interruption and every run continues from its last finished epoch.
#   EPOCHS=10 bash results/mnist/train.sh drrdn madry    # the first 10 epochs only (the schedule is unchanged)
#   THREADS=1 bash ... & THREADS=1 bash ... &     # two runs side by side, one CPU thread per op each: ~1.3x the
#                                               # images a second of one run on both cores (docs/design_notes.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
EPOCHS="${EPOCHS:-20}"
for method in "${@:-drrdn madry trades standard}"; do
  for m in $method; do
    python -m drrdn_tf.train --dataset=mnist --method="$m" --data_dir="${DRRDN_DATA_DIR:-../shared/data}" \
      --epochs="$EPOCHS" --lr_decay_epochs=11,15,18 --output_dir="results/mnist/$m" --verbose=2 --intra_op_threads="${THREADS:-0}"
    python -m drrdn_tf.experiments.paper_scale --runs=results/mnist   # README.md, summary.json, curves.png
    python -m drrdn_tf.experiments.results_section                    # the top-level README's Results
  done
done
