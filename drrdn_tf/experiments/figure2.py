"""The paper's Figure 2: t-SNE of DRRDN's class-specific z_s and class-irrelevant z_i and of a Standard model's
representation, for natural test images, their white-box PGD examples, and both together.

    python -m drrdn_tf.experiments.figure2 --drrdn=results/mnist/drrdn --standard=results/mnist/standard \
        --dataset=mnist --data_dir=../shared/data --num_examples=500 --output=results/mnist/figure2.png

Layout (the paper's 3 x 3): columns z_s, z_i, Standard; rows natural, natural + adversarial, adversarial.
Points are coloured by class; natural ones are dots, adversarial ones crosses. Our choice where the paper is
silent: one t-SNE (scikit-learn's, PCA start, fixed seed) per column, fitted on natural and adversarial points
together, whose rows show the natural points, all of them, and the adversarial ones; so the three rows of a
column share coordinates and the middle row shows how well the two domains align. The sample is the first
`num_examples` test images; the attack is the data set's white-box PGD (eps, step and steps of the paper's
tables), each model attacked on its own inference path.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Optional, Tuple

import numpy as np
from absl import flags

from drrdn_tf.cli.common import fail, on_dataset, run_app

COLUMNS = (("z_s", "class-specific z_s (DRRDN)"), ("z_i", "class-irrelevant z_i (DRRDN)"),
           ("standard", "Standard model's representation"))
ROWS = ("natural", "natural + adversarial", "adversarial")


def embed(natural: np.ndarray, adversarial: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE (scikit-learn) of [natural; adversarial] ([N, D] each) -> [2N, 2]: natural points first."""
    from sklearn.manifold import TSNE
    points = np.concatenate([natural, adversarial]).astype(np.float64)
    perplexity = min(perplexity, (len(points) - 1) / 3)      # TSNE requires perplexity < n_samples
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(points)


#: neighbours and cross-validation folds of the k-NN read-out of what each representation encodes
KNN_NEIGHBOURS, KNN_FOLDS = 5, 5


def separability(natural: np.ndarray, adversarial: np.ndarray, labels: np.ndarray, seed: int = 0) -> Dict[str, float]:
    """What a representation encodes, in numbers beside the picture: KNN_FOLDS-fold cross-validated accuracy (%) of a
    k-nearest-neighbour classifier (scikit-learn, k = KNN_NEIGHBOURS, Euclidean) in the representation itself
    (not its t-SNE), from natural and adversarial representations [N, D] each and the class labels [N]:
    "class_natural" and "class_adversarial" predict the true class (chance 100 / classes), "domain" tells
    natural from adversarial on both together (chance 50). A class-irrelevant z_i (Eq. 8) should score near
    chance on class; an aligned z_s (Eq. 7) near chance on domain."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    def accuracy(x, y, folds, groups=None):
        return float(100 * cross_val_score(KNeighborsClassifier(KNN_NEIGHBOURS), x, y, cv=folds,
                                           groups=groups).mean())

    labels = np.asarray(labels, dtype=np.int64)
    # Stratified folds where every class has a member per fold (a small sample may not: then plain folds).
    split = StratifiedKFold if np.unique(labels, return_counts=True)[1].min() >= KNN_FOLDS else KFold
    folds = split(n_splits=KNN_FOLDS, shuffle=True, random_state=seed)
    both = np.concatenate([natural, adversarial])
    domain = np.concatenate([np.zeros(len(natural), np.int64), np.ones(len(adversarial), np.int64)])
    # An image and its PGD example stay in one fold: else each point's nearest neighbour is its own twin of
    # the other domain, and an aligned representation would score below chance.
    image = np.tile(np.arange(len(labels)), 2)
    return {"class_natural": accuracy(natural, labels, folds),
            "class_adversarial": accuracy(adversarial, labels, folds),
            "domain": accuracy(both, domain, GroupKFold(n_splits=KNN_FOLDS), image)}


def figure(embeddings: Dict[str, np.ndarray], labels: np.ndarray, title: Optional[str] = None):
    """The 3 x 3 figure from {column: [2N, 2] embedding (natural first)} and the class labels [N]."""
    from drrdn_tf import plots
    n = len(labels)
    fig = plots.new_figure(figsize=(13, 12.5), layout="constrained")
    axes = fig.subplots(3, 3)
    import matplotlib
    from matplotlib.lines import Line2D
    cmap = matplotlib.colormaps["tab10"]
    for c, (key, name) in enumerate(COLUMNS):
        e = embeddings[key]
        nat, adv = e[:n], e[n:]
        for r, row in enumerate(ROWS):
            ax = axes[r, c]
            if row != "adversarial":
                ax.scatter(nat[:, 0], nat[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=9.5, s=6, marker="o",
                           linewidths=0)
            if row != "natural":
                ax.scatter(adv[:, 0], adv[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=9.5, s=10, marker="x",
                           linewidths=0.6)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=11)
            if c == 0:
                ax.set_ylabel(row, fontsize=11)
    handles = [Line2D([], [], marker=m, linestyle="", color="black", label=what)
               for m, what in (("o", "natural"), ("x", "adversarial"))]
    handles += [Line2D([], [], marker="s", linestyle="", color=cmap(k), label=f"class {k}")
                for k in sorted(set(int(v) for v in labels))]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(6, len(handles)))
    if title:
        fig.suptitle(title)
    return fig


def make_figure2(drrdn, standard, images: np.ndarray, labels: np.ndarray, eps: float, step_size: float,
                 steps: int, seed: int = 0, title: Optional[str] = None, progress: bool = True) -> Tuple[object, dict]:
    """Attacks, representations, t-SNE and the figure for a DRRDN and a Standard model (keras models of this
    package) on test images [N, H, W, C] in [0, 1] with labels [N]. Returns (figure, record): the record says
    what was embedded (counts, attack, seed) for the JSON beside the PNG."""
    from drrdn_tf.experiments import representations as reps
    pairs = reps.natural_and_adversarial(drrdn, standard, images, labels, eps, step_size, steps, seed, progress)
    embeddings = {}
    for key, _ in COLUMNS:
        if progress:
            print(f"t-SNE of {key} ({2 * len(labels)} points)", flush=True)
        embeddings[key] = embed(*pairs[key], seed=seed)
    record = {"num_examples": int(len(labels)), "examples": "the first num_examples test images",
              "attack": {"name": "pgd", "eps": eps, "step_size": step_size, "steps": steps, "seed": seed,
                         "target": "each model's own inference path"},
              "tsne": {"library": "scikit-learn", "init": "pca", "random_state": seed,
                       "fitted_on": "natural and adversarial points together, one embedding per column"},
              "dims": {key: int(pairs[key][0].shape[1]) for key, _ in COLUMNS},
              "knn_accuracy": {key: separability(*pairs[key], labels, seed) for key, _ in COLUMNS},
              "knn": {"neighbours": KNN_NEIGHBOURS, "folds": KNN_FOLDS, "library": "scikit-learn",
                      "space": "the representation itself, not its t-SNE"}}
    return figure(embeddings, labels, title), record


# --------------------------------------------------------------------------- the command

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags (defined only when it runs as a command, so importing the module defines none)."""
    from drrdn_tf.experiments.representations import define_model_flags
    define_model_flags()
    flags.DEFINE_integer("num_examples", 500, "the first N test images")
    flags.DEFINE_integer("steps", 40, "PGD steps (the paper's white-box PGD-40)")
    flags.DEFINE_integer("seed", 0, "seed of the attack's random starts and of t-SNE")
    flags.DEFINE_string("output", "figure2.png", "PNG to write (a JSON record of what was embedded goes beside it)")


