#!/usr/bin/env bash
# Evaluates the four demo models (see train_all.sh) on the first 1000 images of the real MNIST test set with the
# paper's protocol (Natural, FGSM, PGD40, PGD100, CW40, CW100 at eps 0.3, step 0.01, plus transfer from each
# other model), and DRRDN and Madry under the AutoAttack-style preset on the first 200; then draws the results
# and the training curves (PNG) and writes README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DRRDN_DATA_DIR="${DRRDN_DATA_DIR:-../shared/data}"
methods=(standard madry trades drrdn)
for m in "${methods[@]}"; do
  out="results/demo/$m/paper_mnist1000.json"
  [ -f "$out" ] && continue  # resumable: an existing result is kept
  surrogates=$(for s in "${methods[@]}"; do if [ "$s" != "$m" ]; then printf 'runs/demo_%s/savedmodel,' "$s"; fi; done)
  python -m drrdn_tf.evaluate --model="runs/demo_$m/savedmodel" --dataset=mnist --preset=paper --num_examples=1000 \
    --surrogates="${surrogates%,}" --noper_example --noprogress --output="$out"
done
for m in drrdn madry; do
  [ -f "results/demo/$m/autoattack_mnist200.json" ] && continue
  python -m drrdn_tf.evaluate --model="runs/demo_$m/savedmodel" --dataset=mnist --preset=autoattack \
    --num_examples=200 --noper_example --noprogress --output="results/demo/$m/autoattack_mnist200.json"
done
labels=Standard,Madry,TRADES,DRRDN
python -m drrdn_tf.plot results/demo/{standard,madry,trades,drrdn}/paper_mnist1000.json --labels=$labels \
  --output=results/demo/attacks.png
python -m drrdn_tf.plot results/demo/{standard,madry,trades,drrdn} --labels=$labels --output=results/demo/training_curves.png
python results/demo/make_table.py > results/demo/README.md
