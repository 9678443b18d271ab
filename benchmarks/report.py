"""Writes BENCHMARKS.md from one or more benchmark JSONs (runs of `python -m benchmarks.bench --json`): no
figure is typed by hand.

  for i in 1 2 3; do python -m benchmarks.bench --json > benchmarks/run$i.json; done
  python benchmarks/report.py benchmarks/run1.json benchmarks/run2.json benchmarks/run3.json > BENCHMARKS.md

With several runs (separate processes), the key figures are listed per run with their median, and the targets
are judged on the medians; each run's full table follows. Reading the JSONs needs no TensorFlow.
"""

import json
import math
import os
import statistics
import sys

if __package__ in (None, ""):
    # Run as `python benchmarks/report.py`: the folder above this file holds the `benchmarks` package.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.figures import (  # noqa: E402
    TARGET_ATTACK_FRACTION_OF_MATMUL, TARGET_DRRDN_OVER_MADRY, TARGET_PIPELINE_DEVIATION)
from benchmarks.tables import PROFILE_KINDS, format_table  # noqa: E402


def _get(r, *keys):
    """r[k1][k2]..., or None where a key is missing."""
    for k in keys:
        if not isinstance(r, dict) or k not in r:
            return None
        r = r[k]
    return r


ONCE = "upper bound for any method that updates once on [x; x'] after Madry's attack"
TWICE = "upper bound for updating twice on [x; x'] after Madry's attack, as DRRDN does"
DRRDN_OVER_MADRY = "DRRDN/Madry images/s, {}"   # .format("SmallCNN PGD-40" or "WRN PGD-10")
PGD_FRACTION = "PGD-{} useful GFLOP/s / matmul's"
FWD_BWD = "forward+input gradient GFLOP/s / matmul's"
FWD_BWD_KERAS = "forward+input gradient with keras.layers.Conv2D, / matmul's"
PROFILE_SHARE = "profiled PGD call: share of its time in {}"   # .format(a PROFILE_KINDS label or OUTSIDE)
OUTSIDE = "no op (dispatch, waits)"
CONV_RATE = "profiled PGD call: convolution ops' GFLOP/s / matmul's"


def key_figures(r):
    """(label, value, target as (op, bound) or None) for the figures the issue's targets are about."""
    rows = [(DRRDN_OVER_MADRY.format("SmallCNN PGD-40"), _get(r, "ratios", "drrdn_over_madry"),
             (">=", TARGET_DRRDN_OVER_MADRY)),
            ("SmallCNN: " + ONCE, _get(r, "ratios", "two_image_update_bound"), None),
            ("SmallCNN: " + TWICE, _get(r, "ratios", "two_updates_bound"), None),
            ("SmallCNN: DRRDN's training attack time over Madry's (the same computation)",
             _ratio(_get(r, "train", "drrdn", "attack_seconds_per_step"),
                    _get(r, "train", "madry", "attack_seconds_per_step")), None),
            ("TRADES/Madry images/s, SmallCNN PGD-40", _get(r, "ratios", "trades_over_madry"), None),
            (DRRDN_OVER_MADRY.format("WRN PGD-10"), _get(r, "wrn", "ratios", "drrdn_over_madry"),
             (">=", TARGET_DRRDN_OVER_MADRY)),
            ("WRN: " + ONCE, _get(r, "wrn", "ratios", "two_image_update_bound"), None),
            ("WRN: " + TWICE, _get(r, "wrn", "ratios", "two_updates_bound"), None),
            (PGD_FRACTION.format(40), _get(r, "attack", "pgd40", "fraction_of_matmul"),
             (">=", TARGET_ATTACK_FRACTION_OF_MATMUL)),
            (PGD_FRACTION.format(100), _get(r, "attack", "pgd100", "fraction_of_matmul"),
             (">=", TARGET_ATTACK_FRACTION_OF_MATMUL)),
            (FWD_BWD, _get(r, "attack", "fwd_bwd", "fraction_of_matmul"), None),
            (FWD_BWD_KERAS, _get(r, "attack", "fwd_bwd_keras_conv", "fraction_of_matmul"), None),
            (CONV_RATE, _get(r, "pgd_profile", "convolution_fraction_of_matmul"), None)]
    rows += [(PROFILE_SHARE.format(label), _get(r, "pgd_profile", "kinds", kind, "fraction_of_wall"), None)
             for kind, label in PROFILE_KINDS.items()]
    busy = _get(r, "pgd_profile", "busy_fraction")
    rows += [(PROFILE_SHARE.format(OUTSIDE), None if busy is None else 1.0 - busy, None),
             ("drrdn_tf Conv2D speed-up, input gradient", _get(r, "conv_speedup", "input_gradient"), None),
            ("drrdn_tf Conv2D speed-up, weight gradients", _get(r, "conv_speedup", "weight_gradients"), None),
            ("matmul GFLOP/s", _get(r, "matmul_gflops"), None)]
    for m, v in sorted((_get(r, "pipeline", "real_over_synthetic") or {}).items()):
        rows.append((f"real/synthetic data images/s, {m}", v, ("within", TARGET_PIPELINE_DEVIATION)))
    rows.append(("retraced after the first batch", r.get("retraced"), ("is", False)))
    return rows


