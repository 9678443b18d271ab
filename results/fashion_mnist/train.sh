#!/usr/bin/env bash
# Fashion-MNIST runs for issue 13: all 60,000 training images (the last 1,000 held out for validation),
# SmallCNN, eps 0.1, PGD-40 of step 0.01 (the data set's registry entry), SGD 0.01 momentum 0.9, batch 128, the
# 3-epoch eps warm-up, EPOCHS epochs (default 20, MNIST's budget) with the learning rate x0.1 after 55, 75 and
# 90% of them (the paper's 55/75/90 of 100). One budget for the four methods; one run at a time per call, each
# resumable: rerun this script after an interruption and every run continues from its last finished epoch.
#   bash results/fashion_mnist/train.sh                 # standard, madry, trades, drrdn in turn
#   bash results/fashion_mnist/train.sh drrdn madry     # some of them
#   THREADS=1 bash ... & THREADS=1 bash ... &     # two runs side by side, one CPU thread per op each: ~1.3x the
#                                               # images a second of one run on both cores (docs/design_notes.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
EPOCHS="${EPOCHS:-20}"
DECAYS="$(python -c "print(','.join(str(round($EPOCHS * f)) for f in (0.55, 0.75, 0.9)))")"
for method in "${@:-standard madry trades drrdn}"; do
  for m in $method; do
    python -m drrdn_tf.train --dataset=fashion_mnist --method="$m" --data_dir="${DRRDN_DATA_DIR:-../shared/data}" \
      --epochs="$EPOCHS" --lr_decay_epochs="$DECAYS" --batch_size=128 --output_dir="results/fashion_mnist/$m" \
      --verbose=2 --intra_op_threads="${THREADS:-0}"
    python -m drrdn_tf.experiments.paper_scale --runs=results/fashion_mnist   # README.md, summary.json, curves.png
    python -m drrdn_tf.experiments.results_section                            # the top-level README's Results
  done
done
