"""The README's generated Results section: figures from the result folders' JSONs, only those of the current
models, the differences from the paper computed, and the README rewritten between its markers only."""

import json
import os

import pytest

from conftest import run_cli
from drrdn_tf import config
from drrdn_tf.experiments import results_section, sampling

WHITE = {"natural": 0.99, "fgsm": 0.97, "pgd40": 0.95, "pgd100": 0.94, "cw40": 0.95, "cw100": 0.94}


def _write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def _run(root, method, done, planned=20, results_epochs=None, pgd=0.95):
    """A run folder: config.json, history.json (`done` epochs of `planned`), results.json of a model trained
    `results_epochs` epochs (None: no results.json)."""
    folder = os.path.join(root, method)
    s = config.settings_for("mnist", method=method, epochs=planned, lr_decay_epochs=(11, 15, 18),
                            eps_warmup_epochs=3)
    _write(os.path.join(folder, "config.json"), {"settings": s.to_json()})
    _write(os.path.join(folder, "history.json"), {"epochs": [{"epoch": i + 1, "val_pgd_acc": 0.9}
                                                             for i in range(done)]})
    if results_epochs is not None:
        _write(os.path.join(folder, "results.json"),
               {"num_examples": 10000, "epochs_trained": results_epochs,
                "accuracy": {"natural": 0.99, "pgd40": pgd},
                "attack": {"name": "pgd", "eps": 0.3, "step_size": 0.01, "steps": 40}})
    return folder


def _eval(folder, method, accuracy, epochs):
    attack = {"name": "pgd", "steps": 40, "step_size": 0.01, "loss": "ce"}
    _write(os.path.join(folder, "eval_paper.json"),
           {"num_examples": 10000, "eps": 0.3, "seed": 0, "accuracy": accuracy, "model_epochs": {method: epochs},
            "attacks": {"fgsm": {"name": "fgsm", "steps": 1, "step_size": 0.1, "loss": "ce"}, "pgd40": attack,
                        "cw40": {**attack, "loss": "cw"}}})


def test_section_from_training_results_then_from_the_paper_protocol(tmp_path):
    root = str(tmp_path / "mnist")
    drrdn = _run(root, "drrdn", done=12, results_epochs=10, pgd=0.96)   # resumed past its 10-epoch results.json
    madry = _run(root, "madry", done=20, results_epochs=20, pgd=0.95)
    text = "\n".join(results_section.section([(root, "MNIST")]))
    assert text.startswith(results_section.BEGIN) and text.endswith(results_section.END)
    assert "Epochs trained: Madry 20/20, DRRDN 12/20. Not started: Standard, TRADES." in text
    assert "20 epochs with the learning rate x0.1 after epochs 11, 15, 18" in text
    # Only Madry's results.json tests the model its folder holds now; the paper's Madry beside it.
    assert "| Madry | 20 | 99.00 / 99.45 | 95.00 / 96.58 |" in text and "| DRRDN |" not in text
    assert "has not run on the current models yet" in text
    assert "against the paper's 100 (decays after 55, 75, 90)" in text
    assert "the eps warm-up over the first 3 epochs" in text and "lambda_mi 0.0 (printed: 0.1)" in text

    # The paper protocol on both current models: Table 1's layout; DRRDN against Madry only at the same epochs.
    _eval(madry, "madry", WHITE, epochs=20)
    _eval(drrdn, "drrdn", {**WHITE, "pgd40": 0.96, "pgd100": 0.93}, epochs=12)
    text = "\n".join(results_section.section([(root, "MNIST")]))
    assert "has not run" not in text and "| DRRDN | 99.00 / 99.56 |" in text
    assert ("DRRDN against Madry: not compared yet, their models have trained different epochs "
            "(DRRDN 12, Madry 20).") in text and "below Madry" not in text
    drrdn = _run(root, "drrdn", done=20)
    _eval(drrdn, "drrdn", {**WHITE, "pgd40": 0.96, "pgd100": 0.93}, epochs=20)
    text = "\n".join(results_section.section([(root, "MNIST")]))
    # Each gap with its two-standard-error band over 10,000 images: pgd100 -1.00 lies outside its ±0.70,
    # pgd40 +1.00 outside its ±0.59, the equal columns inside theirs.
    assert ("DRRDN against Madry (the paper's protocol (eval_paper.json); points, ± two standard errors over 10,000 "
            "images): natural +0.00 ±0.28, fgsm +0.00 ±0.48, pgd40 +1.00 ±0.59, pgd100 -1.00 ±0.70, cw40 +0.00 "
            "±0.62, cw100 +0.00 ±0.67: **below Madry in pgd100**; above Madry beyond sampling noise in pgd40; "
            "within sampling noise of Madry (a tie, not a win) in natural, fgsm, cw40, cw100.") in text
    assert "not the spread over training seeds" in text
    assert "Our DRRDN against the paper's DRRDN (the paper's protocol (eval_paper.json), points): natural -0.56" in text
    # An evaluation of an earlier model is not shown as the current one.
    _eval(drrdn, "drrdn", WHITE, epochs=10)
    text = "\n".join(results_section.section([(root, "MNIST")]))
    assert "| DRRDN | – / 99.56 |" in text and "| Madry | 99.00 / 99.45 |" in text   # the paper's row alone