def write_figure2(drrdn_path: str, standard_path: str, dataset: str, images: np.ndarray, labels: np.ndarray,
                  output: str, steps: int = 40, seed: int = 0, progress: bool = True) -> dict:
    """Figure 2 of the run folders' (or .keras files') models on test images [N, H, W, C] in [0, 1] with labels
    [N], attacked with `dataset`'s white-box PGD of `steps` steps: writes `output` (PNG) and the record of what
    was embedded beside it (.json, paths relative to the working directory); returns the record. Raises
    ValueError for a missing model or one of the wrong kind, plots.PlotUnavailable without matplotlib."""
    from drrdn_tf import datasets, plots
    from drrdn_tf.experiments import representations as reps
    from drrdn_tf.files import recorded_path, write_json
    attack = datasets.get(dataset).attack
    drrdn = reps.require_drrdn(reps.load_model(drrdn_path), f"--drrdn={drrdn_path}")
    standard = reps.load_model(standard_path)
    fig, record = make_figure2(drrdn, standard, images, labels, attack.eps, attack.step_size, steps, seed,
                               title=f"{dataset}: t-SNE of {len(labels)} test images", progress=progress)
    record.update(dataset=dataset, drrdn=recorded_path(drrdn_path), standard=recorded_path(standard_path))
    plots.save(fig, output)
    write_json(os.path.splitext(output)[0] + ".json", record)
    return record


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if not FLAGS.drrdn or not FLAGS.standard:
        fail("give --drrdn=<DRRDN run folder> and --standard=<Standard run folder>")
    if FLAGS.num_examples < 10:
        fail(f"--num_examples={FLAGS.num_examples}: t-SNE needs at least 10 images")
    from drrdn_tf import data, plots
    n = FLAGS.num_examples
    on_dataset(FLAGS.dataset, FLAGS.data_dir, lambda raw: write_figure2(
        FLAGS.drrdn, FLAGS.standard, FLAGS.dataset, data.to_float(raw.test.images[:n]),
        np.asarray(raw.test.labels[:n]), FLAGS.output, FLAGS.steps, FLAGS.seed), errors=(plots.PlotUnavailable,))
    print(f"wrote {FLAGS.output}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    define_flags()
    run_app(main)
