"""How much z_s and z_i share, measured after training: an independent MINE estimate of I(z_s; z_i).

    python -m drrdn_tf.experiments.mutual_information --dataset=mnist --data_dir=../shared/data \
        --models=results/mnist/drrdn,results/mnist/ablation/drrdn,results/mnist/ablation/drrdn-mi \
        --output=results/mnist/ablation/mutual_information.json

Table 4 asks whether the MI term (lambda_mi, Eq. 9) helps; this asks whether it did what it is for. The number
DRRDN logs while training (`mi`) is its own T's bound on one batch, taken in a min-max game whose two sides have
different optimisers and schedules, so it can rise when T gains on the disentanglers (e.g. after their learning
rate decays) without the representations sharing more. Here every model gets the same referee: a fresh
statistics network of the same shape, trained to convergence on the model's frozen representations, scored on
images it did not train on.

Samples: (z_s, z_i) of natural images. T trains on the training images' pairs (their last tenth picks its
number of steps) and the bound is the test images' (`estimate`). The model's own MINE also saw adversarial
examples; the question whether the term makes z_s and z_i share less is asked here on natural ones, where a
fresh T has 59,000 training pairs (in 128-d tests a T with a few thousand pairs fitted its own samples and
scored below zero on new ones).
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

import numpy as np
from absl import flags

from drrdn_tf.cli.common import fail, on_dataset, run_app

#: the JSON `reproduce` writes under <runs>/ablation/ (the Markdown table goes beside it)
JSON = "mutual_information.json"
#: the last training images every run holds out for validation (left out of T's training samples by default)
VALIDATION_EXAMPLES = 1000


def _standardise(train: np.ndarray, *others: np.ndarray):
    """Each dimension to zero mean and unit variance with the statistics of `train`: an invertible map per
    dimension, so the mutual information is unchanged, while T's inputs get a common scale."""
    mean, std = train.mean(0), train.std(0) + 1e-6
    return [(a - mean) / std for a in (train,) + others]


def dv_bound(t, z_s: np.ndarray, z_i: np.ndarray, rng: np.random.Generator, shuffles: int = 10,
             batch_size: int = 2000) -> float:
    """Eq. 9's Donsker-Varadhan bound of the statistics network `t` (a MineStatistics) on paired samples
    z_s [N, D_s], z_i [N, D_i]: mean T(joint) - log mean exp T(marginal), the marginal pairing every z_s with
    the z_i of a random permutation, averaged over `shuffles` permutations (nats)."""
    import tensorflow as tf

    def scores(a, b):
        return np.concatenate([np.asarray(t((a[i:i + batch_size], b[i:i + batch_size])))
                               for i in range(0, len(a), batch_size)])

    joint = float(np.mean(scores(z_s, z_i)))
    marginal = [float(tf.reduce_logsumexp(scores(z_s, z_i[rng.permutation(len(z_i))]))) - np.log(len(z_i))
                for _ in range(shuffles)]
    return joint - float(np.mean(marginal))


