"""Executes a notebook with nbclient in a fresh kernel of this Python and writes it back with its outputs.

    python notebooks/run_notebook.py                          # regenerates notebooks/quickstart.ipynb in place
    python notebooks/run_notebook.py in.ipynb --output=out.ipynb

This is how the committed outputs of quickstart.ipynb are made (and what tests/test_notebook.py runs on a
temporary copy). The kernel is `python -m ipykernel_launcher` of the Python running this script (a kernelspec
named "python3" written to a temporary folder), so a virtual environment's notebook runs with that environment's
packages whatever other "python3" kernels the machine has. Cells run in order in the notebook's folder, each
with a 600 s limit; an error stops the run and nothing is written. Before writing, the outputs are made fit to
commit: stream outputs of a cell are merged with carriage returns applied (progress bars keep their last line),
log lines (TensorFlow's, absl's, Python warnings printed with a library's path) and terminal colours are
dropped, and any output still naming a path of this machine (the repository, the home folder, the temporary
folder, the Python prefix) is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TIMEOUT = 600  # seconds per cell

# Log lines that are machine-specific noise: TensorFlow's C++ log (I0000 00:00:... file.cc:123]) and absl's
# (W0101 12:00:00.123 ...); _drop_log_lines also drops TensorFlow's Python log (INFO:tensorflow:...), Keras'
# terminal colours, and Python warnings as printed (the library file's path, then its source line).
_LOG_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|WARNING: All log messages before absl)")


def _kernel_manager(kernel_dir: str):
    """A KernelManager whose "python3" kernel is `sys.executable -m ipykernel_launcher` (spec in kernel_dir)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    spec_dir = os.path.join(kernel_dir, "python3")
    os.makedirs(spec_dir, exist_ok=True)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "Python 3 (ipykernel)", "language": "python"}, f)
    return KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernel_dir]))


def machine_paths() -> List[str]:
    """Folders of this machine that must not appear in committed outputs."""
    paths = {REPO, os.path.dirname(REPO), os.path.expanduser("~"), tempfile.gettempdir(), sys.prefix,
             sys.base_prefix, os.path.realpath(REPO), os.path.realpath(tempfile.gettempdir())}
    return sorted(p for p in paths if p and p != os.sep)


def _drop_log_lines(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)                     # terminal colours (Keras' progress bars)
    text = re.sub(r"(INFO|WARNING):tensorflow:.*\n?", "", text)     # TensorFlow's Python log, even mid-line
    lines = text.splitlines(keepends=True)
    kept, skip_source = [], False
    for line in lines:
        if _LOG_LINE.match(line):
            continue
        if re.match(r"^\S.*\.py:\d+: \w*Warning: ", line):   # "path/file.py:12: UserWarning: ..." + source line
            skip_source = True
            continue
        if skip_source and line.startswith("  "):
            skip_source = False
            continue
        skip_source = False
        kept.append(line)
    return "".join(kept)


def clean(nb) -> None:
    """Makes an executed notebook fit to commit (in place): drops log noise from stderr, empty streams and
    timing metadata; raises ValueError if an output still names a path of this machine."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        outputs = []
        for out in cell.outputs:
            if out.output_type == "stream":
                out.text = _drop_log_lines(out.text)
            if out.output_type == "stream" and not out.text.strip():
                continue
            outputs.append(out)
        cell.outputs = outputs
    for index, cell in enumerate(nb.cells):
        text = json.dumps(cell.get("outputs", []))
        for path in machine_paths():
            at = text.find(path)
            if at >= 0:
                raise ValueError(f"cell {index}'s output names {path!r} (...{text[max(0, at - 200):at + 200]}...): "
                                 "print relative paths (or nothing) in the notebook")


def execute(nb, cwd: str = HERE, log=None):
    """Runs every code cell of nb (a nbformat NotebookNode) in order in a fresh kernel started in cwd; returns
    nb with its outputs. An error in a cell raises nbclient's CellExecutionError."""
    from nbclient import NotebookClient

    starts = {}

    def started(cell, cell_index):
        starts[cell_index] = time.monotonic()

    def executed(cell, cell_index, execute_reply):
        if log:
            log(f"cell {cell_index}: {time.monotonic() - starts[cell_index]:.0f} s")

    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as kernel_dir:
        client = NotebookClient(nb, km=_kernel_manager(kernel_dir), kernel_name="python3", timeout=TIMEOUT,
                                startup_timeout=120, coalesce_streams=True, record_timing=False,
                                resources={"metadata": {"path": cwd}}, on_cell_start=started,
                                on_cell_executed=executed)
        client.execute(env=env)
    return nb


def main(argv: Optional[List[str]] = None) -> None:
    import nbformat
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", default=os.path.join(HERE, "quickstart.ipynb"))
    parser.add_argument("--output", help="where to write the executed notebook (default: in place)")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    start = time.monotonic()
    execute(nb, cwd=os.path.dirname(os.path.abspath(args.notebook)), log=lambda m: print(m, flush=True))
    clean(nb)
    nbformat.validate(nb)
    nbformat.write(nb, args.output or args.notebook)
    print(f"wrote {args.output or args.notebook} ({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
