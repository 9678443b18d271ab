"""Output: the results dict as printed text (the paper's table layout, then the masking report's summary)."""

from __future__ import annotations

from typing import List


def format_table(results: dict) -> str:
    """The results as the paper's table layout: a title, one row for the model with accuracies in % (two
    decimals), then the masking summary if the results have one (`format_masking`)."""
    cols = results["columns"]
    header = ["Model"] + [c["label"] for c in cols]
    row = [results.get("model_name", results["model"])] + [f"{100 * results['accuracy'][c['key']]:.2f}" for c in cols]
    widths = [max(len(h), len(r)) for h, r in zip(header, row)]

    def line(cells):  # the model name left-aligned, the numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    title = (f"Accuracy (%) on the first {results['num_examples']} {results['dataset']} test images, "
             f"L_inf eps = {results['eps']:g}, preset {results['preset']}")
    if results["preset"] == "autoattack":
        title += " (cumulative: each attack runs on what the previous ones missed)"
    out = [title, line(header), line(["-" * w for w in widths]), line(row)]
    if results.get("masking"):
        out.extend(format_masking(results["masking"]))
    return "\n".join(out)


def format_masking(masking: dict) -> List[str]:
    """The masking report as lines: how many checks passed, the accuracy-vs-eps sweep in %, one WARNING line
    per failed check."""
    sweep = ", ".join(f"eps {p['eps']:g}: {100 * p['accuracy']:.1f}%" for p in masking["eps_sweep"])
    out = [f"Masking checks on {masking['examples']} examples: {sum(c['passed'] for c in masking['checks'])}"
           f"/{len(masking['checks'])} passed; PGD accuracy vs eps: {sweep}"]
    out.extend(f"WARNING (possible gradient masking) {w}" for w in masking["warnings"])
    return out
