#!/usr/bin/env bash
# The paper's Table 4 ablation at the budget of results/mnist/train.sh (full MNIST, PGD-40, SGD 0.01 momentum
# 0.9, batch 128, the 3-epoch eps warm-up, decays after epochs 11, 15, 18): the default DRRDN with the
# mutual-information and reconstruction terms on (drrdn), without MI (drrdn-mi), without REC (drrdn-rec); the
# flags of each come from drrdn_tf/experiments/ablation.py. One run at a time per call, each resumable (rerun it).
#   EPOCHS=10 bash results/mnist/ablation/train.sh drrdn-mi
#   THREADS=1 bash ... & THREADS=1 bash ... &     # two runs side by side, one CPU thread per op each: ~1.3x the
#                                               # images a second of one run on both cores (docs/design_notes.md)
set -euo pipefail
cd "$(dirname "$0")/../../.."
EPOCHS="${EPOCHS:-20}"
for variants in "${@:-drrdn drrdn-mi drrdn-rec}"; do
  for v in $variants; do
    # shellcheck disable=SC2046  # the variant's flags, one word each
    python -m drrdn_tf.train --dataset=mnist $(python -m drrdn_tf.experiments.ablation "$v") \
      --data_dir="${DRRDN_DATA_DIR:-../shared/data}" --epochs="$EPOCHS" --lr_decay_epochs=11,15,18 \
      --output_dir="results/mnist/ablation/$v" --verbose=2 --intra_op_threads="${THREADS:-0}"
  done
done
