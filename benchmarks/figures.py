"""From timed jobs to the figures of the JSON: per-method training figures, ratios, the PGD step, targets.

Every ratio is a median of per-repetition ratios between jobs timed side by side in the same round-robin
repetition; the keys ending in `_cpu` give the same ratio from process CPU seconds, which other processes
sharing the cores disturb much less. Targets are judged on the wall-clock figures (printed PASS/MISS; never
asserted).
"""

from __future__ import annotations

import statistics
from typing import Dict, List, Optional

from benchmarks.harness import Job, paired_ratio

TARGET_DRRDN_OVER_MADRY = 0.9
TARGET_ATTACK_FRACTION_OF_MATMUL = 0.65
TARGET_PIPELINE_DEVIATION = 0.03


def train_summary(method: str, jobs: Dict[str, Job], matmul: Job, attack_flops: Optional[int] = None) -> dict:
    """One method's training figures; ratios are paired per repetition (`paired_ratio`)."""
    syn = jobs["synthetic"]
    out = syn.summary(matmul)
    out["seconds_per_step"] = out.pop("seconds_per_call")
    out["cpu_seconds_per_step"] = out.pop("cpu_seconds_per_call")
    retraced = [j.traces.retraced() for j in jobs.values() if j.traces is not None]
    if "real" in jobs:
        real = jobs["real"]
        out["real_data_images_per_sec"] = real.units_per_sec()
        out["real_data_samples_images_per_sec"] = real.rates()
        out["pipeline_ratio"] = paired_ratio(real, syn)
        # the same from process CPU time (tf.data's threads included): less sensitive to other processes
        out["pipeline_ratio_cpu"] = statistics.median(s / r for s, r in zip(syn.cpu, real.cpu))
    if "rest" in jobs:
        rest = jobs["rest"]
        attack_seconds = [t - r for t, r in zip(syn.wall, rest.wall)]
        out["non_attack_seconds_per_step"] = rest.seconds_per_call()
        out["attack_seconds_per_step"] = statistics.median(attack_seconds)
        out["attack_fraction"] = statistics.median(1.0 - r / t for r, t in zip(rest.wall, syn.wall))
        out["attack_fraction_cpu"] = statistics.median(1.0 - r / t for r, t in zip(rest.cpu, syn.cpu))
        if attack_flops:
            # per repetition: the attack's useful GFLOP/s, and that over the matmul's in the same repetition
            pairs = [(syn.units_per_call * attack_flops / a / 1e9, rm * matmul.flops_per_unit / 1e9)
                     for a, rm in zip(attack_seconds, matmul.rates()) if a > 0]   # noise can make a <= 0
            if pairs:
                out["attack_gflops"] = statistics.median(g for g, _ in pairs)
                out["attack_fraction_of_matmul"] = statistics.median(g / m for g, m in pairs)
    out["retraced"] = any(retraced)
    out["traces"] = syn.traces.count()
    return out


def ratios_of(jobs: Dict[str, Dict[str, Job]]) -> dict:
    """Images/s of each method over Madry's (synthetic data), paired per repetition, and two upper bounds
    from Madry's own step and update times."""
    out = {}
    if "madry" in jobs:
        for m in ("drrdn", "trades", "standard"):
            if m in jobs:
                a, b = jobs[m]["synthetic"], jobs["madry"]["synthetic"]
                out[f"{m}_over_madry"] = statistics.median(ra / rb for ra, rb in zip(a.rates(), b.rates()))
                # from process CPU seconds per step: less sensitive to other processes sharing the cores
                out[f"{m}_over_madry_cpu"] = statistics.median(cb / ca for ca, cb in zip(a.cpu, b.cpu))
        if "rest" in jobs["madry"] and ("drrdn" in jobs or "trades" in jobs):
            # A method that runs Madry's attack and then updates on [x; x'] (2 images per batch image, as
            # DRRDN and TRADES do) costs at least Madry's step plus Madry's update once more:
            # t_madry / (t_madry + t_madry_update) bounds its ratio from above.
            # DRRDN updates on [x; x'] twice (line 6, then lines 7-9 through the weights line 6 moved): at least
            # three more Madry updates, t_madry / (t_madry + 3 t_madry_update), before any of its heads.
            step, rest = jobs["madry"]["synthetic"], jobs["madry"]["rest"]
            for key, extra in (("two_image_update_bound", 1), ("two_updates_bound", 3)):
                out[key] = statistics.median(t / (t + extra * r) for t, r in zip(step.wall, rest.wall))
                out[key + "_cpu"] = statistics.median(t / (t + extra * r) for t, r in zip(step.cpu, rest.cpu))
    return out


