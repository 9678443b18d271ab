"""The timing harness: a measured `Job`, round-robin repetitions of a group of jobs, retrace and memory records.

Every figure is the median over repetitions; each repetition times `calls_per_rep` calls (at least --steps,
more for calls so short that --steps of them would last under MIN_REP_SECONDS), after untimed warm-up calls
(the first of which traces). A group's jobs run round-robin (repetition 1 of every job, then repetition 2,
...), so a change of machine load during the run hits all of them alike, and ratios are taken per repetition
between jobs of the same round (`paired_ratio`). TensorFlow is imported inside the functions that use it, so
importing this module (as the report does) does not start TensorFlow.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

MIN_REP_SECONDS = 0.5        # a timed repetition lasts at least this long (more calls for short ones)
MATMUL_N = 2048              # the reference matmul is MATMUL_N x MATMUL_N, float32


def progress(message: str) -> None:
    """One progress line on stderr (stdout is kept for the figures)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class TraceCounter:
    """Sums tracing counts; `mark()` (after a first call) fixes the baseline, `retraced()` compares."""

    def __init__(self, sources: List[Callable[[], int]]):
        self.sources = sources
        self.baseline: Optional[int] = None

    def count(self) -> int:
        """The current sum of the sources' tracing counts."""
        return int(sum(s() for s in self.sources))

    def mark(self) -> None:
        """Fixes the baseline at the current count (once; later calls keep the first baseline)."""
        if self.baseline is None:
            self.baseline = self.count()

    def retraced(self) -> bool:
        """Whether any source traced again since `mark()`."""
        return self.baseline is not None and self.count() > self.baseline


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
        """Median wall-clock seconds per call."""
        return statistics.median(self.wall)

    def units_per_sec(self) -> float:
        """Units (images) per second at the median call time."""
        return self.units_per_call / self.seconds_per_call()

    def gflops(self) -> float:
        """Useful GFLOP/s at the median call time."""
        return self.units_per_sec() * self.flops_per_unit / 1e9

    def rates(self) -> List[float]:
        """Units per second of each repetition."""
        return [self.units_per_call / w for w in self.wall]

    def summary(self, matmul: Optional["Job"] = None) -> dict:
        """The job's figures (JSON-ready); with `matmul`, its useful FLOP rate over the matmul's, paired."""
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


def matmul_job(n: int = MATMUL_N) -> Job:
    """The reference: a float32 n x n matmul in a tf.function (2 n^3 FLOPs per call)."""
    import tensorflow as tf
    a = tf.random.uniform((n, n), -1.0, 1.0, seed=1)
    b = tf.random.uniform((n, n), -1.0, 1.0, seed=2)
    fn = tf.function(lambda a, b: tf.matmul(a, b))
    return Job("matmul", lambda: fn(a, b), 1, 2.0 * n ** 3, TraceCounter([fn.experimental_get_tracing_count]))


class Memory:
    """Peak memory per group: the process RSS high-water mark and TensorFlow's CPU allocator peak."""

    def __init__(self):
        self.groups: Dict[str, dict] = {}

    @staticmethod
    def rss_peak_mb() -> float:
        """The process's peak resident set size so far, in MB."""
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux, bytes on macOS
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024

    @staticmethod
    def reset_tf() -> None:
        """Resets TensorFlow's CPU allocator peak, where supported (elsewhere the peak counts from start-up)."""
        import tensorflow as tf
        try:
            tf.config.experimental.reset_memory_stats("CPU:0")
        except Exception:  # noqa: BLE001 - not supported everywhere: the peak is then since start-up
            pass

    def record(self, group: str) -> None:
        """Stores the RSS peak so far and TensorFlow's CPU allocator peak (None if unavailable) for `group`."""
        import tensorflow as tf
        entry = {"rss_peak_mb_so_far": self.rss_peak_mb()}
        try:
            info = tf.config.experimental.get_memory_info("CPU:0")
            entry["tf_cpu_peak_mb"] = info["peak"] / 2 ** 20
        except Exception:  # noqa: BLE001 - no allocator statistics on this device
            entry["tf_cpu_peak_mb"] = None
        self.groups[group] = entry
