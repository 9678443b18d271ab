"""Throughput benchmark: what adversarial training and evaluation cost on this machine.

  python -m benchmarks.bench                          # everything, as a readable table
  python -m benchmarks.bench --json > bench.json      # the same figures as one JSON object on stdout
  python -m benchmarks.bench --methods=madry,drrdn --nowrn --steps=3 --repeats=5

Run from the repository root. Everything is measured in one process, in three groups of jobs timed
round-robin, each with the matmul reference inside (`harness`): the evaluation attack (PGD-K and compiled
forward + backward passes on the SmallCNN classifier), training of every method on MNIST/SmallCNN (an in-memory
batch, the demo set's real pipeline, and the step without its attack iterations), and, with --wrn, training on
a small WRN with random 32x32x3 input. With --profile, one more PGD call is traced by op kind (`opprofile`).
Figures are medians over --repeats; ratios are medians of per-repetition ratios (`figures`); FLOPs are useful
Conv2D/Dense work (`flops`). What every figure means, and what the measurements taught: docs/design_notes.md ("The benchmark").

Progress goes to stderr; with --json stdout holds nothing but the JSON object. Bad flags exit with status 2
and one line (`error: ...`).
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from typing import List

from absl import flags, logging

from benchmarks import figures, flops, jobs as jobs_lib
from benchmarks.harness import MATMUL_N, Job, Memory, matmul_job, progress, run_group
from benchmarks.tables import TOOL, format_table
from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app

FLAGS = flags.FLAGS
flags.DEFINE_list("methods", ["standard", "madry", "trades", "drrdn"],
                  f"training methods to measure, comma-separated, from {', '.join(config_lib.METHODS)}")
flags.DEFINE_integer("batch_size", 128, "batch size of every measurement")
flags.DEFINE_integer("steps", 3, "timed calls per repetition (at least; short calls get more, up to 0.5 s)")
flags.DEFINE_integer("repeats", 5, "timed repetitions; figures are their medians")
flags.DEFINE_integer("warmup", 2, "untimed calls before timing (the first traces)")
flags.DEFINE_integer("pgd_steps", 40, "PGD steps of the training attack on MNIST/SmallCNN")
flags.DEFINE_list("attack_steps", ["40", "100"], "steps of the evaluation PGD attacks measured")
flags.DEFINE_boolean("wrn", True, "also measure training on a small WRN (random 32x32x3 input)")
flags.DEFINE_integer("wrn_depth", 10, "WRN depth (6n+4)")
flags.DEFINE_integer("wrn_width", 2, "WRN widening factor")
flags.DEFINE_integer("wrn_pgd_steps", 10, "PGD steps of the training attack on the WRN")
flags.DEFINE_string("jit_compile", "auto", "compile the train steps with XLA: auto (GPU/TPU only), true or false")
flags.DEFINE_boolean("profile", True, "break one PGD call's time down by op kind with tf.profiler")
flags.DEFINE_boolean("json", False, "print one JSON object on stdout instead of the table")

DEMO_TRAIN_IMAGES = 6000     # the embedded demo set's training split
MNIST_TRAIN_IMAGES, CIFAR_TRAIN_IMAGES = 60000, 50000   # for the optimizers' step schedules


def options_from_flags() -> dict:
    """The validated flags as a dict; calls `fail` on bad values."""
    methods = [m.strip().lower() for m in FLAGS.methods if m.strip()]
    if not methods:
        fail(f"--methods is empty: choose from {', '.join(config_lib.METHODS)}")
    unknown = [m for m in methods if m not in config_lib.METHODS]
    if unknown:
        fail(f"--methods: unknown method(s) {', '.join(unknown)}: choose from {', '.join(config_lib.METHODS)}")
    if len(set(methods)) != len(methods):
        fail(f"--methods lists a method twice: {','.join(methods)}")
    for name, low in (("batch_size", 1), ("steps", 1), ("repeats", 1), ("warmup", 1), ("pgd_steps", 1),
                      ("wrn_width", 1), ("wrn_pgd_steps", 1)):
        if getattr(FLAGS, name) < low:
            fail(f"--{name} must be >= {low}, got {getattr(FLAGS, name)}")
    if FLAGS.batch_size > DEMO_TRAIN_IMAGES:
        fail(f"--batch_size must be <= {DEMO_TRAIN_IMAGES} (the demo set's training images), got {FLAGS.batch_size}")
    if FLAGS.wrn_depth < 10 or (FLAGS.wrn_depth - 4) % 6:
        fail(f"--wrn_depth must be 6n+4 with n >= 1 (10, 16, 22, 28, ...), got {FLAGS.wrn_depth}")
    try:
        attack_steps = [int(s) for s in FLAGS.attack_steps]
    except ValueError:
        fail(f"--attack_steps must be a comma-separated list of integers, got {','.join(FLAGS.attack_steps)}")
    if not attack_steps or min(attack_steps) < 1 or len(set(attack_steps)) != len(attack_steps):
        fail(f"--attack_steps must list distinct integers >= 1, got {','.join(FLAGS.attack_steps)}")
    jit = FLAGS.jit_compile.lower()
    if jit not in ("auto", "true", "false"):
        fail(f"--jit_compile must be auto, true or false, got {FLAGS.jit_compile!r}")
    return {"methods": methods, "batch_size": FLAGS.batch_size, "steps": FLAGS.steps, "repeats": FLAGS.repeats,
            "warmup": FLAGS.warmup, "pgd_steps": FLAGS.pgd_steps, "attack_steps": attack_steps,
            "wrn": FLAGS.wrn, "wrn_depth": FLAGS.wrn_depth, "wrn_width": FLAGS.wrn_width,
            "wrn_pgd_steps": FLAGS.wrn_pgd_steps, "jit_compile": jit, "profile": FLAGS.profile}


def _environment(opts: dict) -> dict:
    """The run's header: versions, cores, threads, devices, the load at the start, the settings."""
    import keras
    import numpy as np
    import tensorflow as tf
    return {
        "tool": TOOL,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "cpu_count": os.cpu_count(),
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
        "load_average_start": list(os.getloadavg()),
        "settings": dict(opts),
        "flop_convention": flops.CONVENTION,
    }


