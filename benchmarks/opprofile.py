"""Where a compiled call's time goes: one call under tf.profiler, its op events summed by kind.

`profile_call(fn)` runs `fn()` once with `tf.profiler.experimental` tracing, reads the trace back with the
profiler's own converter (the trace-viewer events TensorBoard's profile plugin shows) and sums the duration of
every op event on TensorFlow's executor threads by kind: convolutions, matrix multiplies, max-pooling, ReLU
gradients, XLA-compiled clusters (in drrdn_tf: the max-pool gradient of `drrdn_tf.nn.fast.pooling` and the
first-layer input gradient of `drrdn_tf.nn.fast.conv`) and everything else. "Busy" is the union of those
events in time; the rest of the call's wall time is spent outside any op (dispatch, waiting between ops).

Only leaf events count (an event that contains another one on the same thread, such as a `while` loop or the
executor's own bookkeeping, is not an op's work). Ops can run side by side on different executor threads, so the
kinds' seconds can add up to slightly more than the busy time. Tracing costs a little time itself: use the
figures for where the time goes, and timed runs without the profiler for how much there is.

The trace is read through `tensorflow.python.profiler.internal._pywrap_profiler_plugin`, which is not a public
API (TensorFlow has no public reader of its xplane traces): when it is missing or its format changes,
`profile_call` returns {"error": why} instead of figures.
"""

from __future__ import annotations

import bisect
import glob
import json
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

#: (kind, substrings of the op type that put an event in it), checked in this order; XLA events are found by
#: their "hlo_op" argument, unmatched ops are "other".
KINDS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("convolution", ("Conv2D", "Conv3D", "DepthwiseConv")),
    ("matmul", ("MatMul", "BatchMatMul", "Einsum")),
    ("max_pool", ("MaxPool",)),
    ("relu_grad", ("ReluGrad",)),
)
XLA = "xla"
OTHER = "other"
#: threads that run TensorFlow ops (the inter-op pool); XLA clusters run there too
EXECUTOR_THREAD_PREFIX = "tf_Compute"


def kind_of(name: str, args: dict) -> str:
    """The kind of an op event: `name` is its op type (e.g. "_MklNativeFusedConv2D"), `args` its arguments."""
    if "hlo_op" in args or "hlo_module" in args:
        return XLA
    for kind, patterns in KINDS:
        if any(p in name for p in patterns):
            return kind
    return OTHER


def _is_bookkeeping(name: str) -> bool:
    """Whether an event is the executor's or the profiler's own, not an op's."""
    return "::" in name or name.startswith("end:") or name in ("BlockUntilReady",)


def leaf_events(events: List[dict]) -> List[dict]:
    """The events of one thread that contain no other event of that thread (complete events, "ts"/"dur" in us)."""
    events = sorted(events, key=lambda e: (e["ts"], -e.get("dur", 0)))
    starts = [e["ts"] for e in events]
    out = []
    for i, e in enumerate(events):
        end = e["ts"] + e.get("dur", 0)
        j = bisect.bisect_left(starts, e["ts"], lo=i + 1)
        if j < len(events) and events[j]["ts"] < end:
            continue   # an event of this thread starts inside this one
        out.append(e)
    return out


def union_seconds(intervals: List[Tuple[float, float]]) -> float:
    """Total length in seconds of the union of [start, end) intervals given in microseconds."""
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total / 1e6


def summarize_trace(trace: dict, wall_seconds: float) -> dict:
    """Sums a trace-viewer JSON ({"traceEvents": [...]}) by kind (module doc)."""
    thread_names = {(e.get("pid"), e.get("tid")): e.get("args", {}).get("name", "")
                    for e in trace["traceEvents"] if e.get("ph") == "M" and e.get("name") == "thread_name"}
    by_thread: Dict[tuple, List[dict]] = {}
    for e in trace["traceEvents"]:
        if e.get("ph") != "X" or _is_bookkeeping(e.get("name", "")):
            continue
        key = (e.get("pid"), e.get("tid"))
        if thread_names.get(key, "").startswith(EXECUTOR_THREAD_PREFIX):
            by_thread.setdefault(key, []).append(e)
    kinds = {k: {"seconds": 0.0, "events": 0} for k in [k for k, _ in KINDS] + [XLA, OTHER]}
    ops: Dict[str, List[float]] = {}
    intervals = []
    for events in by_thread.values():
        for e in leaf_events(events):
            seconds = e.get("dur", 0) / 1e6
            kind = kind_of(e["name"], e.get("args", {}))
            kinds[kind]["seconds"] += seconds
            kinds[kind]["events"] += 1
            ops.setdefault(e["name"], [0.0, 0])
            ops[e["name"]][0] += seconds
            ops[e["name"]][1] += 1
            intervals.append((e["ts"], e["ts"] + e.get("dur", 0)))
    top = sorted(ops.items(), key=lambda kv: -kv[1][0])[:12]
    return {"wall_seconds": wall_seconds, "busy_seconds": union_seconds(intervals), "kinds": kinds,
            "top_ops": [{"op": name, "seconds": s, "events": n} for name, (s, n) in top]}


def profile_call(fn: Callable[[], object], sync: Optional[Callable[[object], None]] = None) -> dict:
    """Runs `fn()` once under tf.profiler; returns `summarize_trace`'s dict, or {"error": why} if the trace could
    not be taken or read. `sync(result)` ends the timed call (default: read the first output value)."""
    import tensorflow as tf
    try:
        from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin
    except ImportError as e:
        return {"error": f"tf.profiler's trace converter is not available: {e}"}
    sync = sync or (lambda out: [t.numpy() for t in tf.nest.flatten(out)[:1] if tf.is_tensor(t)])
    with tempfile.TemporaryDirectory(prefix="drrdn_profile_") as logdir:
        try:
            tf.profiler.experimental.start(logdir)
        except Exception as e:  # noqa: BLE001 - e.g. a profiler session already running
            return {"error": f"tf.profiler could not start: {type(e).__name__}: {e}"}
        try:
            t0 = time.perf_counter()
            sync(fn())
            wall = time.perf_counter() - t0
        finally:
            tf.profiler.experimental.stop()
        paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        if not paths:
            return {"error": "tf.profiler wrote no trace"}
        try:
            data, ok = plugin.xspace_to_tools_data(paths, "trace_viewer@", {})
            if not ok:
                return {"error": "tf.profiler's converter refused the trace"}
            summary = summarize_trace(json.loads(data), wall)
        except Exception as e:  # noqa: BLE001 - a private API: report, do not crash the benchmark
            return {"error": f"the trace could not be read: {type(e).__name__}: {e}"}
    if not summary["busy_seconds"]:
        return {"error": f"no op events on threads named {EXECUTOR_THREAD_PREFIX}* in the trace"}
    return summary
