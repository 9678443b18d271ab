"""`python -m drrdn_tf.experiments.reproduce` end to end on three tiny run folders (--tiny), its resumability,
its answers to bad input, and `tables_markdown` on hand-made JSONs."""

import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import run_cli
from drrdn_tf.experiments import ablation, paper_numbers
from drrdn_tf.experiments.reproduce import analysis_drrdn, make_step, stale_transfer
from drrdn_tf.files import recorded_path
from drrdn_tf.experiments.reproduce_tables import of_current_models, tables_markdown

TRAINED = ("standard", "madry", "drrdn")
#: Table 4's variant trained beside them (its run folder under runs/ablation/).
VARIANT = "drrdn-mi"
#: OpenMP threads of scikit-learn's t-SNE spin for seconds per fit on a busy 2-core machine; one is plenty here.
ENV = {"OMP_NUM_THREADS": "1"}


def _train(root, method):
    """One tiny run: a method's folder runs/<method>, or Table 4's VARIANT (ablation.flags_of) in runs/ablation."""
    args = ([*ablation.flags_of(VARIANT), f"--output_dir=runs/ablation/{VARIANT}"] if method == VARIANT else
            [f"--method={method}", f"--output_dir=runs/{method}"])
    return run_cli("drrdn_tf.train", "--dataset=demo", "--train_examples=256", *args,
                   "--val_examples=64", "--test_examples=64", "--epochs=1", "--pgd_steps=1", "--verbose=0",
                   cwd=str(root), env=ENV)


def _reproduce(root, *extra):
    return run_cli("drrdn_tf.experiments.reproduce", "--runs=runs", "--dataset=mnist",
                   f"--data_dir={os.environ['DRRDN_DATA_DIR']}", "--tiny", *extra, cwd=str(root), env=ENV)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory, mnist_path):
    """Three run folders trained for one epoch on 256 demo images (the MNIST threat model), then the command
    on the real MNIST test split in its tiny configuration, run from their parent folder."""
    root = tmp_path_factory.mktemp("reproduce")
    with ThreadPoolExecutor(2) as pool:
        for method, out in zip(TRAINED + (VARIANT,), pool.map(lambda m: _train(root, m), TRAINED + (VARIANT,))):
            assert out.returncode == 0, (method, out.stderr[-2000:])
    out = _reproduce(root)
    assert out.returncode == 0, out.stderr[-3000:]
    return root, out


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_every_model_is_evaluated_with_both_presets(reproduced):
    root, out = reproduced
    runs = root / "runs"
    assert not list(runs.rglob("*.progress.json")), "an evaluation's progress file left behind"
    for i, method in enumerate(TRAINED):
        assert f"[{3 * i + 1}/13] {method}: paper preset on 32 images" in out.stdout
        assert f"[{3 * i + 2}/13] {method}: autoattack on 32 images" in out.stdout
        paper, aa = _json(runs / method / "eval_paper.json"), _json(runs / method / "eval_autoattack.json")
        for r, preset in ((paper, "paper"), (aa, "autoattack")):
            acc = r["accuracy"]
            assert r["preset"] == preset and r["dataset"] == "mnist" and r["num_examples"] == 32
            assert all(0.0 <= v <= 1.0 for v in acc.values()) and all(v <= acc["natural"] for v in acc.values())
            # Recorded paths are relative to the working directory and point at the run folder's export.
            assert r["model"] == os.path.join("runs", method, "savedmodel")
            assert r["data_source"] == os.path.relpath(os.path.join(os.environ["DRRDN_DATA_DIR"], "mnist.npz"),
                                                       str(root))
            assert isinstance(r["masking"]["warnings"], list)
        others = [m for m in TRAINED if m != method]
        assert set(paper["accuracy"]) == {"natural", "fgsm", "pgd40", "pgd100", "cw40", "cw100"} | {
            f"transfer_{m}" for m in others}
        assert paper["surrogates"] == {m: os.path.join("runs", m, "savedmodel") for m in others}
        assert paper["attacks"]["pgd40"]["step_size"] == 0.01 and paper["attacks"]["fgsm"]["step_size"] == 0.1
        assert aa["attacks"]["apgd_ce"]["steps"] == 2 and aa["attacks"]["square"]["n_queries"] == 4  # --tiny
        assert aa["accuracy"]["autoattack"] <= min(aa["accuracy"][k] for k in ("apgd_ce", "apgd_t", "square"))
        # The autoattack JSON keeps every image's flags (for paired comparisons), the paper preset's does not.
        assert sum(aa["per_example"]["correct"]["autoattack"]) == round(32 * aa["accuracy"]["autoattack"])
        assert "per_example" not in paper
    assert not (runs / "trades" / "eval_paper.json").exists()
    # Table 4's variant: the paper preset without transfer columns.
    assert f"[10/13] ablation/{VARIANT}: table4 on 32 images" in out.stdout
    variant = _json(runs / "ablation" / VARIANT / "eval_paper.json")
    assert set(variant["accuracy"]) == {"natural", "fgsm", "pgd40", "pgd100", "cw40", "cw100"}
    assert variant["model"] == os.path.join("runs", "ablation", VARIANT, "savedmodel")
    # Then a fresh MINE's I(z_s; z_i) of the default DRRDN and the variant, from their whole models.
    assert "[11/13] ablation: mutual_information on 32 images" in out.stdout
    mi = _json(runs / "ablation" / "mutual_information.json")
    assert [r["name"] for r in mi["models"]] == ["default", VARIANT] and mi["test_examples"] == 32
    assert [r["model"] for r in mi["models"]] == [os.path.join("runs", "drrdn"), os.path.join("runs", "ablation", VARIANT)]
    assert all(math.isfinite(r["estimate"]) and r["own_t_bound"] is None for r in mi["models"])   # lambda_mi = 0
    assert mi["model_epochs"] == {"default": 1, VARIANT: 1}


