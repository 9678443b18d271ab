"""The readable table of one benchmark run (`format_table`), shared by `python -m benchmarks.bench` and the
report (benchmarks/report.py prints one per run). Works from the run's JSON dict alone, without TensorFlow."""

from __future__ import annotations

from typing import List

from benchmarks.harness import MATMUL_N

TOOL = "benchmarks.bench"   # the "tool" of a run's JSON: the module that measured it


def _mark(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


BOUNDS = {"two_image_update_bound": "upper bound for a method that updates once on [x; x'] after Madry's attack "
                                   "(t_madry / (t_madry + t_madry_update))",
          "two_updates_bound": "upper bound for a method that updates twice on [x; x'] after Madry's attack, "
                               "as DRRDN (t_madry / (t_madry + 3 t_madry_update))"}


def _ratio_lines(lines: list, ratios: dict) -> None:
    """Appends one line per ratio (wall clock, and from CPU seconds) to `lines`."""
    for k, val in ratios.items():
        if not k.endswith("_cpu"):
            if k in BOUNDS:
                lines.append(f"  {BOUNDS[k]}: {val:.3f} (CPU: {ratios[k + '_cpu']:.3f})")
                continue
            lines.append(f"  {k.replace('_over_', '/')}: {val:.3f} images/s "
                         f"(from CPU seconds per step: {ratios[k + '_cpu']:.3f})")


PROFILE_KINDS = {"convolution": "convolutions", "matmul": "matmuls (dense layers, first conv's input grad)",
                 "max_pool": "max-pool forward", "relu_grad": "ReLU gradients",
                 "xla": "XLA clusters (max-pool gradients, first-conv col2im)", "other": "other ops"}


def _profile_lines(p: dict) -> List[str]:
    """The lines of the PGD profile: time per PGD step by op kind and outside any op."""
    if "error" in p:
        return [f"Where a PGD call's time goes: unavailable ({p['error']})"]
    lines = [f"Where a PGD-{p['steps']} call's time goes (tf.profiler, one call of {p['wall_seconds']:.3f} s; "
             "per PGD step)"]
    for kind, label in PROFILE_KINDS.items():
        k = p["kinds"][kind]
        lines.append(f"  {label:<55} {k['ms_per_step']:7.2f} ms {100 * k['fraction_of_wall']:6.1f}%")
    lines.append(f"  {'outside any op (dispatch, waits)':<55} "
                 f"{1e3 * p['wall_seconds'] * (1 - p['busy_fraction']) / p['steps']:7.2f} ms "
                 f"{100 * (1 - p['busy_fraction']):6.1f}%")
    if "convolution_gflops" in p:
        lines.append(f"  convolution ops: {p['convolution_gflops']:.1f} GFLOP/s, "
                     f"{p['convolution_fraction_of_matmul']:.3f} of the matmul's")
    return lines


def format_table(r: dict) -> str:
    """One run's figures as a readable table (a run's JSON dict in, text out)."""
    lines = []
    v = r["versions"]
    lines.append(f"{r.get('tool', TOOL)}: TensorFlow {v['tensorflow']}, Keras {v['keras']}, {r['cpu_count']} "
                 f"CPUs, load average {r['load_average_start'][0]:.2f} -> {r['load_average_end'][0]:.2f}, "
                 f"{r['wall_seconds']:.0f} s")
    st = r["settings"]
    lines.append(f"medians of {st['repeats']} repetitions of >= {st['steps']} calls after {st['warmup']} warm-up "
                 f"call(s); batch {st['batch_size']}")
    lines.append(f"matmul {MATMUL_N}x{MATMUL_N} float32: {r['matmul_gflops']:.1f} GFLOP/s")
    fl = r["flops_per_image"]
    lines.append(f"SmallCNN inference forward: {fl['small_cnn_inference'] / 1e6:.2f} MFLOP/image "
                 f"(tf.profiler: {fl['small_cnn_inference_tf_profiler'] / 1e6:.2f})"
                 if fl["small_cnn_inference_tf_profiler"] else
                 f"SmallCNN inference forward: {fl['small_cnn_inference'] / 1e6:.2f} MFLOP/image")
    lines.append("")

    def train_table(title, train, with_real):
        """Appends the training table of `train` (method -> figures) under `title`."""
        lines.append(title)
        head = f"  {'method':<9} {'img/s':>8} {'s/step':>8} {'cpu s':>8} {'GFLOP/s':>8} {'%matmul':>8} " \
               f"{'cpu util':>8} {'attack%':>8} {'(cpu)':>6}"
        if with_real:
            head += f" {'real img/s':>10} {'real/syn':>8} {'(cpu)':>6}"
        lines.append(head + "  retraced")
        for m, t in train.items():
            att = (f"{100 * t['attack_fraction']:7.1f}% {100 * t['attack_fraction_cpu']:5.1f}%"
                   if "attack_fraction" in t else f"{'-':>8} {'-':>6}")
            row = (f"  {m:<9} {t['images_per_sec']:8.1f} {t['seconds_per_step']:8.3f} "
                   f"{t['cpu_seconds_per_step']:8.3f} {t['gflops']:8.1f} "
                   f"{100 * t['fraction_of_matmul']:7.1f}% {100 * t['cpu_utilisation']:7.0f}% {att}")
            if with_real:
                row += (f" {t['real_data_images_per_sec']:10.1f} {t['pipeline_ratio']:8.3f} "
                        f"{t['pipeline_ratio_cpu']:6.3f}")
            lines.append(row + f"  {t['retraced']}")

    train_table(f"Training, SmallCNN 28x28x1, PGD-{st['pgd_steps']} (eps 0.3, step 0.01), in-memory batch; "
                "real = demo-set pipeline", r["train"], True)
    _ratio_lines(lines, r["ratios"])
    if r.get("wrn"):
        w = r["wrn"]
        lines.append("")
        train_table(f"Training, WRN-{w['depth']}-{w['width']} 32x32x3 random input, PGD-{w['pgd_steps']}",
                    w["train"], False)
        _ratio_lines(lines, w["ratios"])
    lines.append("")
    lines.append("Attack (PGD class, eps 0.3, step 0.01, keep_best), SmallCNN classifier")
    lines.append(f"  {'attack':<9} {'img/s':>8} {'s/call':>8} {'GFLOP/s':>8} {'%matmul':>8}  retraced")
    for name, a in r["attack"].items():
        if name == "setup":
            continue
        lines.append(f"  {name:<9} {a['images_per_sec']:8.1f} {a['seconds_per_call']:8.3f} {a['gflops']:8.1f} "
                     f"{100 * a['fraction_of_matmul']:7.1f}%  {a['retraced']}")
    p = r["pgd_step"]
    lines.append(f"  one PGD step {1e3 * p['seconds_per_step']:.2f} ms vs forward+backward w.r.t. input "
                 f"{1e3 * p['fwd_bwd_seconds']:.2f} ms: ratio {r['pgd_step_over_fwd_bwd']:.3f} "
                 f"(from CPU seconds: {r['pgd_step_over_fwd_bwd_cpu']:.3f})")
    if "conv_speedup" in r:
        c = r["conv_speedup"]
        lines.append(f"  drrdn_tf.conv.Conv2D over keras.layers.Conv2D (same SmallCNN weights), images/s: "
                     f"forward+input gradient x{c['input_gradient']:.3f}, forward+weight gradients "
                     f"x{c['weight_gradients']:.3f}")
    if r.get("pgd_profile"):
        lines.append("")
        lines.extend(_profile_lines(r["pgd_profile"]))
    lines.append("")
    mem = r["memory"]
    tf_peak = f"{mem['tf_cpu_peak_mb']:.0f} MB" if mem["tf_cpu_peak_mb"] is not None else "n/a"
    lines.append(f"Memory: peak RSS {mem['peak_rss_mb']:.0f} MB, TensorFlow CPU allocator peak {tf_peak}")
    lines.append(f"Retracing after the first batch: {r['retraced']}")
    lines.append("")
    lines.append("Targets")
    for name, t in r["targets"].items():
        value = t["value"] if isinstance(t["value"], bool) else f"{t['value']:.3f}"
        lines.append(f"  [{_mark(t['pass'])}] {name}: {value} (target {t['target']})")
    return "\n".join(lines)
