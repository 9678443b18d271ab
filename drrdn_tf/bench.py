"""Throughput benchmark: what adversarial training and evaluation cost on this machine.

  python -m drrdn_tf.bench                          # everything, as a readable table
  python -m drrdn_tf.bench --json > bench.json      # the same figures as one JSON object on stdout
  python -m drrdn_tf.bench --methods=madry,drrdn --nowrn --steps=3 --repeats=5

Everything is measured in one process and one run. Every figure is the median over --repeats timed
repetitions, each of at least --steps calls (more for calls so short that --steps of them would last under
0.5 s), after --warmup untimed calls (the first of which traces the tf.functions). The measurements of a group
run round-robin (repetition 1 of every measurement, then repetition 2, ...), so a change of machine load
during the run hits all of them alike; the matmul reference runs inside every group. Ratios (DRRDN/Madry,
real/synthetic data, fraction of the matmul's GFLOP/s, attack share of a step) are medians of per-repetition
ratios of measurements taken side by side in the same round, so they stay fair when the load changes.

What is measured
  * matmul peak: GFLOP/s of a float32 2048x2048 matmul in a tf.function: the reference for "useful" rates.
  * training: images/s of each method's compiled train step (Standard, Madry, TRADES, DRRDN) at the paper's
    MNIST settings (SmallCNN, PGD-40 of step 0.01 at eps 0.3, batch 128), and the ratios DRRDN/Madry and
    TRADES/Madry; the attack's share of a step, as 1 - t(rest)/t(step), where "rest" is the train step of the
    same method built with pgd_steps=0 (the exact train_step graph minus the PGD iterations; timing the attack
    as a separate tf.function would time another graph); with --wrn the same on a small WRN (--wrn_depth,
    --wrn_width, random 32x32x3 input, the CIFAR-10 settings with PGD-10).
    Models are built by `training.build_model(config.settings_for(...))` and compiled with
    `training.make_optimizer(...)` and `registry.compile_kwargs(...)`, exactly as `python -m drrdn_tf.train`
    does, so the benchmark measures what users train.
  * input pipeline: training images/s on the real pipeline (`data.make_dataset` over the embedded demo set:
    shuffled, batched, uint8 -> float32 in the pipeline, repeated) over images/s on one in-memory batch
    (`tf.data.Dataset.from_tensors(batch).repeat()`, "synthetic"). Both go through the same compiled train
    function, so the ratio is the cost of the pipeline itself (target: within 3%).
  * attack: images/s of the evaluation `PGD` class (PGD-40 and PGD-100, eps 0.3, step 0.01, one restart,
    keep_best) on the inference path of the SmallCNN classifier, and the cost of one PGD step relative to one
    compiled forward + backward w.r.t. the input on the same batch. The step time is the difference quotient
    between the fewest and the most --attack_steps, e.g. (t_PGD-100 - t_PGD-40) / 60, which cancels each
    call's fixed costs (random start, final forward, dispatch); the plain average t_PGD-K / K is reported too.
  * where the time goes (--profile, on by default): one more call of the shortest evaluation PGD, traced with
    tf.profiler (`drrdn_tf.opprofile`): per PGD step, the time of its ops by kind (convolutions, matmuls,
    max-pool forward, ReLU gradients, XLA clusters, other ops) and outside any op, as shares of the call's wall
    time, and the GFLOP/s of the convolution ops alone (`pgd_conv_op_flops` / their time) over the matmul's.
  * memory: the process's peak resident set size (`ru_maxrss`) and TensorFlow's CPU allocator peak per group
    (`tf.config.experimental.get_memory_info("CPU:0")`).
  * retracing: whether any tf.function traced again after the first batch. Training: a counter around
    `model.train_step` (Python runs it only when tracing) plus `experimental_get_tracing_count()` of the
    tf.functions Keras' train function is made of; PGD: `PGD._perturb.experimental_get_tracing_count()`.

How a training step is timed
  `model.make_train_function()` builds the function `fit` calls once per step (steps_per_execution=1):
  `model.train_function(iterator)` = next batch from the tf.data iterator + the compiled `train_step`.
  The benchmark calls that function directly, with the iterator kept across repetitions. `fit` would add, per
  call of `fit`, the data adapter, the epoch iterator and callback set-up, and per step the callbacks and the
  progress bar: with `fit(ds.take(steps))` per repetition the set-up would be timed with every repetition, and
  it is not what a long training run pays per step. `train_on_batch` converts its inputs and resets the
  metrics every call. The timed loop ends by reading the loss of the last step (TensorFlow runs a function
  call on the CPU to completion before returning, so this adds nothing but makes the end explicit).

FLOP convention ("useful" work; only Conv2D and Dense multiply-adds count, 2 FLOPs each)
  F = forward FLOPs of one image through the inference path, from the layer shapes: 2*H_out*W_out*k*k*C_in*C_out
      per Conv2D, 2*in*out per Dense (bias, activations, pooling, batch norm and the loss are not counted).
      The tf.profiler count (`float_ops` of the frozen inference graph) is reported as a cross-check.
  A PGD step (forward + backward to the input, no weight gradients) counts 2F; a forward+backward with weight
  gradients inside a training tape counts 3F per image per pass. Per training image:
    Standard 3F;  Madry 2K*F + 3F;  TRADES F (natural logits) + 2K*F + 2*3F (the tape sees x and x');
    DRRDN 2K*F_a + 3x the forward FLOPs of every module use of its three updates, each on the 2 images [x; x']
    (`_drrdn_step_flops`), where F_a = F minus d_s: the attack
    runs `inference_fn`, which folds the linear d_s into c_s (the fold itself, one D x D x 200 product per
    step, is not counted).
  Evaluation PGD-K (keep_best): 2K*F + F (the final forward that checks the last iterate). Forward+backward
  w.r.t. the input: 2F. Matmul: 2*n^3. GFLOP/s = images/s * FLOPs per image / 1e9.

Targets (printed PASS/MISS; never asserted): DRRDN >= 0.9x Madry's images/s; PGD attack useful GFLOP/s >= 65%
of the matmul's; real pipeline within 3% of in-memory data; no retracing.

Noise: the CPU may be shared with other processes. The load average at the start and end of the run, each
measurement's per-repetition samples, its best repetition and its process CPU time per call (all threads,
tf.data's included) are reported, and the main ratios are given a second time from CPU seconds (keys ending
in `_cpu`: DRRDN/Madry, real/synthetic, attack share, PGD step / forward+backward), which other processes
disturb much less than wall-clock time. The targets are judged on wall-clock figures. On the 2-vCPU machine
this was written on, the same compiled SmallCNN step used to run at two or three distinct speeds (up to ~35%
apart) from one process, and one tf.function, to the next: TensorFlow rewrote each max-pool gradient to
oneDNN's kernel or not, at random. drrdn_tf.pooling.MaxPooling2D removed that; still, compare two or three
runs before trusting a ratio near a target.

Progress goes to stderr; with --json stdout holds nothing but the JSON object. Bad flags exit with status 2
and one line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

from absl import flags, logging

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

MIN_REP_SECONDS = 0.5        # a timed repetition lasts at least this long (more calls for short ones)
MATMUL_N = 2048
DEMO_TRAIN_IMAGES = 6000     # the embedded demo set's training split
MNIST_TRAIN_IMAGES, CIFAR_TRAIN_IMAGES = 60000, 50000   # for the optimizers' step schedules
TARGET_DRRDN_OVER_MADRY = 0.9
TARGET_ATTACK_FRACTION_OF_MATMUL = 0.65
TARGET_PIPELINE_DEVIATION = 0.03


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- flags

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


# --------------------------------------------------------------------------- measuring

class TraceCounter:
    """Sums tracing counts; `mark()` (after a first call) fixes the baseline, `retraced()` compares."""

    def __init__(self, sources: List[Callable[[], int]]):
        self.sources = sources
        self.baseline: Optional[int] = None

    def count(self) -> int:
        return int(sum(s() for s in self.sources))

    def mark(self) -> None:
        if self.baseline is None:
            self.baseline = self.count()

    def retraced(self) -> bool:
        return self.baseline is not None and self.count() > self.baseline


def _tf_functions(fn, depth: int = 4) -> list:
    """The tf.functions `fn` is made of: itself, or those found in its closures / __wrapped__ (Keras builds
    `train_function` as a plain Python function closing over its tf.functions)."""
    found, seen = [], set()

    def walk(f, d):
        if id(f) in seen:
            return
        seen.add(id(f))
        if hasattr(f, "experimental_get_tracing_count"):
            found.append(f)
            return
        if d == 0 or not callable(f):
            return
        inner = [getattr(f, "__wrapped__", None)]
        for cell in getattr(f, "__closure__", None) or ():
            try:
                inner.append(cell.cell_contents)
            except ValueError:
                pass
        for g in inner:
            if g is not None and (hasattr(g, "experimental_get_tracing_count") or hasattr(g, "__closure__")):
                walk(g, d - 1)

    walk(fn, depth)
    return found


class Job:
    """One measured thing: `call()` runs one unit (a train step, an attack on a batch, a matmul)."""

    def __init__(self, name: str, call: Callable, units_per_call: int, flops_per_unit: float,
                 traces: Optional[TraceCounter] = None):
        self.name, self.call = name, call
        self.units_per_call, self.flops_per_unit = units_per_call, flops_per_unit
        self.traces = traces
        self.calls_per_rep = 1
        self.warm_seconds: List[float] = []
        self.wall: List[float] = []   # seconds per call, one per repetition
        self.cpu: List[float] = []    # process CPU seconds per call

    def seconds_per_call(self) -> float:
        return statistics.median(self.wall)

    def units_per_sec(self) -> float:
        return self.units_per_call / self.seconds_per_call()

    def gflops(self) -> float:
        return self.units_per_sec() * self.flops_per_unit / 1e9

    def rates(self) -> List[float]:
        """Units per second of each repetition."""
        return [self.units_per_call / w for w in self.wall]

    def summary(self, matmul: Optional["Job"] = None) -> dict:
        out = {"seconds_per_call": self.seconds_per_call(),
               "images_per_sec": self.units_per_sec(),
               "flops_per_image": self.flops_per_unit,
               "gflops": self.gflops(),
               "cpu_seconds_per_call": statistics.median(self.cpu),
               # process CPU time / (wall time * cores): < 1 when the cores are shared or idle
               "cpu_utilisation": statistics.median(c / w for c, w in zip(self.cpu, self.wall)) / (os.cpu_count() or 1),
               "calls_per_repetition": self.calls_per_rep,
               "samples_images_per_sec": self.rates(),
               "best_images_per_sec": max(self.rates()),
               "first_call_seconds": self.warm_seconds[0] if self.warm_seconds else None}
        if matmul is not None:
            out["fraction_of_matmul"] = paired_ratio(self, matmul)
        if self.traces is not None:
            out["traces"] = self.traces.count()
            out["retraced"] = self.traces.retraced()
        return out


def paired_ratio(a: Job, b: Job) -> float:
    """Median over repetitions of (a's useful FLOP/s or, if either counts no FLOPs, its rate) / b's, each
    pair taken from the same round-robin repetition, so a change of load hits both sides alike."""
    if a.flops_per_unit and b.flops_per_unit:
        pairs = [(ra * a.flops_per_unit) / (rb * b.flops_per_unit) for ra, rb in zip(a.rates(), b.rates())]
    else:
        pairs = [ra / rb for ra, rb in zip(a.rates(), b.rates())]
    return statistics.median(pairs)


def _sync(out) -> None:
    """Reads one value of a call's result: the end of the timed work."""
    import tensorflow as tf
    leaves = [t for t in tf.nest.flatten(out) if tf.is_tensor(t)]
    if leaves:
        tf.reshape(leaves[0], [-1])[:1].numpy()


def run_group(title: str, jobs: List[Job], warmup: int, repeats: int, steps: int) -> None:
    """Warms every job up, then times `repeats` round-robin repetitions of every job."""
    for job in jobs:
        progress(f"{title}: warm-up {job.name} ({warmup} call(s), the first traces)")
        for i in range(warmup):
            t0 = time.perf_counter()
            _sync(job.call())
            job.warm_seconds.append(time.perf_counter() - t0)
            if i == 0 and job.traces is not None:
                job.traces.mark()
        per_call = job.warm_seconds[-1] if warmup == 1 else min(job.warm_seconds[1:])
        job.calls_per_rep = max(steps, min(1000, math.ceil(MIN_REP_SECONDS / max(per_call, 1e-6))))
    for r in range(repeats):
        progress(f"{title}: repetition {r + 1}/{repeats}")
        for job in jobs:
            c0, t0 = time.process_time(), time.perf_counter()
            out = None
            for _ in range(job.calls_per_rep):
                out = job.call()
            _sync(out)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            job.wall.append(wall / job.calls_per_rep)
            job.cpu.append(cpu / job.calls_per_rep)
            progress(f"  {job.name}: {job.units_per_call / job.wall[-1]:.1f} /s "
                     f"({job.wall[-1]:.3f} s/call x {job.calls_per_rep})")


class Memory:
    """Peak memory per group: the process RSS high-water mark and TensorFlow's CPU allocator peak."""

    def __init__(self):
        self.groups: Dict[str, dict] = {}

    @staticmethod
    def rss_peak_mb() -> float:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux, bytes on macOS
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024

    @staticmethod
    def reset_tf() -> None:
        import tensorflow as tf
        try:
            tf.config.experimental.reset_memory_stats("CPU:0")
        except Exception:  # noqa: BLE001 - not supported everywhere: the peak is then since start-up
            pass

    def record(self, group: str) -> None:
        import tensorflow as tf
        entry = {"rss_peak_mb_so_far": self.rss_peak_mb()}
        try:
            info = tf.config.experimental.get_memory_info("CPU:0")
            entry["tf_cpu_peak_mb"] = info["peak"] / 2 ** 20
        except Exception:  # noqa: BLE001 - no allocator statistics on this device
            entry["tf_cpu_peak_mb"] = None
        self.groups[group] = entry


# --------------------------------------------------------------------------- FLOPs

def layer_flops(layer) -> int:
    """Forward FLOPs per image of every Conv2D and Dense inside `layer` (see the module doc's convention).

    Dense layers are taken to see one feature row per image (true for every head in this package)."""
    import keras
    total = 0
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        if isinstance(sub, keras.layers.Conv2D):
            kh, kw, cin_per_group, cout = (int(d) for d in sub.kernel.shape)
            _, h, w, _ = sub.output.shape if sub.data_format == "channels_last" else \
                (sub.output.shape[0], sub.output.shape[2], sub.output.shape[3], sub.output.shape[1])
            total += 2 * int(h) * int(w) * kh * kw * cin_per_group * cout
        elif isinstance(sub, keras.layers.Dense):
            din, dout = (int(d) for d in sub.kernel.shape)
            total += 2 * din * dout
    return total


def inference_flops(model) -> int:
    """F: forward FLOPs per image of the inference path (images -> logits) as `call` computes it."""
    from drrdn_tf.methods.drrdn import DRRDN
    if isinstance(model, DRRDN):
        return layer_flops(model.encoder) + layer_flops(model.d_s) + layer_flops(model.c_s)
    if hasattr(model, "classifier"):
        return layer_flops(model.encoder) + layer_flops(model.classifier)
    return layer_flops(model)


def attack_path_flops(model) -> int:
    """Forward FLOPs per image of the path the attacks run (`model.inference_fn()`): F, except that DRRDN
    folds its linear d_s into c_s's first layer, so its attack path costs what the baselines' does."""
    from drrdn_tf.methods.drrdn import DRRDN
    if isinstance(model, DRRDN) and model.folds_d_s():
        return layer_flops(model.encoder) + layer_flops(model.c_s)
    return inference_flops(model)


def _drrdn_step_flops(model) -> int:
    """FLOPs per batch image of DRRDN's train step besides the attack, counted on its 2 images [x; x']: every
    module 3x per use (forward, and backward with input and weight gradients). Update 1: g, d_s, d_i, c_s(z_s),
    c_i(z_i), c_i(sg z_s); T's update: T on joint and shuffled pairs; update 3: g, d_s, d_i again, c_i(z_s),
    c_s(z_i), and with MI/REC on: d_s, d_i on sg(z), T twice, r."""
    enc, d_s, d_i = layer_flops(model.encoder), layer_flops(model.d_s), layer_flops(model.d_i)
    c_s, c_i, t, rec = (layer_flops(model.c_s), layer_flops(model.c_i), layer_flops(model.mine),
                        layer_flops(model.reconstructor))
    uses = 2 * (enc + d_s + d_i) + (c_s + 2 * c_i) + 2 * t + (c_i + c_s)
    if model.lambda_mi or model.lambda_rec:
        uses += d_s + d_i + (2 * t if model.lambda_mi else 0) + (rec if model.lambda_rec else 0)
    return 2 * 3 * uses


def train_flops(model, method: str, pgd_steps: int) -> int:
    """Useful FLOPs per training image of one train step (module doc)."""
    f = inference_flops(model)
    if method == "standard":
        return 3 * f
    if method == "madry":
        return 2 * pgd_steps * f + 3 * f
    if method == "trades":
        return f + 2 * pgd_steps * f + 2 * 3 * f
    if method == "drrdn":
        return training_attack_flops(model, method, pgd_steps) + _drrdn_step_flops(model)
    raise ValueError(method)


def training_attack_flops(model, method: str, pgd_steps: int) -> int:
    """FLOPs per image of the training attack's iterations (what a step with pgd_steps=0 leaves out; TRADES'
    natural-logits forward stays in that step)."""
    return 2 * pgd_steps * attack_path_flops(model)


def pgd_conv_op_flops(model, steps: int) -> int:
    """FLOPs per image that the convolution ops themselves run in an evaluation PGD-`steps` call (keep_best):
    every Conv2D's forward steps + 1 times, and its input gradient `steps` times unless drrdn_tf.conv.Conv2D
    computes that gradient as a matmul + col2im (a first layer with few input channels)."""
    import keras

    from drrdn_tf.nn.fast.conv import Conv2D as FastConv2D
    total = 0
    for sub in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(sub, keras.layers.Conv2D):
            f = layer_flops(sub)
            total += (steps + 1) * f
            if not (isinstance(sub, FastConv2D) and sub._fast_input_grad(sub.input)):
                total += steps * f
    return total


def pgd_profile(attack, images, labels, model, matmul_gflops: float) -> dict:
    """One call of `attack` (a PGD) on the batch under tf.profiler (`opprofile.profile_call`), per PGD step:
    seconds by op kind, their share of the call's wall time, and the convolution ops' GFLOP/s."""
    from drrdn_tf import opprofile
    summary = opprofile.profile_call(lambda: attack.perturb(images, labels))
    if "error" in summary:
        progress(f"PGD profile unavailable: {summary['error']}")
        return summary
    steps, wall = attack.steps, summary["wall_seconds"]
    out = {"steps": steps, "wall_seconds": wall, "busy_fraction": summary["busy_seconds"] / wall,
           "kinds": {k: {"ms_per_step": 1e3 * v["seconds"] / steps, "fraction_of_wall": v["seconds"] / wall,
                         "events": v["events"]} for k, v in summary["kinds"].items()},
           "top_ops": summary["top_ops"]}
    conv_seconds = summary["kinds"]["convolution"]["seconds"]
    if conv_seconds > 0:
        conv_flops = int(images.shape[0]) * pgd_conv_op_flops(model, steps)
        out["convolution_gflops"] = conv_flops / conv_seconds / 1e9
        out["convolution_fraction_of_matmul"] = out["convolution_gflops"] / matmul_gflops
    return out


def profiler_flops(model, input_shape) -> Optional[int]:
    """tf.profiler's float_ops of the frozen inference graph for one image (a cross-check), or None."""
    import tensorflow as tf
    try:
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(
            tf.TensorSpec((1,) + tuple(input_shape), tf.float32))
        graph = convert_variables_to_constants_v2(fn).graph
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        verbosity = logging.get_verbosity()
        logging.set_verbosity(logging.ERROR)
        try:
            prof = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                                 options=opts)
        finally:
            logging.set_verbosity(verbosity)
        return int(prof.total_float_ops)
    except Exception as e:  # noqa: BLE001 - only a cross-check
        progress(f"tf.profiler FLOP count unavailable: {type(e).__name__}: {e}")
        return None


