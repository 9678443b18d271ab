"""The throughput benchmark of drrdn_tf and its report (not installed; run from the repository root).

  python -m benchmarks.bench --json > benchmarks/run1.json     # measure (benchmarks/bench.py)
  python benchmarks/report.py benchmarks/run*.json > BENCHMARKS.md

Modules: `bench` (flags, the run, output), `harness` (timing), `jobs` (what is timed), `flops` (the FLOP
model), `figures` (ratios and targets), `tables` (the readable table), `opprofile` (a call's time by op kind),
`report` (BENCHMARKS.md).
"""

import sys as _sys

if _sys.argv[:1] == ["-m"]:
    # `python -m benchmarks.<name>` is locating its module: start TensorFlow quietly, as the package's own
    # command lines do (drrdn_tf.cli.common.quiet_tensorflow).
    from drrdn_tf.cli.common import quiet_tensorflow as _quiet_tensorflow

    _quiet_tensorflow()