def attack_figures(attack_jobs: Dict[str, Job], matmul: Job, attack_steps: List[int], batch: int) -> dict:
    """{"attack", "pgd_step", "pgd_step_over_fwd_bwd", "pgd_step_over_fwd_bwd_cpu", "conv_speedup"}: the
    evaluation PGD-K and forward + backward figures, and the cost of one PGD step over one forward + backward
    w.r.t. the input. The step time is the difference quotient between the fewest and the most steps measured
    ((t_PGD-hi - t_PGD-lo) / (hi - lo), which cancels each call's fixed costs), or t_PGD-K / K for one K."""
    attack = {}
    for k in attack_steps:
        attack[f"pgd{k}"] = {"steps": k, **attack_jobs[f"pgd{k}"].summary(matmul)}
    for name in ("fwd_bwd", "fwd_bwd_keras_conv", "fwd_bwd_weights", "fwd_bwd_weights_keras_conv"):
        attack[name] = attack_jobs[name].summary(matmul)
    # drrdn_tf's Conv2D over keras.layers.Conv2D, same weights, paired per repetition
    conv_speedup = {
        "input_gradient": paired_ratio(attack_jobs["fwd_bwd"], attack_jobs["fwd_bwd_keras_conv"]),
        "weight_gradients": paired_ratio(attack_jobs["fwd_bwd_weights"], attack_jobs["fwd_bwd_weights_keras_conv"])}
    t_fb = attack["fwd_bwd"]["seconds_per_call"]
    ks = sorted(attack_steps)
    per_step_avg = {f"pgd{k}": attack[f"pgd{k}"]["seconds_per_call"] / k for k in ks}
    step = {"fwd_bwd_seconds": t_fb, "seconds_per_step_average": per_step_avg}
    if len(ks) >= 2:
        lo, hi = ks[0], ks[-1]
        diff = (attack[f"pgd{hi}"]["seconds_per_call"] - attack[f"pgd{lo}"]["seconds_per_call"]) / (hi - lo)
        step["seconds_per_step_differential"] = diff
        step["differential_between"] = [lo, hi]
        step_seconds = diff
    else:
        step_seconds = per_step_avg[f"pgd{ks[0]}"]
    step["seconds_per_step"] = step_seconds
    step["avg_over_fwd_bwd"] = {k: v / t_fb for k, v in per_step_avg.items()}
    # the same from process CPU seconds (less sensitive to other processes sharing the cores)
    cpu_of = {k: statistics.median(attack_jobs[f"pgd{k}"].cpu) for k in ks}
    cpu_fb = statistics.median(attack_jobs["fwd_bwd"].cpu)
    cpu_step = (cpu_of[ks[-1]] - cpu_of[ks[0]]) / (ks[-1] - ks[0]) if len(ks) >= 2 else cpu_of[ks[0]] / ks[0]
    step["cpu_seconds_per_step"] = cpu_step
    step["fwd_bwd_cpu_seconds"] = cpu_fb
    attack["setup"] = {"model": "small_cnn classifier (inference path)", "eps": 0.3, "step_size": 0.01,
                       "restarts": 1, "keep_best": True, "batch_size": batch}
    return {"conv_speedup": conv_speedup, "attack": attack, "pgd_step": step,
            "pgd_step_over_fwd_bwd": step_seconds / t_fb, "pgd_step_over_fwd_bwd_cpu": cpu_step / cpu_fb}


def targets_of(r: dict) -> dict:
    """{name: {value, target, pass}} for every target the run can judge."""
    out = {}
    ratios = r["ratios"]
    if "drrdn_over_madry" in ratios:
        out["drrdn_over_madry"] = {"value": ratios["drrdn_over_madry"], "target": f">= {TARGET_DRRDN_OVER_MADRY}",
                                   "pass": ratios["drrdn_over_madry"] >= TARGET_DRRDN_OVER_MADRY}
    if r.get("wrn") and "drrdn_over_madry" in r["wrn"]["ratios"]:
        v = r["wrn"]["ratios"]["drrdn_over_madry"]
        out["wrn_drrdn_over_madry"] = {"value": v, "target": f">= {TARGET_DRRDN_OVER_MADRY}",
                                       "pass": v >= TARGET_DRRDN_OVER_MADRY}
    for name, a in r["attack"].items():
        if name.startswith("pgd"):
            v = a["fraction_of_matmul"]
            out[f"{name}_fraction_of_matmul"] = {"value": v, "target": f">= {TARGET_ATTACK_FRACTION_OF_MATMUL}",
                                                 "pass": v >= TARGET_ATTACK_FRACTION_OF_MATMUL}
    for m, v in r["pipeline"]["real_over_synthetic"].items():
        out[f"pipeline_{m}"] = {"value": v, "target": f"within {TARGET_PIPELINE_DEVIATION:.0%} of 1",
                                "pass": abs(v - 1.0) <= TARGET_PIPELINE_DEVIATION}
    out["no_retracing"] = {"value": r["retraced"], "target": "false", "pass": not r["retraced"]}
    return out
