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


def flags_of(results: dict) -> Dict[str, np.ndarray]:
    """{column: flags bool [n]} of a paired record ("flags": bit strings) or of an evaluation JSON written with
    per-example flags (`python -m drrdn_tf.evaluate`, whose default keeps them: "per_example"); {} for neither."""
    if "flags" in results:
        return {k: decode(v) for k, v in results["flags"].items()}
    correct = results.get("per_example", {}).get("correct", {})
    return {k: np.asarray(v, bool) for k, v in correct.items()}


def compare(a: dict, b: dict) -> Dict[str, dict]:
    """{column: {"a", "b" (accuracies in %), "band" (two paired standard errors, points), "a_only", "b_only"
    (images only that model gets right)}} for the columns with per-example flags in both `a` and `b` (paired
    records or evaluation JSONs, `flags_of`), natural first, then in the paper's order. Raises ValueError if
    they were not measured on the same images with the same attack settings, or share no flagged column."""
    for key in ("dataset", "num_examples", "seed", "eps"):
        if a.get(key) != b.get(key):
            raise ValueError(f"the results of {a.get('model')} and {b.get('model')} differ in {key} ({a.get(key)} "
                             f"vs {b.get(key)}): not the same images and attacks, so they cannot be paired")
    fa, fb = flags_of(a), flags_of(b)
    labels = [r.get("per_example", {}).get("labels") for r in (a, b)]
    if None not in labels and labels[0] != labels[1]:
        raise ValueError("the two results were computed on different test labels: not the same images")
    rank = {c: i for i, c in enumerate(("natural",) + COLUMNS)}   # the paper's column order, others after
    shared = sorted((c for c in fa if c in fb), key=lambda c: (rank.get(c, len(rank)), c))
    if not shared:
        raise ValueError(f"no column with per-example flags in both results (columns flagged: "
                         f"{', '.join(fa) or 'none'} / {', '.join(fb) or 'none'}): evaluate with per-example flags "
                         "(python -m drrdn_tf.evaluate keeps them unless --noper_example; reproduce "
                         "--steps=paired writes paired.json)")
    out = {}
    for col in shared:
        out[col] = {"a": 100 * fa[col].mean(), "b": 100 * fb[col].mean(),
                    "band": sampling.paired_two_standard_errors(fa[col], fb[col]),
                    "a_only": int(np.sum(fa[col] & ~fb[col])), "b_only": int(np.sum(fb[col] & ~fa[col]))}
    return out