def test_paired_records_reproduce_the_paper_preset_image_by_image(reproduced):
    """paired.json reruns the paper preset's natural, FGSM, PGD-40 and CW-40 columns exactly, keeping every
    image's flag: its accuracies are eval_paper.json's, and two records compare image by image."""
    from drrdn_tf.experiments import paired
    root, out = reproduced
    records = {}
    for i, method in enumerate(TRAINED):
        assert f"[{3 * i + 3}/13] {method}: paired on 32 images" in out.stdout
        r = records[method] = _json(root / "runs" / method / "paired.json")
        full = _json(root / "runs" / method / "eval_paper.json")
        assert set(r["flags"]) == {"natural", "fgsm", "pgd40", "cw40"} and r["model_epochs"] == {method: 1}
        assert r["reproduces_paper_preset"] is True
        for k, bits in r["flags"].items():
            assert len(bits) == 32 and set(bits) <= {"0", "1"}
            assert paired.decode(bits).mean() == pytest.approx(full["accuracy"][k], abs=1e-12)
        assert r["model"] == os.path.join("runs", method, "savedmodel")
    gaps = paired.compare(records["drrdn"], records["standard"])
    assert list(gaps) == ["natural", "fgsm", "pgd40", "cw40"]                  # the paper's order, not the file's
    flags = {m: paired.decode(records[m]["flags"]["natural"]) for m in ("drrdn", "standard")}
    assert gaps["natural"]["a_only"] == int((flags["drrdn"] & ~flags["standard"]).sum())
    assert gaps["natural"]["a"] - gaps["natural"]["b"] == pytest.approx(
        100 * (gaps["natural"]["a_only"] - gaps["natural"]["b_only"]) / 32)