def test_readme_rewritten_between_its_markers_only(tmp_path):
    root = str(tmp_path / "mnist")
    _run(root, "madry", done=20, results_epochs=20)
    readme = tmp_path / "README.md"
    readme.write_text(f"# top\n\n{results_section.BEGIN}\nold text\n{results_section.END}\n\n## after\n")
    results_section.update_readme(str(readme), [(root, "MNIST")])
    text = readme.read_text()
    assert text.startswith("# top\n\n" + results_section.BEGIN) and text.endswith(results_section.END + "\n\n## after\n")
    assert "old text" not in text and "| Madry | 20 |" in text
    results_section.update_readme(str(readme), [(root, "MNIST")])
    assert readme.read_text() == text                                    # a rerun changes nothing
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="no results markers"):
        results_section.update_readme(str(readme), [(root, "MNIST")])


def test_command_bad_input_is_one_line(tmp_path):
    out = run_cli("drrdn_tf.experiments.results_section", f"--readme={tmp_path / 'nope.md'}")
    assert out.returncode == 2 and out.stderr.strip().startswith("error: ") and len(out.stderr.strip().splitlines()) == 1


def test_a_gap_inside_sampling_noise_is_a_tie_and_autoattack_is_compared_too(tmp_path):
    root = str(tmp_path / "mnist")
    drrdn = _run(root, "drrdn", done=20, results_epochs=20, pgd=0.9656)
    madry = _run(root, "madry", done=20, results_epochs=20, pgd=0.9654)
    for folder, method, aa in ((drrdn, "drrdn", 0.917), (madry, "madry", 0.88)):
        _write(os.path.join(folder, "eval_autoattack.json"),
               {"num_examples": 1000, "eps": 0.3, "seed": 0, "model_epochs": {method: 20},
                "accuracy": {"natural": 0.99, "autoattack": aa},
                "columns": [{"key": "natural", "label": "Natural"}, {"key": "autoattack", "label": "AutoAttack"}],
                "attacks": {"apgd_ce": {"steps": 100}, "apgd_t": {"steps": 100, "n_target_classes": 9},
                            "square": {"n_queries": 5000}}})
    text = "\n".join(results_section.section([(root, "MNIST")]))
    # +0.02 points against a band of ±0.52 over 10,000 images: a tie, never "at least Madry's".
    assert ("natural +0.00 ±0.28, pgd40 +0.02 ±0.52: within sampling noise of Madry (a tie, not a win) in natural, "
            "pgd40.") in text and "at least" not in text
    # 91.7 against 88.0 on 1,000 images: 3.7 points against a band of ±2.70.
    assert ("DRRDN against Madry (the `autoattack` preset (eval_autoattack.json); points, ± two standard errors over "
            "1,000 images): autoattack +3.70 ±2.70: above Madry beyond sampling noise in autoattack.") in text


def test_two_standard_errors():
    assert sampling.two_standard_errors(50.0, 50.0, 10000) == pytest.approx(200 * (0.5 / 10000) ** 0.5)
    assert sampling.two_standard_errors(100.0, 0.0, 10) == 0.0