# --------------------------------------------------------------------------- building the jobs

def matmul_job(n: int = MATMUL_N) -> Job:
    import tensorflow as tf
    a = tf.random.uniform((n, n), -1.0, 1.0, seed=1)
    b = tf.random.uniform((n, n), -1.0, 1.0, seed=2)
    fn = tf.function(lambda a, b: tf.matmul(a, b))
    return Job("matmul", lambda: fn(a, b), 1, 2.0 * n ** 3, TraceCounter([fn.experimental_get_tracing_count]))


def build_compiled(settings, input_shape, steps_per_epoch: int):
    """The model users train, compiled as `training.run` compiles it."""
    from drrdn_tf import training
    from drrdn_tf.methods import registry
    model = training.build_model(settings, input_shape, 10)
    model.compile(optimizer=training.make_optimizer(settings, steps_per_epoch),
                  **registry.compile_kwargs(settings, model), jit_compile=settings.jit_compile)
    return model


def _counted_train_function(model):
    """model.make_train_function(), with a TraceCounter over it: a counter around `train_step` (Python runs it
    only while tracing) plus the tracing counts of the tf.functions Keras' train function is made of."""
    python_traces = [0]
    original = model.train_step

    def counted_train_step(data):
        python_traces[0] += 1
        return original(data)

    model.train_step = counted_train_step
    model.make_train_function()
    train_function = model.train_function
    counter = TraceCounter([lambda: python_traces[0]] +
                           [f.experimental_get_tracing_count for f in _tf_functions(train_function)])
    return train_function, counter


