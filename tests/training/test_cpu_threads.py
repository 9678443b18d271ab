"""`distribute.set_cpu_threads` (the train command's --intra_op_threads / --inter_op_threads): TensorFlow's
thread pools take the numbers when set first thing, and a late call is a clear error, not a silent no-op."""

import subprocess
import sys

SCRIPT = """
from drrdn_tf import distribute
import tensorflow as tf
distribute.set_cpu_threads({intra}, {inter})
tf.constant(1.0) + 1.0                                  # TensorFlow starts here
print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
try:
    distribute.set_cpu_threads(2, 2)
except ValueError as e:
    print("late:", e)
"""


def _run(intra, inter):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(intra=intra, inter=inter)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()


def test_threads_are_set_before_tensorflow_starts_and_refused_after():
    lines = _run(1, 1)
    assert lines[0] == "1 1"
    assert lines[1].startswith("late: cannot set TensorFlow's CPU threads after it has started")
    assert _run(0, 0)[0] == "0 0"                         # 0: TensorFlow's defaults, left as they are