def test_paired_two_standard_errors():
    """The paired band counts only the images on which the two models disagree."""
    import numpy as np
    a = np.array([1] * 90 + [0] * 10, bool)
    assert sampling.paired_two_standard_errors(a, a) == 0.0                 # the same flags: no noise at all
    b = a.copy()
    b[:4] = False                                                           # 4 images only a gets right
    # d = a - b is 1 on 4 of 100 images: sd = sqrt(0.04 - 0.0016), band = 200 * sd / sqrt(100).
    assert sampling.paired_two_standard_errors(a, b) == pytest.approx(20 * (0.04 - 0.0016) ** 0.5)
    assert sampling.paired_two_standard_errors(a, b) < sampling.two_standard_errors(90.0, 86.0, 100)
    assert sampling.verdict(90.0, 86.0, 100) == "tie" and sampling.verdict(90.0, 86.0, 100, band=3.9) == "above"
    with pytest.raises(ValueError, match="one length"):
        sampling.paired_two_standard_errors(a, b[:50])


def test_paired_records_give_the_drrdn_baseline_comparison_paired_bands(tmp_path):
    """With paired.json of DRRDN and Madry (current models), a second comparison line with the bands of the
    paired differences: here a gap the unpaired band calls a tie is above Madry image by image."""
    import numpy as np
    from drrdn_tf.experiments import paired
    root = str(tmp_path / "mnist")
    n = 10000
    base = np.arange(n) < 9600                              # Madry: 96.00% robust
    ours = base.copy()
    ours[9600:9640] = True                                  # DRRDN: the same, and 40 images more
    for method, pgd in (("drrdn", ours), ("madry", base)):
        folder = _run(root, method, done=20, results_epochs=20, pgd=pgd.mean())
        _eval(folder, method, {"natural": 0.99, "pgd40": pgd.mean()}, 20)
        _write(os.path.join(folder, "paired.json"),
               {"model": method, "dataset": "mnist", "num_examples": n, "eps": 0.3, "seed": 0,
                "model_epochs": {method: 20}, "flags": {"pgd40": paired.encode(pgd)}})
    text = "\n".join(results_section.section([(root, "MNIST")]))
    assert "pgd40 +0.40 ±0.54: within sampling noise of Madry" in text        # unpaired
    band = 200 * (0.004 - 0.004 ** 2) ** 0.5 / 100
    assert (f"DRRDN against Madry (paired on the same images, paired.json: the paper preset's columns rerun with "
            f"every image's result kept; points, ± two standard errors of the paired differences over 10,000 "
            f"images): pgd40 +0.40 ±{band:.2f}: above Madry beyond sampling noise in pgd40. Images only DRRDN / "
            "only Madry gets right: pgd40 40 / 0.") in text
    # Records of other images are not paired, and the line says why.
    record = json.load(open(os.path.join(root, "madry", "paired.json")))
    _write(os.path.join(root, "madry", "paired.json"), {**record, "num_examples": 1000})
    assert ("- DRRDN against Madry, paired: not compared (the results of drrdn and madry differ in num_examples "
            "(10000 vs 1000)") in "\n".join(results_section.section([(root, "MNIST")]))
    # A stale record (of an earlier model) is not used.
    _write(os.path.join(root, "madry", "paired.json"), {"model_epochs": {"madry": 10}, "flags": {}})
    assert "paired.json" not in "\n".join(results_section.section([(root, "MNIST")]))


def test_autoattack_jsons_with_per_example_flags_are_compared_with_the_paired_band(tmp_path):
    import numpy as np
    root = str(tmp_path / "mnist")
    base = np.arange(1000) < 900
    ours = base.copy()
    ours[900:930] = True                                    # 30 images more, none fewer: 93.0 against 90.0
    for method, flags in (("drrdn", ours), ("madry", base)):
        folder = _run(root, method, done=20, results_epochs=20)
        _write(os.path.join(folder, "eval_autoattack.json"),
               {"model": method, "dataset": "mnist", "num_examples": 1000, "eps": 0.3, "seed": 0,
                "model_epochs": {method: 20}, "accuracy": {"natural": 0.99, "autoattack": flags.mean()},
                "per_example": {"correct": {"autoattack": flags.astype(int).tolist()}},
                "columns": [{"key": "natural", "label": "Natural"}, {"key": "autoattack", "label": "AutoAttack"}],
                "attacks": {"apgd_ce": {"steps": 100}, "apgd_t": {"steps": 100, "n_target_classes": 9},
                            "square": {"n_queries": 5000}}})
    text = "\n".join(results_section.section([(root, "MNIST")]))
    band = 200 * (0.03 - 0.03 ** 2) ** 0.5 / 1000 ** 0.5
    # Unpaired, +3.00 would sit inside ±2.49; the paired band is ±1.08.
    assert (f"(the `autoattack` preset (eval_autoattack.json); points, ± two standard errors of the paired "
            f"differences over 1,000 images): autoattack +3.00 ±{band:.2f}: above Madry") in text