def train_jobs(method: str, model, sources: Dict[str, object], pgd_steps: int, batch: int, prefix: str,
               rest_model=None) -> Dict[str, Job]:
    """Jobs for one compiled model: a train step per data source (the same train function); and, with
    `rest_model` (the same method built with pgd_steps=0), the step without its attack iterations, on the
    synthetic batch: the attack's share of a step is 1 - rest/step, both timed on the exact train_step graph."""
    train_function, counter = _counted_train_function(model)
    flops = train_flops(model, method, pgd_steps)
    jobs = {}
    for source, dataset in sources.items():
        iterator = iter(dataset)
        jobs[source] = Job(f"{prefix}{method}/{source}", (lambda it=iterator: train_function(it)), batch, flops,
                           counter)
    if rest_model is not None:
        rest_function, rest_counter = _counted_train_function(rest_model)
        iterator = iter(sources["synthetic"])
        jobs["rest"] = Job(f"{prefix}{method}/no_attack", (lambda it=iterator: rest_function(it)), batch,
                           train_flops(rest_model, method, 0), rest_counter)
    return jobs


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
    """Images/s of each method over Madry's (synthetic data), paired per repetition."""
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


# --------------------------------------------------------------------------- the run

def run_benchmark(opts: dict) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from drrdn_tf import data as data_lib
    from drrdn_tf.attacks.pgd import PGD

    t_start = time.time()
    keras.utils.set_random_seed(0)
    result = {
        "tool": "drrdn_tf.bench",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "cpu_count": os.cpu_count(),
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
        "load_average_start": list(os.getloadavg()),
        "settings": dict(opts),
        "flop_convention": ("Conv2D/Dense multiply-adds only, 2 FLOPs each; F = inference-path forward FLOPs "
                            "per image; PGD step = 2F (forward + input-gradient backward); a forward+backward "
                            "pass in a training tape = 3F per image; evaluation PGD-K (keep_best) = 2K*F + F; "
                            "Standard 3F, Madry 2K*F + 3F, TRADES F + 2K*F + 6F, DRRDN 2K*F + 6*(forward "
                            "FLOPs of the modules its three tapes run); matmul 2n^3"),
    }
    memory = Memory()
    batch, steps, repeats, warmup = opts["batch_size"], opts["steps"], opts["repeats"], opts["warmup"]
    matmul_samples: List[Job] = []

    # ---- the real data and one in-memory batch of it
    raw = data_lib.load_raw("demo")
    real_ds = data_lib.make_dataset(raw.train.images, raw.train.labels, batch, shuffle=True, seed=0,
                                    drop_remainder=True).repeat()
    x_mem = tf.constant(data_lib.to_float(raw.train.images[:batch]))
    y_mem = tf.constant(raw.train.labels[:batch].astype(np.int32))
    synthetic_ds = tf.data.Dataset.from_tensors((x_mem, y_mem)).repeat()

    # ---- attack: PGD-K evaluation and a forward+backward w.r.t. the input, SmallCNN classifier
    memory.reset_tf()
    s = config_lib.settings_for("mnist", method="madry")
    model = build_compiled(s, (28, 28, 1), MNIST_TRAIN_IMAGES // batch)
    f_small = inference_flops(model)
    result["flops_per_image"] = {"small_cnn_inference": f_small,
                                 "small_cnn_inference_tf_profiler": profiler_flops(model, (28, 28, 1))}
    model_fn = lambda v: model(v, training=False)  # noqa: E731
    jobs, attacks = [], {}
    for k in opts["attack_steps"]:
        attack = attacks[k] = PGD(model_fn, eps=s.eps, step_size=s.step_size, steps=k, seed=0)
        jobs.append(Job(f"pgd{k}", (lambda a=attack: a.perturb(x_mem, y_mem)), batch, (2 * k + 1) * f_small,
                        TraceCounter([attack._perturb.experimental_get_tracing_count])))

    def make_fwd_bwd(fn, weights):
        """A compiled forward + backward of the cross-entropy of fn: gradients w.r.t. the input, and `weights`."""
        @tf.function(reduce_retracing=True)
        def run(x, y):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=fn(x)))
            return tape.gradient(loss, [x] + weights if weights else x)
        return run

    # The same classifier with keras.layers.Conv2D (same weights): what drrdn_tf.conv.Conv2D saves, for the
    # input gradient (every PGD step) and for a forward + backward with weight gradients (every update).
    from drrdn_tf.nn import backbones
    keras_encoder = backbones.small_cnn((28, 28, 1), conv=keras.layers.Conv2D)
    keras_encoder.set_weights(model.encoder.get_weights())
    keras_fn = lambda v: model.classifier(keras_encoder(v, training=False), training=False)  # noqa: E731
    for name, fn, flops in (("fwd_bwd", make_fwd_bwd(model_fn, None), 2 * f_small),
                            ("fwd_bwd_keras_conv", make_fwd_bwd(keras_fn, None), 2 * f_small),
                            ("fwd_bwd_weights", make_fwd_bwd(model_fn, model.encoder.trainable_variables), 3 * f_small),
                            ("fwd_bwd_weights_keras_conv", make_fwd_bwd(keras_fn, keras_encoder.trainable_variables),
                             3 * f_small)):
        jobs.append(Job(name, (lambda f=fn: f(x_mem, y_mem)), batch, flops,
                        TraceCounter([fn.experimental_get_tracing_count])))
    jobs.append(matmul_job())
    matmul_samples.append(jobs[-1])
    run_group("attack", jobs, warmup, repeats, steps)
    memory.record("attack")
    attack_jobs = {j.name: j for j in jobs}
    if opts["profile"]:
        k = min(opts["attack_steps"])
        progress(f"profiling one PGD-{k} call (tf.profiler)")
        result["pgd_profile"] = pgd_profile(attacks[k], x_mem, y_mem, model, jobs[-1].gflops())

    # ---- training on MNIST / SmallCNN: synthetic and real data, and the step without its attack iterations
    memory.reset_tf()
    models, all_jobs, by_method, attack_flops = {}, [], {}, {}   # models stay alive until the figures are out
    for method in opts["methods"]:
        progress(f"building {method} (SmallCNN, PGD-{opts['pgd_steps']})")
        s = config_lib.settings_for("mnist", method=method, pgd_steps=opts["pgd_steps"], batch_size=batch,
                                    jit_compile=opts["jit_compile"])
        m = build_compiled(s, (28, 28, 1), MNIST_TRAIN_IMAGES // batch)
        rest = None if method == "standard" else \
            build_compiled(dataclasses.replace(s, pgd_steps=0), (28, 28, 1), MNIST_TRAIN_IMAGES // batch)
        models[method] = (m, rest)
        attack_flops[method] = training_attack_flops(m, method, opts["pgd_steps"])
        by_method[method] = train_jobs(method, m, {"synthetic": synthetic_ds, "real": real_ds},
                                       opts["pgd_steps"], batch, "", rest_model=rest)
        all_jobs.extend(by_method[method].values())
    all_jobs.append(matmul_job())
    matmul_samples.append(all_jobs[-1])
    run_group("train", all_jobs, warmup, repeats, steps)
    memory.record("train")

    # ---- training on a small WRN, random 32x32x3 input
    wrn_jobs = None
    if opts["wrn"]:
        memory.reset_tf()
        rng = np.random.default_rng(0)
        x_wrn = tf.constant(rng.uniform(0, 1, (batch, 32, 32, 3)).astype(np.float32))
        y_wrn = tf.constant(rng.integers(0, 10, batch).astype(np.int32))
        wrn_ds = tf.data.Dataset.from_tensors((x_wrn, y_wrn)).repeat()
        wrn_jobs, all_jobs, wrn_flops, wrn_attack_flops = {}, [], None, {}
        for method in opts["methods"]:
            progress(f"building {method} (WRN-{opts['wrn_depth']}-{opts['wrn_width']}, PGD-{opts['wrn_pgd_steps']})")
            s = config_lib.settings_for("cifar10", method=method, pgd_steps=opts["wrn_pgd_steps"],
                                        wrn_depth=opts["wrn_depth"], wrn_width=opts["wrn_width"],
                                        batch_size=batch, jit_compile=opts["jit_compile"])
            m = build_compiled(s, (32, 32, 3), CIFAR_TRAIN_IMAGES // batch)
            rest = None if method == "standard" else \
                build_compiled(dataclasses.replace(s, pgd_steps=0), (32, 32, 3), CIFAR_TRAIN_IMAGES // batch)
            models["wrn/" + method] = (m, rest)
            if wrn_flops is None or method != "drrdn":
                wrn_flops = inference_flops(m)   # the classifier's (DRRDN's adds d_s)
            wrn_attack_flops[method] = training_attack_flops(m, method, opts["wrn_pgd_steps"])
            wrn_jobs[method] = train_jobs(method, m, {"synthetic": wrn_ds}, opts["wrn_pgd_steps"], batch, "wrn/",
                                          rest_model=rest)
            all_jobs.extend(wrn_jobs[method].values())
        all_jobs.append(matmul_job())
        matmul_samples.append(all_jobs[-1])
        run_group("wrn", all_jobs, warmup, repeats, steps)
        memory.record("wrn")

    # ---- figures
    gflops_samples = [2.0 * MATMUL_N ** 3 / w / 1e9 for j in matmul_samples for w in j.wall]
    matmul_gflops = statistics.median(gflops_samples)
    result["matmul_gflops"] = matmul_gflops
    result["matmul"] = {"n": MATMUL_N, "dtype": "float32", "gflops_samples": gflops_samples,
                        "group_gflops": {g: j.gflops() for g, j in zip(("attack", "train", "wrn"), matmul_samples)},
                        "retraced": any(j.traces.retraced() for j in matmul_samples)}

    train = {m: train_summary(m, by_method[m], matmul_samples[1], attack_flops[m]) for m in opts["methods"]}
    result["train"] = train
    result["train_setup"] = {"backbone": "small_cnn", "input_shape": [28, 28, 1], "batch_size": batch,
                             "pgd_steps": opts["pgd_steps"], "eps": 0.3, "step_size": 0.01,
                             "synthetic": "one in-memory batch of the demo set, from_tensors().repeat()",
                             "real": "data.make_dataset(demo train, shuffle, drop_remainder).repeat()"}
    result["ratios"] = ratios_of(by_method)
    pipeline = {m: train[m]["pipeline_ratio"] for m in train}
    result["pipeline"] = {"real_over_synthetic": pipeline,
                          "worst_deviation": max(abs(r - 1.0) for r in pipeline.values())}

    attack = {}
    for k in opts["attack_steps"]:
        attack[f"pgd{k}"] = {"steps": k, **attack_jobs[f"pgd{k}"].summary(matmul_samples[0])}
    for name in ("fwd_bwd", "fwd_bwd_keras_conv", "fwd_bwd_weights", "fwd_bwd_weights_keras_conv"):
        attack[name] = attack_jobs[name].summary(matmul_samples[0])
    # drrdn_tf.conv.Conv2D over keras.layers.Conv2D, same weights, paired per repetition
    result["conv_speedup"] = {
        "input_gradient": paired_ratio(attack_jobs["fwd_bwd"], attack_jobs["fwd_bwd_keras_conv"]),
        "weight_gradients": paired_ratio(attack_jobs["fwd_bwd_weights"], attack_jobs["fwd_bwd_weights_keras_conv"])}
    t_fb = attack["fwd_bwd"]["seconds_per_call"]
    ks = sorted(opts["attack_steps"])
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
    result["attack"] = attack
    result["pgd_step"] = step
    result["pgd_step_over_fwd_bwd"] = step_seconds / t_fb
    result["pgd_step_over_fwd_bwd_cpu"] = cpu_step / cpu_fb

    if wrn_jobs is not None:
        wtrain = {m: train_summary(m, wrn_jobs[m], matmul_samples[2], wrn_attack_flops[m]) for m in opts["methods"]}
        result["wrn"] = {"depth": opts["wrn_depth"], "width": opts["wrn_width"], "input_shape": [32, 32, 3],
                         "pgd_steps": opts["wrn_pgd_steps"], "batch_size": batch,
                         "flops_per_image_inference": wrn_flops,
                         "train": wtrain, "ratios": ratios_of(wrn_jobs)}
    else:
        result["wrn"] = None

    retraced = [result["matmul"]["retraced"]] + [t["retraced"] for t in train.values()] + \
        [a["retraced"] for a in attack.values() if "retraced" in a]
    if result["wrn"]:
        retraced += [t["retraced"] for t in result["wrn"]["train"].values()]
    result["retraced"] = any(retraced)

    memory.record("end")
    tf_peaks = [g["tf_cpu_peak_mb"] for g in memory.groups.values() if g["tf_cpu_peak_mb"] is not None]
    result["memory"] = {"peak_rss_mb": memory.rss_peak_mb(),
                        "tf_cpu_peak_mb": max(tf_peaks) if tf_peaks else None,
                        "groups": memory.groups}
    result["targets"] = targets_of(result)
    result["load_average_end"] = list(os.getloadavg())
    result["wall_seconds"] = time.time() - t_start
    return result


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


# --------------------------------------------------------------------------- output

def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


BOUNDS = {"two_image_update_bound": "upper bound for a method that updates once on [x; x'] after Madry's attack "
                                   "(t_madry / (t_madry + t_madry_update))",
          "two_updates_bound": "upper bound for a method that updates twice on [x; x'] after Madry's attack, "
                               "as DRRDN (t_madry / (t_madry + 3 t_madry_update))"}


def _ratio_lines(lines: list, ratios: dict) -> None:
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
    lines = []
    v = r["versions"]
    lines.append(f"drrdn_tf.bench: TensorFlow {v['tensorflow']}, Keras {v['keras']}, {r['cpu_count']} CPUs, "
                 f"load average {r['load_average_start'][0]:.2f} -> {r['load_average_end'][0]:.2f}, "
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


# --------------------------------------------------------------------------- CLI

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
    """Console entry point (`python -m drrdn_tf.bench`)."""
    run_app(main, interrupted="interrupted: no figures were written")


if __name__ == "__main__":
    run()