def _ratio(a, b):
    """a / b, or None when either is missing (or b is 0)."""
    return a / b if a is not None and b else None


def _verdict(value, target):
    """"PASS (target ...)" or "MISS (target ...)" for a median, or "" without a target or a value."""
    if target is None or value is None:
        return ""
    op, bound = target
    if op == ">=":
        ok = value >= bound
        text = f">= {bound}"
    elif op == "within":
        ok = abs(value - 1.0) <= bound
        text = f"within {bound:.0%} of 1"
    else:
        ok = value is bound
        text = f"{bound}"
    return f"{'PASS' if ok else 'MISS'} (target {text})"


def _fmt(v):
    """A table cell: booleans and None as words, numbers to 3 decimals (1 from 100 up)."""
    if isinstance(v, bool) or v is None:
        return str(v)
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"


def _against(value, target: float) -> str:
    """"below" or "at or above" the target, for the prose."""
    if value is None or math.isnan(value):
        return "(not measured in these runs)"
    return "below" if value < target else "at or above"


def _vs(value, target: float) -> str:
    """value to 3 decimals, or more when 3 would print the target itself (0.89997 is below 0.9, not "0.900")."""
    for digits in range(3, 7):
        text = f"{value:.{digits}f}"
        if text != f"{target:.{digits}f}":
            return text
    return text


NEAR = 0.05   # a median within this relative distance of its target is "near" it


def _near(value, target: float) -> str:
    """A caution for a median within NEAR of its target (empty otherwise)."""
    if value is None or math.isnan(value) or abs(value / target - 1.0) >= NEAR:
        return ""
    return (f" This is within {NEAR:.0%} of the {target} target, and on this shared machine the figure moves by "
            "about that much with the load of the hour (runs committed in earlier sessions measured it "
            "below): read it as at the target rather than clear of it.")


def reading(m) -> str:
    """What the median figures say about the targets (prose; every number comes from the runs)."""
    lines = ["## Reading the figures\n"]
    for net, key in (("SmallCNN", "SmallCNN PGD-40"), ("WRN", "WRN PGD-10")):
        ratio, b1, b2 = m[DRRDN_OVER_MADRY.format(key)], m[f"{net}: {ONCE}"], m[f"{net}: {TWICE}"]
        lines.append(
            f"- **DRRDN/Madry ({key})**: median {ratio:.3f}. DRRDN's attack is Madry's (d_s folded into c_s); "
            "what it adds is two updates on [x; x'] (line 6, then lines 7-9 through the weights line 6 moved), "
            "each a forward and backward pass of the encoder on twice Madry's batch, plus its heads. From Madry's "
            f"own step and update times, one such update would bound the ratio at {_vs(b1, TARGET_DRRDN_OVER_MADRY)} "
            f"and two at {_vs(b2, TARGET_DRRDN_OVER_MADRY)}, "
            f"{_against(b2, TARGET_DRRDN_OVER_MADRY)} the {TARGET_DRRDN_OVER_MADRY} target before any head is "
            "counted; the heads (d_s, d_i, c_i, MINE, r) cost the rest.")
    lines.append(
        f"- **PGD useful GFLOP/s**: medians {m[PGD_FRACTION.format(40)]:.3f} (PGD-40) and "
        f"{m[PGD_FRACTION.format(100)]:.3f} (PGD-100) of the matmul's; one compiled forward + "
        f"input-gradient call runs at {m[FWD_BWD]:.3f} of it ({m[FWD_BWD_KERAS]:.3f} with keras.layers.Conv2D)."
        + _near(m[PGD_FRACTION.format(40)], TARGET_ATTACK_FRACTION_OF_MATMUL) + _profile_prose(m) + "\n")
    return "\n".join(lines)