def run_benchmark(opts: dict) -> dict:
    """Measures everything `opts` asks for and returns the result dict (the JSON object)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from drrdn_tf import data as data_lib

    t_start = time.time()
    keras.utils.set_random_seed(0)
    result = _environment(opts)
    memory = Memory()
    batch, steps, repeats, warmup = opts["batch_size"], opts["steps"], opts["repeats"], opts["warmup"]
    matmul_samples: List[Job] = []   # the matmul reference of each group: attack, train, wrn

    # ---- the real data and one in-memory batch of it
    raw = data_lib.load_raw("demo")
    real_ds = data_lib.make_dataset(raw.train.images, raw.train.labels, batch, shuffle=True, seed=0,
                                    drop_remainder=True).repeat()
    x_mem = tf.constant(data_lib.to_float(raw.train.images[:batch]))
    y_mem = tf.constant(raw.train.labels[:batch].astype(np.int32))
    synthetic_ds = tf.data.Dataset.from_tensors((x_mem, y_mem)).repeat()

    # ---- attack: PGD-K evaluation and forward+backward passes, SmallCNN classifier
    memory.reset_tf()
    s = config_lib.settings_for("mnist", method="madry")
    model = jobs_lib.build_compiled(s, (28, 28, 1), MNIST_TRAIN_IMAGES // batch)
    result["flops_per_image"] = {"small_cnn_inference": flops.inference_flops(model),
                                 "small_cnn_inference_tf_profiler": flops.profiler_flops(model, (28, 28, 1))}
    group, attacks = jobs_lib.attack_jobs(model, s, x_mem, y_mem, opts["attack_steps"])
    group.append(matmul_job())
    matmul_samples.append(group[-1])
    run_group("attack", group, warmup, repeats, steps)
    memory.record("attack")
    attack_jobs = {j.name: j for j in group}
    if opts["profile"]:
        k = min(opts["attack_steps"])
        progress(f"profiling one PGD-{k} call (tf.profiler)")
        result["pgd_profile"] = jobs_lib.pgd_profile(attacks[k], x_mem, y_mem, model, group[-1].gflops())

    # ---- training on MNIST / SmallCNN: synthetic and real data, and the step without its attack iterations
    memory.reset_tf()
    models, group, by_method, attack_flops = {}, [], {}, {}   # models stay alive until the figures are out
    for method in opts["methods"]:
        progress(f"building {method} (SmallCNN, PGD-{opts['pgd_steps']})")
        s = config_lib.settings_for("mnist", method=method, pgd_steps=opts["pgd_steps"], batch_size=batch,
                                    jit_compile=opts["jit_compile"])
        m, rest = models[method] = jobs_lib.build_with_rest(s, (28, 28, 1), MNIST_TRAIN_IMAGES // batch)
        attack_flops[method] = flops.training_attack_flops(m, method, opts["pgd_steps"])
        by_method[method] = jobs_lib.train_jobs(method, m, {"synthetic": synthetic_ds, "real": real_ds},
                                                opts["pgd_steps"], batch, "", rest_model=rest)
        group.extend(by_method[method].values())
    group.append(matmul_job())
    matmul_samples.append(group[-1])
    run_group("train", group, warmup, repeats, steps)
    memory.record("train")

    # ---- training on a small WRN, random 32x32x3 input
    wrn_jobs = None
    if opts["wrn"]:
        memory.reset_tf()
        rng = np.random.default_rng(0)
        x_wrn = tf.constant(rng.uniform(0, 1, (batch, 32, 32, 3)).astype(np.float32))
        y_wrn = tf.constant(rng.integers(0, 10, batch).astype(np.int32))
        wrn_ds = tf.data.Dataset.from_tensors((x_wrn, y_wrn)).repeat()
        wrn_jobs, group, wrn_flops, wrn_attack_flops = {}, [], None, {}
        for method in opts["methods"]:
            progress(f"building {method} (WRN-{opts['wrn_depth']}-{opts['wrn_width']}, PGD-{opts['wrn_pgd_steps']})")
            s = config_lib.settings_for("cifar10", method=method, pgd_steps=opts["wrn_pgd_steps"],
                                        wrn_depth=opts["wrn_depth"], wrn_width=opts["wrn_width"],
                                        batch_size=batch, jit_compile=opts["jit_compile"])
            m, rest = models["wrn/" + method] = jobs_lib.build_with_rest(s, (32, 32, 3), CIFAR_TRAIN_IMAGES // batch)
            if wrn_flops is None or method != "drrdn":
                wrn_flops = flops.inference_flops(m)   # the classifier's (DRRDN's adds d_s)
            wrn_attack_flops[method] = flops.training_attack_flops(m, method, opts["wrn_pgd_steps"])
            wrn_jobs[method] = jobs_lib.train_jobs(method, m, {"synthetic": wrn_ds}, opts["wrn_pgd_steps"], batch,
                                                   "wrn/", rest_model=rest)
            group.extend(wrn_jobs[method].values())
        group.append(matmul_job())
        matmul_samples.append(group[-1])
        run_group("wrn", group, warmup, repeats, steps)
        memory.record("wrn")

    # ---- figures
    gflops_samples = [2.0 * MATMUL_N ** 3 / w / 1e9 for j in matmul_samples for w in j.wall]
    result["matmul_gflops"] = statistics.median(gflops_samples)
    result["matmul"] = {"n": MATMUL_N, "dtype": "float32", "gflops_samples": gflops_samples,
                        "group_gflops": {g: j.gflops() for g, j in zip(("attack", "train", "wrn"), matmul_samples)},
                        "retraced": any(j.traces.retraced() for j in matmul_samples)}
    train = {m: figures.train_summary(m, by_method[m], matmul_samples[1], attack_flops[m]) for m in opts["methods"]}
    result["train"] = train
    result["train_setup"] = {"backbone": "small_cnn", "input_shape": [28, 28, 1], "batch_size": batch,
                             "pgd_steps": opts["pgd_steps"], "eps": 0.3, "step_size": 0.01,
                             "synthetic": "one in-memory batch of the demo set, from_tensors().repeat()",
                             "real": "data.make_dataset(demo train, shuffle, drop_remainder).repeat()"}
    result["ratios"] = figures.ratios_of(by_method)
    pipeline = {m: train[m]["pipeline_ratio"] for m in train}
    result["pipeline"] = {"real_over_synthetic": pipeline,
                          "worst_deviation": max(abs(r - 1.0) for r in pipeline.values())}
    result.update(figures.attack_figures(attack_jobs, matmul_samples[0], opts["attack_steps"], batch))

    if wrn_jobs is not None:
        wtrain = {m: figures.train_summary(m, wrn_jobs[m], matmul_samples[2], wrn_attack_flops[m])
                  for m in opts["methods"]}
        result["wrn"] = {"depth": opts["wrn_depth"], "width": opts["wrn_width"], "input_shape": [32, 32, 3],
                         "pgd_steps": opts["wrn_pgd_steps"], "batch_size": batch,
                         "flops_per_image_inference": wrn_flops,
                         "train": wtrain, "ratios": figures.ratios_of(wrn_jobs)}
    else:
        result["wrn"] = None

    retraced = [result["matmul"]["retraced"]] + [t["retraced"] for t in train.values()] + \
        [a["retraced"] for a in result["attack"].values() if "retraced" in a]
    if result["wrn"]:
        retraced += [t["retraced"] for t in result["wrn"]["train"].values()]
    result["retraced"] = any(retraced)

    memory.record("end")
    tf_peaks = [g["tf_cpu_peak_mb"] for g in memory.groups.values() if g["tf_cpu_peak_mb"] is not None]
    result["memory"] = {"peak_rss_mb": memory.rss_peak_mb(),
                        "tf_cpu_peak_mb": max(tf_peaks) if tf_peaks else None,
                        "groups": memory.groups}
    result["targets"] = figures.targets_of(result)
    result["load_average_end"] = list(os.getloadavg())
    result["wall_seconds"] = time.time() - t_start
    return result


def _finite(obj):
    """NaN/Inf (a degenerate measurement) -> None, so the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def main(argv) -> None:
    """absl main: validates the flags, measures with stdout pointed at stderr, prints the JSON or the table."""
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    opts = options_from_flags()
    # Anything written to stdout while measuring (by us or a library) goes to stderr: with --json, stdout
    # carries the JSON object only.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        result = run_benchmark(opts)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    if FLAGS.json:
        print(json.dumps(_finite(result), indent=2, sort_keys=True))
    else:
        print(format_table(result))
    sys.stdout.flush()


def run() -> None:
    """Entry point of `python -m benchmarks.bench`."""
    run_app(main, interrupted="interrupted: no figures were written")


if __name__ == "__main__":
    run()