def test_figure2_table3_and_tables_md(reproduced):
    root, out = reproduced
    runs = root / "runs"
    assert (runs / "figure2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _json(runs / "figure2.json")["num_examples"] == 20
    table3 = _json(runs / "table3.json")
    assert table3["num_test_examples"] == 32 and table3["drrdn"] == os.path.join("runs", "drrdn")
    assert (runs / "table3.md").exists()
    text = (runs / "tables.md").read_text()
    paper = paper_numbers.TABLE1_MNIST
    for method, label in (("standard", "Standard"), ("madry", "Madry"), ("drrdn", "DRRDN")):
        acc = _json(runs / method / "eval_paper.json")["accuracy"]
        cells = [f"{100 * acc[k]:.2f} / {paper[method][k]:.2f}" for k in paper_numbers.WHITE_BOX]
        for other in ("standard", "madry", "trades", "drrdn"):
            key = f"transfer_{other}"
            cells.append("–" if other == method else
                         f"{100 * acc[key]:.2f} / {paper[method][key]:.2f}" if key in acc else
                         f"– / {paper[method][key]:.2f}")
        assert f"| {label} | " + " | ".join(cells) + " |" in text, label
        aa = _json(runs / method / "eval_autoattack.json")["accuracy"]
        assert f"| {label} | " + " | ".join(f"{100 * aa[k]:.2f}" for k in
                                           ("natural", "apgd_ce", "apgd_t", "square", "autoattack")) + " |" in text
    # TRADES was not trained: its row has the paper's numbers only.
    assert f"| TRADES | – / {paper['trades']['natural']:.2f} |" in text
    assert "**92.81%**" in text and "the first 32 mnist test images" in text
    assert "PGD-40/100 (40 step(s) of 0.01" in text and "APGD-CE (2 steps)" in text
    assert text.count("checks passed") == 7        # one masking line per JSON (6 of the methods, the variant)
    assert "![Figure 2](figure2.png)" in text
    assert "| Paper (Table 3) | 99.31 | 99.02 | 95.82 | 95.01 |" in text
    assert "| Ours | " + " | ".join(f"{100 * table3['accuracy'][k]:.2f}"
                                    for k in ("zs_zi", "zs'_zi", "zs_zi'", "zs'_zi'")) + " |" in text
    assert "python -m drrdn_tf.train --dataset=demo" in text and "--method=madry" in text
    # Table 4: the default DRRDN and the variant with its numbers beside the paper's, the others not trained.
    acc = _json(runs / "ablation" / VARIANT / "eval_paper.json")["accuracy"]
    t4 = paper_numbers.TABLE4_MNIST
    assert ("| DRRDN-MI | " + f"{100 * acc['natural']:.2f} | {100 * acc['pgd40']:.2f} / {t4[VARIANT]['pgd40']:.2f} | "
            f"{100 * acc['pgd100']:.2f} / {t4[VARIANT]['pgd100']:.2f} |") in text
    assert "| DRRDN (MI + REC) | – | – / 97.55 | – / 96.78 |" in text and "| DRRDN default (neither" in text
    assert any(line.startswith("- DRRDN-MI: `python -m drrdn_tf.train") and "--lambda_rec=0.1" in line
               and "--output_dir=runs/ablation/drrdn-mi" in line for line in text.splitlines())
    assert "DRRDN-MI, `runs/ablation/drrdn-mi/eval_paper.json`" in text        # its masking line
    mi = {r["name"]: r["estimate"] for r in _json(runs / "ablation" / "mutual_information.json")["models"]}
    assert f"{100 * acc['pgd100']:.2f} / {t4[VARIANT]['pgd100']:.2f} | {mi[VARIANT]:.2f} |" in text
    assert "| I(z_s; z_i), nats |" in text and "fresh MINE" in text


def test_rerun_recomputes_nothing(reproduced):
    root, _ = reproduced
    runs = root / "runs"
    outputs = [runs / m / f for m in TRAINED for f in ("eval_paper.json", "eval_autoattack.json", "paired.json")]
    outputs.append(runs / "ablation" / VARIANT / "eval_paper.json")
    outputs += [runs / f for f in ("figure2.png", "figure2.json", "table3.json", "table3.md",
                                   "ablation/mutual_information.json")]
    before = {p: os.stat(p).st_mtime_ns for p in outputs}
    out = _reproduce(root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count(": kept runs/") == 13 and "t-SNE" not in out.stdout
    assert {p: os.stat(p).st_mtime_ns for p in outputs} == before


def test_steps_and_stale_outputs(reproduced, tmp_path):
    """--steps runs only the steps named; an output whose model trained further since (its history.json has
    more epochs than the output records) is recomputed, the others are kept."""
    root, _ = reproduced
    shutil.copytree(root / "runs", tmp_path / "runs")
    history = tmp_path / "runs" / "madry" / "history.json"
    record = _json(history)
    record["epochs"].append({**record["epochs"][-1], "epoch": len(record["epochs"]) + 1})
    history.write_text(json.dumps(record))
    assert _json(tmp_path / "runs" / "madry" / "eval_autoattack.json")["model_epochs"] == {"madry": 1}
    out = _reproduce(tmp_path, "--steps=autoattack")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "paper preset" not in out.stdout and "figure2" not in out.stdout
    assert "[1/3] standard: autoattack: kept" in out.stdout and "[3/3] drrdn: autoattack: kept" in out.stdout
    assert "[2/3] madry: autoattack on 32 images" in out.stdout and "(stale:" in out.stdout
    assert _json(tmp_path / "runs" / "madry" / "eval_autoattack.json")["model_epochs"] == {"madry": 2}
    assert _json(tmp_path / "runs" / "figure2.json")["model_epochs"] == {"drrdn": 1, "standard": 1}


def test_a_model_finished_later_becomes_a_transfer_column_of_the_kept_evaluations(reproduced, tmp_path):
    """A fourth method folder (TRADES here: a copy of Madry's run) appears after the others were evaluated:
    their paper-preset JSONs get its transfer column, the columns they had are kept as they were."""
    root, _ = reproduced
    shutil.copytree(root / "runs", tmp_path / "runs")
    trades = tmp_path / "runs" / "trades"
    shutil.copytree(tmp_path / "runs" / "madry", trades)
    for name in ("eval_paper.json", "eval_autoattack.json"):
        (trades / name).unlink()
    before = {m: _json(tmp_path / "runs" / m / "eval_paper.json") for m in TRAINED}
    # --methods: only Madry's JSON is touched.
    out = _reproduce(tmp_path, "--steps=paper", "--methods=madry")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[1/1] madry: paper preset: adding the transfer column(s) from trades" in out.stdout
    assert _json(tmp_path / "runs" / "drrdn" / "eval_paper.json") == before["drrdn"]
    out = _reproduce(tmp_path, "--steps=paper")
    assert out.returncode == 0, out.stderr[-2000:]
    for method in ("standard", "drrdn"):
        assert (f"{method}: paper preset: adding the transfer column(s) from trades to "
                f"runs/{method}/eval_paper.json") in out.stdout
    for method in TRAINED:
        after, old = _json(tmp_path / "runs" / method / "eval_paper.json"), before[method]
        assert {k: v for k, v in after["accuracy"].items() if k != "transfer_trades"} == old["accuracy"]
        assert 0.0 <= after["accuracy"]["transfer_trades"] <= after["accuracy"]["natural"]
        assert after["surrogates"]["trades"] == os.path.join("runs", "trades", "savedmodel")
        assert after["surrogate_epochs"] == {"trades": 1} and after["model_epochs"] == old["model_epochs"]
        assert "whitebox_not_weaker_than_transfer:transfer_trades" in [c["name"] for c in after["masking"]["checks"]]
    # A copy of Madry's model: examples crafted on it fool Madry as they fool itself.
    assert (_json(tmp_path / "runs" / "madry" / "eval_paper.json")["accuracy"]["transfer_trades"]
            == _json(trades / "eval_paper.json")["accuracy"]["transfer_madry"])
    assert "trades: paper preset on 32 images" in out.stdout
    assert "No transfer column yet" not in (tmp_path / "runs" / "tables.md").read_text()
    out = _reproduce(tmp_path, "--steps=paper")
    assert out.stdout.count(": kept runs/") == 4 and "adding" not in out.stdout
    assert "madry: paper preset: kept" in out.stdout


def test_a_run_being_resumed_is_skipped_until_it_finishes(reproduced, tmp_path):
    """A run resumed to more epochs (config.json plans more than history.json holds) still has its earlier
    model's savedmodel/ and model.keras: it is neither evaluated nor analysed, and its outputs are kept."""
    root, _ = reproduced
    shutil.copytree(root / "runs", tmp_path / "runs")
    config = tmp_path / "runs" / "drrdn" / "config.json"
    record = _json(config)
    record["settings"]["epochs"] = 3
    config.write_text(json.dumps(record))
    before = os.stat(tmp_path / "runs" / "drrdn" / "eval_paper.json").st_mtime_ns
    out = _reproduce(tmp_path, "--steps=autoattack,figure2")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "runs/drrdn skipped: its training has done 1 of 3 epochs" in out.stdout
    assert "Figure 2 and Table 3 skipped: runs/drrdn (its training has done 1 of 3 epochs)" in out.stdout
    assert "[1/2] standard: autoattack: kept" in out.stdout and "[2/2] madry: autoattack: kept" in out.stdout
    assert "drrdn: autoattack" not in out.stdout and "t-SNE" not in out.stdout
    assert os.stat(tmp_path / "runs" / "drrdn" / "eval_paper.json").st_mtime_ns == before


def test_bad_input_is_one_line_and_status_2(reproduced, tmp_path):
    root, _ = reproduced
    (tmp_path / "empty" / "madry").mkdir(parents=True)
    cases = [(["--runs=nope"], "no such folder"), ([f"--runs={tmp_path / 'empty'}"], "no finished run folder with a savedmodel"),
             (["--runs=runs", "--dataset=imagenet"], "unknown dataset"),
             (["--runs=runs", "--steps=tsne"], "unknown step"), (["--runs=runs", "--methods=pgd"], "unknown method")]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: run_cli("drrdn_tf.experiments.reproduce", *c[0], cwd=str(root), env=ENV),
                                cases))
    for (args, needle), out in zip(cases, results):
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert needle in lines[0], (needle, lines[0])


