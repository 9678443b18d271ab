"""The paper's Table 3: classification of hybrid reconstructed representations.

    python -m drrdn_tf.experiments.table3 --drrdn=results/mnist/drrdn --standard=results/mnist/standard \
        --dataset=mnist --data_dir=../shared/data --output=results/mnist/table3.json

From test images x and their white-box PGD examples x' (on DRRDN's inference path), DRRDN's reconstructor
restores four hybrids, r(z_s, z_i), r(z'_s, z_i), r(z_s, z'_i) and r(z'_s, z'_i) (Eq. 10's r on the
class-specific part of one domain and the class-irrelevant part of the other). They are classified by the
Standard model's classifier head, fine-tuned (all of it, Adam) on r(z_s, z_i) of natural *training* images,
as the paper describes. If the disentanglement works, the hybrids that carry z'_i are the hard ones.

The reconstructor is only meaningful if it was trained: the JSON records the model's lambda_rec and the
reconstruction error of r(z_s, z_i) against z; with lambda_rec = 0 (the package's default DRRDN) r is left at
its initialisation and the command says so.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import numpy as np
from absl import flags

from drrdn_tf.cli.common import fail, on_dataset, run_app

HYBRIDS = (("zs_zi", "z_s + z_i", 0, 0), ("zs'_zi", "z'_s + z_i", 1, 0), ("zs_zi'", "z_s + z'_i", 0, 1),
           ("zs'_zi'", "z'_s + z'_i", 1, 1))   # (key, the paper's column, domain of z_s, domain of z_i)


def reconstruct(drrdn, z_s: np.ndarray, z_i: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """r(z_s, z_i) (Eq. 10): two [N, D_s] arrays -> the restored representation [N, D], in inference mode."""
    return np.concatenate([np.asarray(drrdn.reconstructor((z_s[i:i + batch_size], z_i[i:i + batch_size])))
                           for i in range(0, len(z_s), batch_size)])


def finetuned_head(standard, features: np.ndarray, labels: np.ndarray, epochs: int = 5, learning_rate=1e-3,
                   seed: int = 0, verbose: int = 1):
    """A copy of the Standard model's classifier head (its own weights as the start) fine-tuned on
    `features` [N, D] -> labels [N]; returns a keras.Model features -> logits. D must be the head's input width
    (the same backbone for both models)."""
    import keras
    head = standard.classifier
    copy = type(head).from_config(head.get_config())
    model = keras.Sequential([keras.Input((features.shape[1],)), copy])
    try:
        copy.set_weights(head.get_weights())
    except ValueError:
        raise ValueError(f"the Standard model's head does not take DRRDN's {features.shape[1]} features: "
                         "train both models with the same backbone") from None
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(features, labels, epochs=epochs, batch_size=128, shuffle=True, verbose=verbose)
    return model


def hybrid_table(drrdn, standard, train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                 test_labels: np.ndarray, eps: float, step_size: float, steps: int, seed: int = 0,
                 finetune_epochs: int = 5, progress: bool = True) -> dict:
    """Table 3's four accuracies (fractions) and what produced them. Images float32 [N, H, W, C] in [0, 1],
    labels int [N]; train_* fine-tune the Standard head, test_* are attacked and classified."""
    from drrdn_tf.experiments import representations as reps
    zs_train, zi_train = reps.drrdn_representations(drrdn, train_images)
    head = finetuned_head(standard, reconstruct(drrdn, zs_train, zi_train), train_labels, finetune_epochs,
                          seed=seed, verbose=1 if progress else 0)
    x_adv = reps.adversarial_examples(drrdn, test_images, test_labels, eps, step_size, steps, seed,
                                      progress=progress)
    parts = [reps.drrdn_representations(drrdn, test_images), reps.drrdn_representations(drrdn, x_adv)]
    z = reps.features(drrdn, test_images)
    accuracy = {}
    for key, _, s_domain, i_domain in HYBRIDS:
        hybrid = reconstruct(drrdn, parts[s_domain][0], parts[i_domain][1])
        logits = np.concatenate([np.asarray(head(hybrid[i:i + 500], training=False))
                                 for i in range(0, len(hybrid), 500)])
        accuracy[key] = float(np.mean(np.argmax(logits, -1) == test_labels))
    restored = reconstruct(drrdn, *parts[0])
    return {"accuracy": accuracy, "columns": {k: c for k, c, _, _ in HYBRIDS},
            "num_test_examples": int(len(test_labels)), "num_finetune_examples": int(len(train_labels)),
            "test_examples": "the first num_test_examples test images",
            "finetune": {"what": "the Standard model's whole head, from its trained weights, on r(z_s, z_i) of "
                                 "natural training images", "optimizer": "adam", "learning_rate": 1e-3,
                         "epochs": finetune_epochs, "batch_size": 128, "seed": seed},
            "attack": {"name": "pgd", "eps": eps, "step_size": step_size, "steps": steps, "seed": seed,
                       "target": "DRRDN's inference path"},
            "lambda_rec": float(getattr(drrdn, "lambda_rec", 0.0)),
            "reconstruction_mse": float(np.mean((restored - z) ** 2)),
            "feature_mean_square": float(np.mean(z ** 2))}


def markdown(result: dict) -> str:
    """The table in the paper's layout (accuracies in %)."""
    cols = [result["columns"][k] for k, _, _, _ in HYBRIDS]
    cells = [f"{100 * result['accuracy'][k]:.2f}" for k, _, _, _ in HYBRIDS]
    return "\n".join(["| Hybrid representation | " + " | ".join(f"${c}$" for c in cols) + " |",
                      "|---|" + "---|" * len(cols), "| Accuracy (%) | " + " | ".join(cells) + " |"]) + "\n"