def estimate(train: Sequence[np.ndarray], test: Sequence[np.ndarray], validation_fraction: float = 0.1,
             steps: int = 3000, batch_size: int = 512, learning_rate: float = 1e-4,
             hidden_units: Sequence[int] = (256, 256), seed: int = 0, eval_every: int = 250) -> dict:
    """A held-out Donsker-Varadhan estimate of I(z_s; z_i) in nats.

    train, test: pairs (z_s [N, D_s], z_i [N, D_i]) of samples (rows paired). A fresh MineStatistics T
    (`hidden_units`, initialised by `seed`) is trained with Adam on the first 1 - `validation_fraction` of
    `train`, on minibatches whose marginal pairs shuffle z_i within the batch (as DRRDN's own MINE). Every
    `eval_every` steps the bound is taken on the rest of `train` (validation) and on `test`; the estimate is the
    test bound at the step of the best validation bound, so neither T's fit to its own samples nor the choice
    of the step can inflate it. Both sides are standardised per dimension with the training samples'
    statistics (an invertible map per dimension: the information is unchanged). Returns {"estimate", "step",
    "curve": [[step, validation bound, test bound], ...], "train_bound" (at the chosen step), settings}. Like
    any DV estimate it is a lower bound, loose when the information is large.
    """
    import keras
    import tensorflow as tf

    from drrdn_tf.methods import losses
    from drrdn_tf.nn.layers import MineStatistics
    (s_all, i_all), (s_test, i_test) = [[np.asarray(a, np.float32) for a in pair] for pair in (train, test)]
    for name, (a, b) in (("train", (s_all, i_all)), ("test", (s_test, i_test))):
        if a.ndim != 2 or b.ndim != 2 or len(a) != len(b):
            raise ValueError(f"{name}: z_s and z_i must be paired [N, D] arrays, got shapes {a.shape} and {b.shape}")
    n = int(round(len(s_all) * (1 - validation_fraction)))
    if n < batch_size or len(s_all) - n < 2 or len(s_test) < 2:
        raise ValueError(f"{len(s_all)} training and {len(s_test)} test samples are too few (training part "
                         f"{n} < one batch of {batch_size}, or fewer than 2 validation/test samples)")
    s_train, s_val, s_test = _standardise(s_all[:n], s_all[n:], s_test)
    i_train, i_val, i_test = _standardise(i_all[:n], i_all[n:], i_test)
    keras.utils.set_random_seed(seed)
    t = MineStatistics(tuple(hidden_units))
    t((s_train[:1], i_train[:1]))          # builds T's weights before the training step is traced
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(t.trainable_variables)

    @tf.function
    def step(a, b, order):
        with tf.GradientTape() as tape:
            loss = -losses.mine_lower_bound(t((a, b)), t((a, tf.gather(b, order))))
        grads = tape.gradient(loss, t.trainable_variables)
        optimizer.apply_gradients(zip(grads, t.trainable_variables))

    rng = np.random.default_rng(seed)
    curve, best, best_weights = [], None, None
    for k in range(1, steps + 1):
        idx = rng.integers(0, n, batch_size)
        step(s_train[idx], i_train[idx], rng.permutation(batch_size))
        if k % eval_every == 0 or k == steps:
            val = dv_bound(t, s_val, i_val, np.random.default_rng(seed))
            curve.append([k, val, dv_bound(t, s_test, i_test, np.random.default_rng(seed))])
            if best is None or val > best[1]:
                best, best_weights = curve[-1], t.get_weights()
    t.set_weights(best_weights)
    return {"estimate": best[2], "step": best[0], "curve": curve,
            "train_bound": dv_bound(t, s_train, i_train, np.random.default_rng(seed)),
            "train_samples": n, "validation_samples": len(s_all) - n, "test_samples": len(s_test),
            "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate,
            "hidden_units": list(hidden_units), "seed": seed}


def measure(models: Dict[str, str], dataset: str, raw, train_examples: Optional[int] = None,
            test_examples: Optional[int] = None, seeds: int = 3, steps: int = 3000, progress: bool = True) -> dict:
    """The fresh-MINE estimate of I(z_s; z_i) (`seeds` independently initialised T: mean and values) and the
    bound of the model's own T, for every DRRDN of `models` ({name: run folder or .keras file}). T trains on the
    first `train_examples` training images of `raw` (a `data.load_raw` result; default: all but the last
    1,000, the runs' validation images) and is scored on the first `test_examples` test images (default: all),
    natural images both. Raises ValueError for a missing model or one that is not DRRDN."""
    from drrdn_tf import data
    from drrdn_tf.experiments import representations as reps
    from drrdn_tf.files import recorded_path
    n_train = len(raw.train.labels) - VALIDATION_EXAMPLES if train_examples is None else train_examples
    train_images = data.to_float(raw.train.images[:n_train])
    test_images = data.to_float(raw.test.images[:test_examples])
    rows = []
    for name, path in models.items():
        model = reps.require_drrdn(reps.load_model(path), path)
        train, test = reps.drrdn_representations(model, train_images), reps.drrdn_representations(model, test_images)
        runs = []
        for s in range(seeds):
            runs.append(estimate(train, test, steps=steps, hidden_units=model.mine_units, seed=s))
            if progress:
                print(f"    {name}: fresh MINE, seed {s}: {runs[-1]['estimate']:.3f} nats (step {runs[-1]['step']})",
                      flush=True)
        own = dv_bound(model.mine, *test, np.random.default_rng(0)) if model.lambda_mi else None
        values = [r["estimate"] for r in runs]
        rows.append({"name": name, "model": recorded_path(path), "lambda_mi": float(model.lambda_mi),
                     "lambda_rec": float(model.lambda_rec), "estimate": float(np.mean(values)), "estimates": values,
                     "own_t_bound": own, "runs": runs})
    return {"dataset": dataset, "train_examples": int(len(train_images)), "test_examples": int(len(test_images)),
            "samples": "(z_s, z_i) of natural images: T trains on the first train_examples training images (their "
                       "last tenth chooses its step) and is scored on the first test_examples test images",
            "models": rows}


