"""The paper's analyses on two small trained models: Figure 2 (t-SNE) and Table 3 (hybrid representations),
from Python and from their command lines (loading model.keras from run folders)."""

import json
import os

import numpy as np
import pytest

from conftest import run_cli, tiny_drrdn


@pytest.fixture(scope="module")
def models(demo, tmp_path_factory):
    """A DRRDN with every term on (so r is trained) and a Standard model, each fitted briefly on 1,024 demo
    images and saved as a run folder's model.keras."""
    import keras

    import drrdn_tf
    from drrdn_tf.nn import backbones
    x, y = demo[0][:1024], demo[1][:1024]
    keras.utils.set_random_seed(0)
    drrdn = tiny_drrdn(pgd_steps=2)
    drrdn.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    drrdn.fit(x, y, batch_size=128, epochs=1, verbose=0)
    standard = drrdn_tf.Standard(backbones.small_cnn((28, 28, 1)), 10, head=backbones.head_for("small_cnn"))
    standard.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    standard.fit(x, y, batch_size=128, epochs=2, verbose=0)
    root = tmp_path_factory.mktemp("runs")
    for name, m in (("drrdn", drrdn), ("standard", standard)):
        os.makedirs(root / name)
        m.save(str(root / name / "model.keras"))
    return drrdn, standard, root


def test_representations_shapes_and_attack(models, demo):
    from drrdn_tf.experiments import representations as reps
    drrdn, standard, _ = models
    x, y = demo[2][:40], demo[3][:40]
    pairs = reps.natural_and_adversarial(drrdn, standard, x, y, eps=0.3, step_size=0.1, steps=3, progress=False)
    assert set(pairs) == {"z_s", "z_i", "standard"}
    for nat, adv in pairs.values():
        assert nat.shape == adv.shape and nat.shape[0] == 40 and np.isfinite(nat).all()
        assert not np.allclose(nat, adv)                         # the attack moved every representation
    x_adv = reps.adversarial_examples(standard, x, y, 0.3, 0.1, 3, progress=False)
    assert np.abs(x_adv - x).max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    with pytest.raises(ValueError, match="not DRRDN"):
        reps.drrdn_representations(standard, x)


def test_figure2_layout(models, demo):
    from drrdn_tf.experiments import figure2
    drrdn, standard, _ = models
    fig, record = figure2.make_figure2(drrdn, standard, demo[2][:30], demo[3][:30], 0.3, 0.1, 2, progress=False)
    axes = fig.get_axes()
    assert len(axes) == 9
    # Row 1 shows 30 natural points, row 2 natural and adversarial (two collections), row 3 30 adversarial.
    counts = [[len(c.get_offsets()) for c in ax.collections] for ax in axes]
    assert counts[:3] == [[30]] * 3 and counts[3:6] == [[30, 30]] * 3 and counts[6:] == [[30]] * 3
    assert record["num_examples"] == 30 and record["attack"]["steps"] == 2
    for scores in record["knn_accuracy"].values():
        assert set(scores) == {"class_natural", "class_adversarial", "domain"}
        assert all(0 <= v <= 100 for v in scores.values())


def test_separability_reads_what_a_representation_encodes():
    """k-NN read-out: a representation made of the class scores near 100 on class and near chance on domain;
    one made of the domain the other way round."""
    from drrdn_tf.experiments.figure2 import separability
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    centres = 10 * rng.normal(size=(10, 8))
    by_class = centres[labels] + rng.normal(size=(200, 8))
    s = separability(by_class, by_class + 0.01 * rng.normal(size=(200, 8)), labels)
    assert s["class_natural"] > 95 and s["class_adversarial"] > 95 and 35 < s["domain"] < 65
    noise = rng.normal(size=(200, 8))
    s = separability(noise, noise + 10, labels)
    assert s["class_natural"] < 30 and s["domain"] > 95


def test_table3_fine_tunes_and_scores_four_hybrids(models, demo):
    from drrdn_tf.experiments import table3
    drrdn, standard, _ = models
    before = [w.copy() for w in standard.classifier.get_weights()]
    result = table3.hybrid_table(drrdn, standard, demo[0][:512], demo[1][:512], demo[2][:100], demo[3][:100],
                                 0.3, 0.1, 2, finetune_epochs=1, progress=False)
    assert set(result["accuracy"]) == {"zs_zi", "zs'_zi", "zs_zi'", "zs'_zi'"}
    assert all(0 <= a <= 1 for a in result["accuracy"].values())
    assert result["lambda_rec"] == 0.1 and result["reconstruction_mse"] >= 0
    # The Standard model itself is untouched: a copy of its head was fine-tuned.
    assert all(np.array_equal(a, b) for a, b in zip(before, standard.classifier.get_weights()))
    assert "z'_s + z'_i" in table3.markdown(result)