# --------------------------------------------------------------------------- the command

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags (defined only when it runs as a command, so importing the module defines none)."""
    from drrdn_tf.experiments.representations import define_model_flags
    define_model_flags()
    flags.DEFINE_integer("num_examples", None, "the first N test images (default: all)")
    flags.DEFINE_integer("finetune_examples", 10000, "the first N training images fine-tune the Standard head")
    flags.DEFINE_integer("finetune_epochs", 5, "epochs of fine-tuning")
    flags.DEFINE_integer("steps", 40, "PGD steps (the paper's white-box PGD-40)")
    flags.DEFINE_integer("seed", 0, "seed of the attack's random starts and of the fine-tuning")
    flags.DEFINE_string("output", "table3.json", "JSON to write (the Markdown table goes beside it, .md)")


def write_table3(drrdn_path: str, standard_path: str, dataset: str, raw, output: str,
                 num_examples: Optional[int] = None, finetune_examples: int = 10000, finetune_epochs: int = 5,
                 steps: int = 40, seed: int = 0, progress: bool = True) -> dict:
    """Table 3 of the run folders' (or .keras files') models: the first `finetune_examples` training images of
    `raw` (a `data.load_raw` result) fine-tune the head, the first `num_examples` test images (default all) are
    attacked with `dataset`'s white-box PGD of `steps` steps. Writes `output` (JSON, paths relative to the
    working directory) and the Markdown table beside it (.md); returns the result. Warns on stderr when r was
    never trained (lambda_rec = 0). Raises ValueError for a missing model or one of the wrong kind."""
    from drrdn_tf import data, datasets
    from drrdn_tf.experiments import representations as reps
    from drrdn_tf.files import recorded_path, write_json, write_text
    attack = datasets.get(dataset).attack
    drrdn = reps.require_drrdn(reps.load_model(drrdn_path), f"--drrdn={drrdn_path}")
    standard = reps.load_model(standard_path)
    if not hasattr(standard, "classifier"):
        raise ValueError(f"--standard={standard_path} holds a {type(standard).__name__} model, not a baseline")
    if drrdn.lambda_rec == 0:
        print("warning: this DRRDN was trained with lambda_rec = 0, so its reconstructor r was never trained "
              "and the table says nothing about disentanglement", file=sys.stderr, flush=True)
    n = num_examples or len(raw.test.labels)
    result = hybrid_table(drrdn, standard, data.to_float(raw.train.images[:finetune_examples]),
                          np.asarray(raw.train.labels[:finetune_examples]), data.to_float(raw.test.images[:n]),
                          np.asarray(raw.test.labels[:n]), attack.eps, attack.step_size, steps, seed,
                          finetune_epochs, progress)
    result.update(dataset=dataset, drrdn=recorded_path(drrdn_path), standard=recorded_path(standard_path))
    write_json(output, result)
    write_text(os.path.splitext(output)[0] + ".md", markdown(result))
    return result


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if not FLAGS.drrdn or not FLAGS.standard:
        fail("give --drrdn=<DRRDN run folder> and --standard=<Standard run folder>")
    result = on_dataset(FLAGS.dataset, FLAGS.data_dir, lambda raw: write_table3(
        FLAGS.drrdn, FLAGS.standard, FLAGS.dataset, raw, FLAGS.output, FLAGS.num_examples, FLAGS.finetune_examples,
        FLAGS.finetune_epochs, FLAGS.steps, FLAGS.seed))
    print(markdown(result), flush=True)


if __name__ == "__main__":
    define_flags()
    run_app(main)