def write(models: Dict[str, str], dataset: str, raw, output: str, **kwargs) -> dict:
    """`measure(models, dataset, raw, **kwargs)` written to `output` (JSON, paths relative to the working
    directory) and its Markdown table beside it (.md); returns the result."""
    from drrdn_tf.files import write_json, write_text
    result = measure(models, dataset, raw, **kwargs)
    write_json(output, result)
    write_text(os.path.splitext(output)[0] + ".md", markdown(result))
    return result


def markdown(result: dict) -> str:
    """One row per model: its lambda_mi, the fresh MINE estimate (mean, range over seeds) and its own T's."""
    lines = ["| Model | lambda_mi | I(z_s; z_i), fresh MINE (nats) | its own T's bound (nats) |",
             "|---|---|---|---|"]
    for r in result["models"]:
        spread = f" ({min(r['estimates']):.2f}-{max(r['estimates']):.2f})" if len(r["estimates"]) > 1 else ""
        own = "–" if r["own_t_bound"] is None else f"{r['own_t_bound']:.2f}"
        lines.append(f"| `{r['model']}` | {r['lambda_mi']:g} | {r['estimate']:.2f}{spread} | {own} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the command

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags (defined only when it runs as a command, so importing the module defines none)."""
    flags.DEFINE_list("models", None, "DRRDN run folders (model.keras or a finished checkpoint) or .keras files")
    flags.DEFINE_string("dataset", "mnist", "data set of the models (its test split is used)")
    flags.DEFINE_string("data_dir", None, "folder holding <dataset>.npz (default: $DRRDN_DATA_DIR)")
    flags.DEFINE_integer("train_examples", None, "T trains on the first N training images (default: all but the "
                         "last 1,000, the runs' validation images)")
    flags.DEFINE_integer("test_examples", None, "the bound is taken on the first N test images (default: all)")
    flags.DEFINE_integer("seeds", 3, "independently initialised statistics networks per model")
    flags.DEFINE_integer("steps", 3000, "Adam steps of each statistics network")
    flags.DEFINE_string("output", "mutual_information.json", "JSON to write (the Markdown table goes beside it)")


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if not FLAGS.models:
        fail("give --models=<DRRDN run folder>[,<another>...]")
    for name in ("train_examples", "test_examples", "seeds", "steps"):
        if getattr(FLAGS, name) is not None and getattr(FLAGS, name) < 1:
            fail(f"--{name}={getattr(FLAGS, name)}: must be at least 1")
    names = [os.path.basename(os.path.normpath(p)) for p in FLAGS.models]
    models = dict(zip(names, FLAGS.models)) if len(set(names)) == len(names) else {p: p for p in FLAGS.models}
    result = on_dataset(FLAGS.dataset, FLAGS.data_dir, lambda raw: write(
        models, FLAGS.dataset, raw, FLAGS.output, train_examples=FLAGS.train_examples,
        test_examples=FLAGS.test_examples, seeds=FLAGS.seeds, steps=FLAGS.steps))
    print(markdown(result), flush=True)


if __name__ == "__main__":
    define_flags()
    run_app(main)
