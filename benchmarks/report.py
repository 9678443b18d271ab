"""Writes BENCHMARKS.md from a benchmark JSON (default benchmarks/results.json): no figure is typed by hand.

  python -m drrdn_tf.bench --json > benchmarks/results.json
  python benchmarks/report.py benchmarks/results.json > BENCHMARKS.md
"""

import json
import sys

from drrdn_tf.bench import format_table

path = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results.json"
result = json.load(open(path))
print("# Benchmarks\n")
print("Measured on this project's machine (2-core x86 CPU, no GPU; "
      f"TensorFlow {result.get('versions', {}).get('tensorflow', '?')}, "
      f"Keras {result.get('versions', {}).get('keras', '?')}) by\n")
print("```bash\npython -m drrdn_tf.bench --json > benchmarks/results.json\n"
      "python benchmarks/report.py benchmarks/results.json > BENCHMARKS.md\n```\n")
print("What each figure means, how it is timed and how FLOPs are counted: the docstring of `drrdn_tf/bench.py`. "
      "These machines are shared and noisy: ratios are taken between measurements made side by side in the "
      "same run; compare two or three runs before trusting a ratio near a target. "
      f"Machine load average at start/end of this run: {result.get('load_average_start')} / "
      f"{result.get('load_average_end')}.\n")
print("```")
print(format_table(result))
print("```")
