"""Paired comparisons: two models' white-box columns on the same test images, image by image.

The reports' unpaired bands (`sampling.two_standard_errors`) treat two models' accuracies as independent
samples; measured on the same images they are not, and a paired band is much narrower when the models fail
on mostly the same images. `<method>/paired.json` (`reproduce --steps=paired`) keeps the flag of every test
image (correct and robust, or not) for the natural column and the paper preset's cheaper white-box columns
(`COLUMNS`), each rerun exactly as the paper preset ran it (same attack, seeds, batches and examples
attacked: `evaluation.evaluate(columns=...)`), so its accuracies equal eval_paper.json's; the record says
whether they do.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from drrdn_tf.experiments import sampling

#: The paper preset's columns a paired record reruns (beside the natural one): the single-step and the two
#: 40-step attacks. PGD-100 and CW-100 would cost 2.5x as much again.
COLUMNS = ("fgsm", "pgd40", "cw40")
PAIRED_JSON = "paired.json"


def encode(flags) -> str:
    """Bool flags [n] as a string of n "0"/"1" characters (one line in the JSON, not n)."""
    return "".join("1" if f else "0" for f in np.asarray(flags, bool))


def decode(bits: str) -> np.ndarray:
    """The flags bool [n] of `encode`."""
    return np.frombuffer(bits.encode("ascii"), np.uint8) == ord("1")


def record_of(results: dict, reference: Optional[dict] = None) -> dict:
    """The paired record of `results` (what `evaluation.evaluate` returned with per_example=True): its setting
    (dataset, examples, eps, seed, attacks), accuracies and per-example flags. `reference`: the same model's
    paper-preset JSON on the same examples and seed, whose accuracies the record's must reproduce; recorded as
    `reproduces_paper_preset` (None without a comparable reference)."""
    correct = results["per_example"]["correct"]
    out = {k: results[k] for k in ("model", "dataset", "num_examples", "eps", "seed", "attacks")}
    out.update(preset=results["preset"], accuracy=results["accuracy"],
               flags={k: encode(v) for k, v in correct.items()}, reproduces_paper_preset=None)
    if reference is not None and all(reference.get(k) == results[k] for k in ("num_examples", "seed", "dataset")):
        out["paper_preset_accuracy"] = {k: reference["accuracy"].get(k) for k in correct}
        out["reproduces_paper_preset"] = all(
            out["paper_preset_accuracy"][k] is not None and abs(out["paper_preset_accuracy"][k] - v) < 1e-9
            for k, v in results["accuracy"].items())
    return out


def compare(a: dict, b: dict) -> Dict[str, dict]:
    """{column: {"a", "b" (accuracies in %), "band" (two paired standard errors, points), "a_only", "b_only"
    (images only that model gets right)}} for the columns two paired records share, natural first, then in the
    paper's order. Raises
    ValueError if they were not measured on the same images with the same attacks' seed."""
    for key in ("dataset", "num_examples", "seed", "eps"):
        if a[key] != b[key]:
            raise ValueError(f"paired records of {a['model']} and {b['model']} differ in {key} ({a[key]} vs "
                             f"{b[key]}): not the same images and attacks")
    rank = {c: i for i, c in enumerate(("natural",) + COLUMNS)}   # the paper's column order, others after
    out = {}
    for col in sorted((c for c in a["flags"] if c in b["flags"]), key=lambda c: (rank.get(c, len(rank)), c)):
        fa, fb = decode(a["flags"][col]), decode(b["flags"][col])
        out[col] = {"a": 100 * fa.mean(), "b": 100 * fb.mean(), "band": sampling.paired_two_standard_errors(fa, fb),
                    "a_only": int(np.sum(fa & ~fb)), "b_only": int(np.sum(fb & ~fa))}
    return out