def test_whole_model_is_rebuilt_from_the_checkpoint_where_model_keras_is_absent(reproduced, tmp_path):
    """model.keras is not committed; the analyses rebuild the whole model (d_i, c_i, r, ...) from config.json and
    the finished checkpoint, with exactly model.keras's weights. An unfinished checkpoint is refused."""
    import keras
    import numpy as np

    from drrdn_tf.experiments.representations import has_model, load_model
    root, _ = reproduced
    for method in ("standard", "drrdn"):
        folder = tmp_path / method
        shutil.copytree(root / "runs" / method, folder, ignore=shutil.ignore_patterns("model.keras"))
        assert has_model(str(folder))
        saved, rebuilt = keras.models.load_model(str(root / "runs" / method / "model.keras")), load_model(str(folder))
        assert type(rebuilt) is type(saved)
        # Same build order, so the weight lists pair up (their auto-generated names differ within one process).
        assert len(saved.weights) == len(rebuilt.weights) > 0
        for a, b in zip(saved.weights, rebuilt.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
        x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")  # the demo set's images
        np.testing.assert_array_equal(saved.predict(x, verbose=0), rebuilt.predict(x, verbose=0))
        state = folder / "checkpoint" / "state.json"
        _write(str(state), {**_json(str(state)), "epochs_done": 0})
        assert not has_model(str(folder))
        with pytest.raises(ValueError, match="no model.keras and no finished checkpoint"):
            load_model(str(folder))


def test_analyses_use_table4s_full_drrdn_where_it_exists(tmp_path):
    """Figure 2 and Table 3 need a DRRDN whose r is trained: Table 4's full variant once it has a model.keras."""
    runs = tmp_path / "runs"
    (runs / "drrdn").mkdir(parents=True)
    assert analysis_drrdn(str(runs)) == str(runs / "drrdn")
    (runs / "ablation" / "drrdn").mkdir(parents=True)
    (runs / "ablation" / "drrdn" / "model.keras").write_bytes(b"")
    assert analysis_drrdn(str(runs)) == str(runs / "ablation" / "drrdn")
    # A Figure 2 made of the default DRRDN is stale once the full variant is there, at the same epochs.
    (runs / "figure2.png").write_bytes(b"")
    _write(str(runs / "figure2.json"), {"drrdn": recorded_path(str(runs / "drrdn")),
                                        "model_epochs": {"drrdn": None, "standard": None}})
    pair = {"drrdn": str(runs / "drrdn"), "standard": str(runs / "standard")}
    assert make_step(str(runs), "analyses", "figure2", pair).is_done()
    pair["drrdn"] = analysis_drrdn(str(runs))
    assert not make_step(str(runs), "analyses", "figure2", pair).is_done()
    assert ablation.flags_of("drrdn-rec") == ["--method=drrdn", "--lambda_mi=0.1", "--lambda_rec=0"]
    with pytest.raises(ValueError, match="unknown ablation variant"):
        ablation.flags_of("drrdn-ent")


def _write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def _paper_json(acc, warnings=()):
    attack = {"name": "pgd", "steps": 40, "step_size": 0.01, "loss": "ce"}
    return {"num_examples": 100, "eps": 0.1, "seed": 0, "accuracy": acc,
            "attacks": {"fgsm": {"name": "fgsm", "steps": 1, "step_size": 0.1, "loss": "ce"}, "pgd40": attack,
                        "cw40": {**attack, "loss": "cw"},
                        "transfer_madry": {"name": "transfer", "surrogate_attack": attack}},
            "masking": {"examples": 50, "checks": [{"passed": not warnings}], "warnings": list(warnings)}}


def test_tables_markdown_on_hand_made_jsons(tmp_path):
    runs = str(tmp_path)
    white = {"natural": 0.9, "fgsm": 0.8, "pgd40": 0.7, "pgd100": 0.65, "cw40": 0.7, "cw100": 0.6}
    _write(os.path.join(runs, "drrdn", "eval_paper.json"),
           _paper_json({**white, "transfer_madry": 0.85}, warnings=["gradient_free_not_stronger: Square 9%"]))
    _write(os.path.join(runs, "madry", "eval_paper.json"), _paper_json({**white, "natural": 0.95}))
    lines = tables_markdown(runs, "fashion_mnist")
    text = "\n".join(lines)
    # No paper table for Fashion-MNIST: ours alone, the rows in the paper's order, a missing column is "–".
    assert "| Madry | 95.00 | 80.00 | 70.00 | 65.00 | 70.00 | 60.00 | – | – | – | – |" in lines
    assert "| DRRDN | 90.00 | 80.00 | 70.00 | 65.00 | 70.00 | 60.00 | – | 85.00 | – | – |" in lines
    assert text.index("| Madry |") < text.index("| DRRDN |") and "| Standard |" not in text
    assert "The paper has no fashion_mnist table" in text and "the first 100 fashion_mnist test images" in text
    assert "No transfer column yet for Madry from DRRDN:" in text     # Madry's JSON predates DRRDN's model
    assert stale_transfer(os.path.join(runs, "madry", "eval_paper.json"), ["drrdn", "standard"]) == ["drrdn",
                                                                                                    "standard"]
    assert "**warnings**: gradient_free_not_stronger: Square 9%" in text and "no warnings." in text
    assert "AutoAttack-grade" in text and "Not evaluated yet." in text and "92.81" not in text
    assert "Table 3" not in text.split("## Gradient-masking")[1] and "![Figure 2]" not in text
    # On MNIST every row of Table 1 appears, ours beside the paper's.
    text = "\n".join(tables_markdown(runs, "mnist"))
    assert "| DRRDN | 90.00 / 99.56 | 80.00 / 99.13 |" in text and "| Standard | – / 99.49 |" in text


def test_table4_says_each_rows_image_count_when_they_differ(tmp_path):
    runs = str(tmp_path)
    white = {"natural": 0.99, "pgd40": 0.9, "pgd100": 0.88}
    _write(os.path.join(runs, "drrdn", "eval_paper.json"), _paper_json(white))
    _write(os.path.join(runs, ablation.FOLDER, "drrdn-mi", "eval_paper.json"),
           {**_paper_json(white), "num_examples": 1000})
    text = "\n".join(tables_markdown(runs, "mnist"))
    table4 = text.split("Table 4")[1]
    label = ablation.VARIANTS["drrdn-mi"][0]
    assert f"(N: DRRDN default (neither MI nor REC) 100, {label} 1,000)" in table4


def test_one_rule_for_current_outputs():
    """reproduce (what to rerun) and the reports (what to show) share this rule: an output is of the current
    models when every model's recorded epochs equal its epochs now; one without a record counts as current."""
    out = {"model_epochs": {"drrdn": 20, "standard": 20}}
    assert of_current_models(out, {"drrdn": 20, "standard": 20})
    assert of_current_models(out, {"drrdn": 20})
    assert not of_current_models(out, {"drrdn": 10})
    assert not of_current_models(out, {"drrdn": 20, "standard": 19})
    assert not of_current_models(out, {"madry": 20})  # a model it was not computed on
    assert of_current_models({"accuracy": {}}, {"drrdn": 20})
