"""benchmarks/opprofile.py: summing a profiler trace by op kind (on a hand-made trace, so every figure is
known), and one real profiled call."""

import sys

import pytest
import tensorflow as tf

from conftest import REPO

if REPO not in sys.path:
    sys.path.insert(0, REPO)  # `benchmarks` is a folder of the repository, not part of the installed package

from benchmarks import opprofile  # noqa: E402


def _thread(tid, name):
    return {"ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": {"name": name}}


def _op(tid, name, ts, dur, **args):
    return {"ph": "X", "pid": 1, "tid": tid, "name": name, "ts": ts, "dur": dur, "args": args}


def test_summarize_trace_counts_leaf_ops_on_executor_threads():
    trace = {"traceEvents": [
        _thread(1, "tf_Compute/1"), _thread(2, "tf_Compute/2"), _thread(3, "tf_numa_-1_Eigen/7"),
        _op(1, "While", 0, 1000),                                  # contains the ops below: not counted
        _op(1, "_MklNativeFusedConv2D", 0, 300),
        _op(1, "ExecutorState::Process", 300, 200),                # bookkeeping: not counted
        _op(1, "_MklNativeConv2DBackpropInput", 300, 200),
        _op(1, "select_bitcast_fusion", 600, 100, hlo_op="select_bitcast_fusion"),
        _op(1, "BlockUntilReady", 700, 10),
        _op(2, "_MklMatMul", 650, 100),                            # overlaps the XLA event on thread 1
        _op(2, "ReluGrad", 800, 50),
        _op(2, "AddV2", 900, 20),
        _op(3, "_MklNativeFusedConv2D", 0, 5000),                  # not an executor thread
    ]}
    s = opprofile.summarize_trace(trace, wall_seconds=0.002)
    k = s["kinds"]
    assert k["convolution"] == {"seconds": pytest.approx(500e-6), "events": 2}
    assert k["xla"] == {"seconds": pytest.approx(100e-6), "events": 1}
    assert k["matmul"]["seconds"] == pytest.approx(100e-6) and k["relu_grad"]["seconds"] == pytest.approx(50e-6)
    assert k["other"] == {"seconds": pytest.approx(20e-6), "events": 1}
    assert k["max_pool"]["events"] == 0
    # busy: [0, 500) + [600, 750) + [800, 850) + [900, 920) = 720 us
    assert s["busy_seconds"] == pytest.approx(720e-6)
    assert s["top_ops"][0]["op"] in ("_MklNativeFusedConv2D", "_MklNativeConv2DBackpropInput")


def test_kind_of():
    assert opprofile.kind_of("_MklNativeMaxPool", {}) == "max_pool"
    assert opprofile.kind_of("Conv2DBackpropFilter", {}) == "convolution"
    assert opprofile.kind_of("pad_add_fusion", {"hlo_module": "m"}) == "xla"
    assert opprofile.kind_of("Sign", {}) == "other"


def test_profile_call_on_a_real_function():
    w = tf.random.uniform([3, 3, 4, 8])

    @tf.function
    def f(x):
        return tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")))

    x = tf.random.uniform([4, 16, 16, 4])
    f(x)
    s = opprofile.profile_call(lambda: f(x))
    assert "error" not in s, s
    assert s["kinds"]["convolution"]["events"] >= 1
    assert 0 < s["busy_seconds"] <= s["wall_seconds"]
