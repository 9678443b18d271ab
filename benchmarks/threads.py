"""Side-by-side benchmark: is one run on both cores, or two single-threaded runs at once, the faster way to
train several models on this machine?

  python -m benchmarks.threads                               # Madry, TRADES, DRRDN on MNIST/SmallCNN, PGD-40
  python -m benchmarks.threads --pairs=trades+drrdn --steps=8 --json

Run from the repository root, with nothing else running. Every measurement is a fresh process (the thread
pools are fixed when TensorFlow starts) that builds a method's model as `python -m drrdn_tf.train` does
(`jobs.build_compiled`), calls its train function on one in-memory batch --warmup times, then times --steps
calls and reports their median seconds. Three kinds of measurement, repeated --repeats times round-robin:
  - alone: one process with TensorFlow's default threads (one per core), per method;
  - alone_1: one process with one thread per op (intra_op = inter_op = 1), per method;
  - side_by_side: the two methods of each --pairs entry in two processes started together, one thread each.
Throughput gain of a pair = (1/t_a + 1/t_b) side by side over the mean of 1/t_a and 1/t_b alone, both with
the default threads: above 1 means two runs at once finish a pair of trainings sooner than one after the other.
docs/design_notes.md ("Two runs side by side") has what it measured.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from absl import flags

from drrdn_tf import config as config_lib
from drrdn_tf.cli.common import fail, run_app

FLAGS = flags.FLAGS
flags.DEFINE_list("methods", ["madry", "trades", "drrdn"], "methods measured alone, comma-separated")
flags.DEFINE_list("pairs", ["madry+madry", "trades+drrdn"], "method pairs measured side by side (a+b)")
flags.DEFINE_integer("batch_size", 128, "batch size")
flags.DEFINE_integer("pgd_steps", 40, "PGD steps of the training attack")
flags.DEFINE_integer("steps", 8, "timed train-function calls per measurement")
flags.DEFINE_integer("warmup", 2, "untimed calls first (the first traces)")
flags.DEFINE_integer("repeats", 2, "rounds of every measurement; figures are medians over them")
flags.DEFINE_boolean("json", False, "print one JSON object instead of the table")

#: One measurement, run in its own process: argv = threads method batch pgd_steps steps warmup.
CHILD = """
import json, statistics, sys, time
threads, method, batch, pgd_steps, steps, warmup = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
import numpy as np
import tensorflow as tf
if int(threads):
    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(int(threads))
from drrdn_tf import config
from benchmarks.jobs import build_compiled
model = build_compiled(config.settings_for("mnist", method=method, pgd_steps=pgd_steps, batch_size=batch),
                       (28, 28, 1), 100)
rng = np.random.default_rng(0)
batch_data = (rng.random((batch, 28, 28, 1), np.float32), rng.integers(0, 10, batch).astype(np.int32))
it = iter(tf.data.Dataset.from_tensors(batch_data).repeat())
model.make_train_function()
for _ in range(warmup):
    model.train_function(it)
times = []
for _ in range(steps):
    t = time.perf_counter()
    out = model.train_function(it)
    float(out["loss"])
    times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times)))
"""


def _start(threads: int, method: str) -> subprocess.Popen:
    args = [str(a) for a in (threads, method, FLAGS.batch_size, FLAGS.pgd_steps, FLAGS.steps, FLAGS.warmup)]
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(p: subprocess.Popen) -> float:
    out, err = p.communicate()
    if p.returncode != 0:
        fail(f"a measurement failed: {err.strip().splitlines()[-1] if err.strip() else p.returncode}")
    return float(out.strip().splitlines()[-1])


def measure() -> dict:
    """{"alone": {method: [s]}, "alone_1": {method: [s]}, "side_by_side": {pair: [[s_a, s_b]]}}: median
    seconds a step, one entry per round."""
    out: dict = {"alone": {}, "alone_1": {}, "side_by_side": {}}
    for r in range(FLAGS.repeats):
        for m in FLAGS.methods:
            for kind, threads in (("alone", 0), ("alone_1", 1)):
                print(f"[threads] round {r + 1}: {m} {kind}", file=sys.stderr, flush=True)
                out[kind].setdefault(m, []).append(_finish(_start(threads, m)))
        for pair in FLAGS.pairs:
            print(f"[threads] round {r + 1}: {pair} side by side", file=sys.stderr, flush=True)
            procs = [_start(1, m) for m in pair.split("+")]
            out["side_by_side"].setdefault(pair, []).append([_finish(p) for p in procs])
    return out


def summary(raw: dict) -> dict:
    """Medians over the rounds, and each pair's throughput gain: steps a second of the two runs side by side
    (1/t_a + 1/t_b) over those of the same two runs one after the other on both cores (2 / (t_a + t_b))."""
    med = {kind: {m: statistics.median(v) for m, v in raw[kind].items()} for kind in ("alone", "alone_1")}
    med["side_by_side"] = {pair: [statistics.median(r[i] for r in rounds) for i in (0, 1)]
                           for pair, rounds in raw["side_by_side"].items()}
    gains = {}
    for pair, (ta, tb) in med["side_by_side"].items():
        a, b = pair.split("+")
        if a in med["alone"] and b in med["alone"]:
            gains[pair] = (1 / ta + 1 / tb) / (2 / (med["alone"][a] + med["alone"][b]))
    return {"seconds_per_step": med, "throughput_gain_side_by_side": gains, "samples": raw,
            "settings": {k: FLAGS[k].value for k in ("batch_size", "pgd_steps", "steps", "warmup", "repeats")}}


def main(argv) -> None:
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    for m in FLAGS.methods + [x for p in FLAGS.pairs for x in p.split("+")]:
        if m not in config_lib.METHODS:
            fail(f"unknown method {m!r}: choose among {', '.join(config_lib.METHODS)}")
    if any(len(p.split("+")) != 2 for p in FLAGS.pairs):
        fail(f"--pairs entries look like madry+drrdn, got {','.join(FLAGS.pairs)}")
    for name in ("batch_size", "steps", "repeats"):
        if FLAGS[name].value < 1:
            fail(f"--{name} must be >= 1")
    s = summary(measure())
    if FLAGS.json:
        print(json.dumps(s, indent=2, sort_keys=True))
        return
    print(f"Seconds per training step (median of {FLAGS.steps} calls, then of {FLAGS.repeats} rounds), batch "
          f"{FLAGS.batch_size}, PGD-{FLAGS.pgd_steps}:")
    med = s["seconds_per_step"]
    for m in FLAGS.methods:
        print(f"  {m:<8} alone: {med['alone'][m]:.3f} (default threads), {med['alone_1'][m]:.3f} (1 thread per op)")
    for pair, times in med["side_by_side"].items():
        gain = s["throughput_gain_side_by_side"].get(pair)
        print(f"  {pair} side by side, 1 thread each: " + " and ".join(f"{t:.3f}" for t in times)
              + (f"; {gain:.2f}x the steps a second of the two one after the other" if gain else ""))


if __name__ == "__main__":
    run_app(main)