def test_our_madry_level_with_the_papers_says_the_budget_does_not_explain_drrdns_gap(tmp_path):
    from drrdn_tf.experiments import paper_numbers
    root = str(tmp_path / "mnist")
    paper = paper_numbers.TABLE1_MNIST
    for method, shift in (("madry", -0.2), ("drrdn", -1.5)):
        folder = _run(root, method, done=20)
        _eval(folder, method, {c: (paper[method][c] + shift) / 100 for c in paper_numbers.WHITE_BOX}, epochs=20)
    text = "\n".join(results_section.section([(root, "MNIST")]))
    assert "Our Madry against the paper's Madry (the paper's protocol (eval_paper.json), points): natural -0.20" in text
    assert ("our Madry, trained on the same budget, is within 0.20 points of the paper's Madry in every white-box "
            "column, while our DRRDN is up to 1.50 points from the paper's DRRDN: the budget does not explain "
            "DRRDN's gap alone") in text


def test_masking_warnings_of_the_shown_evaluations_are_in_the_section():
    ok = {"masking": {"warnings": []}}
    warned = {"masking": {"warnings": ["gradient_free_not_stronger: Square fooled 3.0%"]}}
    lines = results_section.masking_summary({"paper preset": {"madry": warned, "drrdn": ok},
                                             "autoattack preset": {"drrdn": ok, "standard": {}}})
    assert lines[1].startswith("Gradient-masking checks (`tables.md` lists them): 2 of 3 evaluations pass every "
                               "check. Warnings: Madry (paper preset): gradient_free_not_stronger: Square fooled 3.0%.")
    assert results_section.masking_summary({"paper preset": {"drrdn": ok}})[1].endswith("1 of 1 evaluations pass every check.")
    assert results_section.masking_summary({"paper preset": {}}) == []


def test_figure2_with_its_knn_readout_and_the_z_i_sentence(tmp_path):
    """Figure 2 is shown with the DRRDN it is of and figure2.json's k-NN table; a z_i the class can be read from
    gets a sentence naming lambda_ent from that DRRDN's config.json, and none when it is near chance."""
    runs = str(tmp_path / "runs")
    _run(runs, "drrdn", 20)
    knn = {"z_s": {"class_natural": 97.8, "class_adversarial": 91.6, "domain": 61.2},
           "z_i": {"class_natural": 96.8, "class_adversarial": 91.0, "domain": 63.7},
           "standard": {"class_natural": 94.8, "class_adversarial": 73.8, "domain": 88.7}}
    _write(os.path.join(runs, "figure2.json"), {"drrdn": os.path.join(runs, "drrdn"), "num_examples": 500,
                                                "dataset": "mnist", "knn_accuracy": knn,
                                                "knn": {"neighbours": 5, "folds": 5}})
    assert results_section.figure2_lines(runs) == []                  # no PNG, no figure
    open(os.path.join(runs, "figure2.png"), "wb").close()
    text = "\n".join(results_section.figure2_lines(runs))
    assert "| class-irrelevant z_i (DRRDN) | 96.8 | 91.0 | 63.7 |" in text and "the 500 images" in text
    assert "z_i is not class-irrelevant" in text and "read from it at 96.8%" in text and "lambda_ent = 0:" in text
    assert "chance: 10 for class" in text and "is off in the package's default" in text
    knn["z_i"]["class_natural"] = 11.0
    _write(os.path.join(runs, "figure2.json"), {"drrdn": os.path.join(runs, "drrdn"), "num_examples": 500,
                                                "dataset": "mnist", "knn_accuracy": knn,
                                                "knn": {"neighbours": 5, "folds": 5}})
    assert "not class-irrelevant" not in "\n".join(results_section.figure2_lines(runs))