def test_commands_write_their_outputs(models, tmp_path):
    _, _, root = models
    out = str(tmp_path / "fig.png")
    r = run_cli("drrdn_tf.experiments.figure2", f"--drrdn={root / 'drrdn'}", f"--standard={root / 'standard'}",
                "--num_examples=20", "--steps=1", f"--output={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.getsize(out) > 0 and json.load(open(str(tmp_path / "fig.json")))["num_examples"] == 20
    out = str(tmp_path / "t3.json")
    r = run_cli("drrdn_tf.experiments.table3", f"--drrdn={root / 'drrdn'}", f"--standard={root / 'standard'}",
                "--num_examples=50", "--finetune_examples=256", "--finetune_epochs=1", "--steps=1", f"--output={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.load(open(out))
    assert set(result["accuracy"]) == {"zs_zi", "zs'_zi", "zs_zi'", "zs'_zi'"} and not os.path.isabs(result["drrdn"])
    assert os.path.exists(str(tmp_path / "t3.md"))


def test_commands_refuse_bad_input(models, tmp_path):
    _, _, root = models
    r = run_cli("drrdn_tf.experiments.figure2", f"--drrdn={tmp_path}", f"--standard={root / 'standard'}")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "no model.keras" in r.stderr
    r = run_cli("drrdn_tf.experiments.table3", f"--drrdn={root / 'standard'}", f"--standard={root / 'standard'}")
    assert r.returncode == 2 and "not DRRDN" in r.stderr
    r = run_cli("drrdn_tf.experiments.figure2", f"--drrdn={root / 'drrdn'}")
    assert r.returncode == 2 and "--standard" in r.stderr
    # The data set is loaded offline only: a folder without it is a one-line error naming the file.
    r = run_cli("drrdn_tf.experiments.table3", f"--drrdn={root / 'drrdn'}", f"--standard={root / 'standard'}",
                "--dataset=mnist", f"--data_dir={tmp_path}")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "mnist.npz" in r.stderr, r.stderr


def test_mine_estimate_recovers_a_known_information():
    """Gaussian pairs with a known I(x; y) (4 dimensions of correlation 0.8: 2.04 nats) and independent ones: the
    held-out estimate of a fresh T lands near the truth and near zero."""
    from drrdn_tf.experiments.mutual_information import estimate
    rng = np.random.default_rng(0)

    def pairs(n, rho):
        x = rng.normal(size=(n, 4))
        return x, rho * x + np.sqrt(1 - rho ** 2) * rng.normal(size=(n, 4))

    truth = -0.5 * np.log(1 - 0.8 ** 2) * 4
    r = estimate(pairs(8000, 0.8), pairs(2000, 0.8), steps=600, eval_every=200)
    assert 0.85 * truth < r["estimate"] < 1.1 * truth, r["curve"]
    assert [c[0] for c in r["curve"]] == [200, 400, 600] and r["step"] in (200, 400, 600)
    r = estimate(pairs(8000, 0.0), pairs(2000, 0.0), steps=400, eval_every=200)
    assert abs(r["estimate"]) < 0.1, r["curve"]
    with pytest.raises(ValueError, match="paired"):
        estimate((np.zeros((600, 4)), np.zeros((599, 4))), pairs(100, 0.0))
    with pytest.raises(ValueError, match="too few"):
        estimate(pairs(100, 0.0), pairs(100, 0.0))


def test_mutual_information_command(models, tmp_path):
    _, _, root = models
    out = str(tmp_path / "mi.json")
    r = run_cli("drrdn_tf.experiments.mutual_information", f"--models={root / 'drrdn'}", "--dataset=demo",
                "--train_examples=1024", "--test_examples=300", "--seeds=2", "--steps=40", f"--output={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.load(open(out))
    (row,) = result["models"]
    assert row["lambda_mi"] == 0.1 and len(row["estimates"]) == 2 and np.isfinite(row["estimate"])
    assert np.isfinite(row["own_t_bound"]) and not os.path.isabs(row["model"])
    assert result["train_examples"] == 1024 and result["test_examples"] == 300
    assert "fresh MINE" in open(str(tmp_path / "mi.md")).read()
    r = run_cli("drrdn_tf.experiments.mutual_information", f"--models={root / 'standard'}", "--dataset=demo")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "not DRRDN" in r.stderr
    r = run_cli("drrdn_tf.experiments.mutual_information", "--dataset=demo", "--seeds=0")
    assert r.returncode == 2 and "--models" in r.stderr
