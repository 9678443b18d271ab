"""notebooks/quickstart.ipynb runs top to bottom (its code cells, in order, in a fresh process)."""

import json
import os
import subprocess
import sys

from conftest import REPO


def test_quickstart_notebook_runs():
    nb = json.load(open(os.path.join(REPO, "notebooks", "quickstart.ipynb")))
    code = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "model.fit" in code and "export" in code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "natural" in out.stdout and "logits" in out.stdout
