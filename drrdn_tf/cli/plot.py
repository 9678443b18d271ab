"""Command line: plot training histories or evaluation results (needs matplotlib).

  python -m drrdn_tf.plot runs/demo_drrdn runs/demo_madry --output=curves.png
  python -m drrdn_tf.plot results/demo/*/paper_mnist1000.json --labels=DRRDN,Madry,Standard,TRADES \\
      --output=attacks.png

Each input is a run folder of `python -m drrdn_tf.train` (or its history.json), or an evaluation JSON of
`python -m drrdn_tf.evaluate`; all inputs of one call are of the same kind. Training histories give
validation accuracy (natural and under PGD, with the training eps of a warm-up), training accuracy and every
loss term per epoch; evaluation results give the accuracy under each attack and the accuracy-vs-eps sweep.
Labels default to the folder names (training) or the evaluated models' names (evaluation). Bad input exits
with status 2 and one line on stderr.
"""

from __future__ import annotations

from absl import flags

from drrdn_tf import plots
from drrdn_tf.cli.common import fail, run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("output", None, "PNG file to write (default: training_curves.png or evaluation.png)")
flags.DEFINE_list("labels", None, "one label per input, comma-separated (default: the run folder names, or the "
                  "evaluated models' names)")
flags.DEFINE_string("title", None, "figure title")


def main(argv) -> None:
    paths = argv[1:]
    if not paths:
        fail("give one or more run folders (or history.json files), or evaluation JSON files, to plot")
    try:
        kinds = {p: plots.kind_of(p) for p in paths}
        if len(set(kinds.values())) > 1:
            fail("mixed inputs: " + ", ".join(f"{p} is {k}" for p, k in kinds.items()) +
                 "; plot training histories and evaluation results in separate calls")
        kind = next(iter(kinds.values()))
        if kind == "training":
            labels = plots.labels_for(paths, FLAGS.labels)
            output = FLAGS.output or "training_curves.png"
            plots.plot_training({labels[p]: plots.load_history(p) for p in paths}, output, FLAGS.title)
        else:
            results = {p: plots.load_evaluation(p) for p in paths}
            names = [r.get("model_name") for r in results.values()]
            if not FLAGS.labels and all(names) and len(set(names)) == len(names):
                labels = dict(zip(paths, names))   # the evaluated models' names
            else:
                labels = plots.labels_for(paths, FLAGS.labels)
            output = FLAGS.output or "evaluation.png"
            plots.plot_evaluation({labels[p]: r for p, r in results.items()}, output, FLAGS.title)
    except (plots.PlotUnavailable, plots.PlotInputError) as e:
        fail(str(e))
    print(f"-> {output}", flush=True)


def run() -> None:
    """Console-script entry point."""
    run_app(main)


if __name__ == "__main__":
    run()
