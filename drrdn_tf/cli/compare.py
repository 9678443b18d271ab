"""Command line: do two models differ beyond the noise of the test images? A paired comparison.

  python -m drrdn_tf.compare results/mnist/drrdn/paired.json results/mnist/madry/paired.json
  python -m drrdn_tf.compare drrdn.json madry.json --labels=DRRDN,Madry --output=drrdn_vs_madry.json

Each input is an evaluation JSON with per-example flags (`python -m drrdn_tf.evaluate` keeps them unless
--noper_example) or a paired record (`python -m drrdn_tf.experiments.reproduce --steps=paired`), both on the
same test images with the same attack settings (data set, number of examples, eps, seed). For every column
both have, it prints the two accuracies, the gap A - B with two standard errors of the paired per-image
differences (only images on which the models disagree add to it) beside the unpaired band of the same two
accuracies, how many images only A / only B gets right, and the verdict: A above B, B above A, or a tie (the
gap inside its paired band). The band covers the choice of test images, not the spread over training seeds.
Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import os

from absl import flags

from drrdn_tf.cli.common import fail, run_app

FLAGS = flags.FLAGS
flags.DEFINE_list("labels", None, "two labels, comma-separated (default: the evaluated models' names)")
flags.DEFINE_string("output", None, "also write the comparison as JSON to this file")


def comparison(a: dict, b: dict, labels) -> dict:
    """The comparison of two results dicts (see the module doc) as a JSON-ready dict: per column the accuracies
    (%), gap, paired and unpaired bands (points), images only A / only B gets right, and the verdict."""
    from drrdn_tf.experiments import paired, sampling
    n = a["num_examples"]
    columns = {}
    for col, g in paired.compare(a, b).items():
        word = sampling.verdict(g["a"], g["b"], n, g["band"])
        columns[col] = {**g, "gap": g["a"] - g["b"], "unpaired_band": sampling.two_standard_errors(g["a"], g["b"], n),
                        "verdict": {"above": f"{labels[0]} above", "below": f"{labels[1]} above", "tie": "tie"}[word]}
    return {"labels": list(labels), "num_examples": n, "dataset": a["dataset"], "eps": a["eps"], "seed": a["seed"],
            "columns": columns}


def table(c: dict) -> str:
    """The comparison as a text table (accuracies and points)."""
    a, b = c["labels"]
    head = ["column", a, b, "gap", "± paired", "± unpaired", f"only {a}", f"only {b}", "verdict"]
    rows = [[col, f"{g['a']:.2f}", f"{g['b']:.2f}", f"{g['gap']:+.2f}", f"{g['band']:.2f}",
             f"{g['unpaired_band']:.2f}", str(g["a_only"]), str(g["b_only"]), g["verdict"]]
            for col, g in c["columns"].items()]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(x.ljust(w) if i in (0, len(r) - 1) else x.rjust(w)
                               for i, (x, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([f"{a} against {b}: accuracy (%) on the same {c['num_examples']:,} {c['dataset']} test images "
                      f"(L_inf eps {c['eps']:g}, seed {c['seed']}); gap {a} - {b} in points with two standard errors "
                      "(paired: of the per-image differences; unpaired: as independent samples)",
                      line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv) -> None:
    from drrdn_tf.files import read_json, write_json
    paths = argv[1:]
    if len(paths) != 2:
        fail(f"give exactly two evaluation JSONs (or paired.json records) to compare, got {len(paths)}")
    results = []
    for p in paths:
        if not os.path.isfile(p):
            fail(f"{p}: no such file")
        try:
            results.append(read_json(p))
        except ValueError as e:
            fail(f"{p} is not JSON: {e}")
        if not isinstance(results[-1], dict) or "num_examples" not in results[-1]:
            fail(f"{p} is not an evaluation JSON of python -m drrdn_tf.evaluate or a paired.json record")
    labels = FLAGS.labels or [str(r.get("model", p)) for r, p in zip(results, paths)]
    if len(labels) != 2:
        fail(f"--labels takes two labels, got {len(labels)}: {','.join(labels)}")
    if labels[0] == labels[1]:
        labels = [f"A ({labels[0]})", f"B ({labels[1]})"]
    try:
        c = comparison(results[0], results[1], labels)
    except ValueError as e:
        fail(str(e))
    print(table(c), flush=True)
    if FLAGS.output:
        write_json(FLAGS.output, {**c, "inputs": [os.path.relpath(p) for p in paths]})
        print(f"-> {os.path.abspath(FLAGS.output)}", flush=True)


def run() -> None:
    """Console-script entry point."""
    run_app(main)


if __name__ == "__main__":
    run()