def _profile_prose(m) -> str:
    """The sentence on where a profiled PGD call's time goes (empty when no run profiled one)."""
    conv_share = m[PROFILE_SHARE.format(PROFILE_KINDS["convolution"])]
    if math.isnan(conv_share):
        return ""
    rest = [(label, m[PROFILE_SHARE.format(label)]) for kind, label in PROFILE_KINDS.items() if kind != "convolution"]
    rest.append((OUTSIDE, m[PROFILE_SHARE.format(OUTSIDE)]))
    rest_text = ", ".join(f"{label} {share:.1%}" for label, share in sorted(rest, key=lambda kv: -kv[1]))
    return (f" Where the time goes (tf.profiler, one PGD call per run, medians): the convolution ops take "
            f"{conv_share:.1%} of the call and run at {m[CONV_RATE]:.3f} of the matmul's GFLOP/s; the rest is "
            f"memory-bound work that adds few or no counted FLOPs: {rest_text}.")


def main(paths):
    """Prints BENCHMARKS.md for the run JSONs at `paths` on stdout."""
    runs = [json.load(open(p)) for p in paths]
    first = runs[0]
    print("# Benchmarks\n")
    print("Measured on this project's machine (2-core x86 CPU, no GPU; "
          f"TensorFlow {_get(first, 'versions', 'tensorflow')}, Keras {_get(first, 'versions', 'keras')}), "
          f"{len(runs)} run(s) of the benchmark, each a separate process, by\n")
    print("```bash\nfor i in " + " ".join(str(i + 1) for i in range(len(runs))) +
          "; do python -m benchmarks.bench --json > benchmarks/run$i.json; done\n"
          "python benchmarks/report.py " + " ".join(f"benchmarks/run{i + 1}.json" for i in range(len(runs))) +
          " > BENCHMARKS.md\n```\n")
    print("What each figure means, how it is timed and how FLOPs are counted: the docstrings of `benchmarks/` "
          "(`bench.py`, `harness.py`, `jobs.py`, `flops.py`). Within a run, ratios are taken between measurements "
          "made side by side (round-robin repetitions). Separate processes can still differ (the machine is "
          "shared, and before drrdn_tf.pooling a compiled function kept one of two or three speeds for the life "
          "of a process, depending on whether TensorFlow had rewritten its max-pool gradients to oneDNN's "
          "kernel), so the targets are judged on the median over runs, and every run is shown.\n")
    print("## Key figures\n")
    header = "| figure | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " | median | target |"
    print(header)
    print("|" + "---|" * (len(runs) + 3))
    per_run = [key_figures(r) for r in runs]
    medians = {}   # label -> median of the numeric figures (NaN when no run measured it), for the prose
    for i, (label, _, target) in enumerate(per_run[0]):
        values = [rows[i][1] for rows in per_run]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if all(isinstance(v, bool) for v in values):
            median = any(values)
        else:
            median = statistics.median(numbers) if numbers else None
        medians[label] = statistics.median(numbers) if numbers else float("nan")
        cells = " | ".join(_fmt(v) for v in values)
        print(f"| {label.strip()} | {cells} | {_fmt(median)} | {_verdict(median, target)} |")
    print()
    print(reading(medians))
    for i, (path, r) in enumerate(zip(paths, runs)):
        print(f"## Run {i + 1} (`{path}`)\n")
        print(f"Machine load average at start/end: {r.get('load_average_start')} / {r.get('load_average_end')}.\n")
        print("```")
        print(format_table(r))
        print("```\n")


if __name__ == "__main__":
    main(sys.argv[1:] or ["benchmarks/run1.json", "benchmarks/run2.json", "benchmarks/run3.json"])
