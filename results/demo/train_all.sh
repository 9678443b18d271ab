#!/usr/bin/env bash
# Trains the four methods on the embedded demo set (6,000 real MNIST training images; the demo schedule:
# SmallCNN, PGD-10 of 0.05 at eps 0.3 ramped over 3 epochs, 8 epochs, SGD 0.01) into runs/demo_<method>/ and
# copies each run's config, history and results here. Resumable: rerun to continue after an interruption.
set -euo pipefail
cd "$(dirname "$0")/../.."
for method in drrdn standard madry trades; do
  python -m drrdn_tf.train --method="$method" --output_dir="runs/demo_$method" --verbose=2
  mkdir -p "results/demo/$method"
  cp "runs/demo_$method/config.json" "runs/demo_$method/history.json" "runs/demo_$method/results.json" \
     "results/demo/$method/"
done
