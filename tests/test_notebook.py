"""notebooks/quickstart.ipynb executes as a notebook: nbclient runs a temporary copy of it, cell by cell, in a
fresh ipykernel of this Python (notebooks/run_notebook.py, which also regenerates the committed outputs), and
the outputs say what the notebook claims: training, accuracy, export, the figures as images."""

import importlib.util
import os
import sys

import pytest

from conftest import REPO

NOTEBOOK = os.path.join(REPO, "notebooks", "quickstart.ipynb")


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebook", os.path.join(REPO, "notebooks", "run_notebook.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def _cell(nb, *needles):
    cells = nb if isinstance(nb, list) else nb.cells
    found = [c for c in cells if c.cell_type == "code" and all(n in c.source for n in needles)]
    assert len(found) == 1, f"expected one code cell with {needles}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook as nbclient left it (a copy: the committed file is not written), plus its cleaned copy."""
    import nbformat
    runner = _runner()
    committed = open(NOTEBOOK).read()
    nb = nbformat.reads(committed, as_version=4)
    for cell in nb.cells:                       # run from scratch: the committed outputs must not count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # One cell more, at the end: which Python the kernel ran (must be this test's, e.g. a CI venv's).
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('kernel python:', sys.executable)"))
    runner.execute(nb, cwd=os.path.join(REPO, "notebooks"))   # raises CellExecutionError if a cell fails
    path = tmp_path_factory.mktemp("notebook") / "quickstart.ipynb"
    nbformat.write(nb, str(path))
    assert open(NOTEBOOK).read() == committed
    cleaned = nbformat.read(str(path), as_version=4)
    cleaned.cells.pop()                         # the kernel check prints this machine's Python: not committed
    runner.clean(cleaned)                       # what run_notebook.py would commit: no machine paths, no noise
    nbformat.validate(cleaned)
    return nb, cleaned


def test_every_cell_ran_in_this_python(executed):
    nb, _ = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert os.path.realpath(_text(code[-1]).split("kernel python:")[1].strip()) == os.path.realpath(sys.executable)


def test_training_accuracy_and_export(executed):
    nb, _ = executed
    fit = _text(_cell(nb, "model = drrdn_tf.DRRDN(", "model.fit"))
    assert "Epoch 2/2" in fit and "val_pgd_acc" in fit
    accuracy = _text(_cell(nb, "PGD(", "natural"))
    natural = float(accuracy.split("natural")[1].split()[0])
    assert natural > 0.5, accuracy
    assert "PGD-20 (eps 0.1)" in accuracy
    export = _text(_cell(nb, "model.export("))
    assert "['logits', 'probabilities']" in export
    standard = _text(_cell(nb, "drrdn_tf.Standard("))
    assert "Standard: natural" in standard


def test_figures_are_images(executed):
    nb, cleaned = executed
    for cells in (nb.cells, cleaned.cells):
        for needles in (("plots.training_figure",), ("figure2.make_figure2",)):
            cell = _cell(cells, *needles)
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert len(images) == 1, [o.output_type for o in cell.outputs]
            assert len(images[0]["data"]["image/png"]) > 10_000    # base64 of a real plot, not an empty canvas
    tsne = _text(_cell(nb, "figure2.make_figure2"))
    for column in ("z_s", "z_i", "standard"):
        assert f"t-SNE of {column} (500 points)" in tsne


def test_committed_notebook_has_outputs_and_no_machine_paths():
    import nbformat
    runner = _runner()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "run python notebooks/run_notebook.py and commit its outputs"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    pngs = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 2
    text = open(NOTEBOOK).read()
    assert not [p for p in runner.machine_paths() if p in text]
    assert len(text) < 2_000_000
