"""Writes results/demo/README.md (to stdout) from the JSON files next to it: no number is typed by hand."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = [("standard", "Standard"), ("madry", "Madry"), ("trades", "TRADES"), ("drrdn", "DRRDN")]


def load(method, name):
    path = os.path.join(HERE, method, name)
    return json.load(open(path)) if os.path.exists(path) else None


def pct(x):
    return "–" if x is None else f"{100 * x:.2f}"


def main():
    white = ["natural", "fgsm", "pgd40", "pgd100", "cw40", "cw100"]
    head = ["Natural", "FGSM", "PGD40", "PGD100", "CW40", "CW100"] + [f"from {label}" for _, label in METHODS]
    print("# Demo-scale comparison on real MNIST\n")
    print("Produced by `results/demo/train_all.sh` (training) and `results/demo/evaluate_all.sh` (evaluation, which "
          "runs `make_table.py` to write this file). Each model is trained with `python -m drrdn_tf.train "
          "--method=<m>` on the embedded demo set — 5,744 real MNIST training images, 8 epochs, SmallCNN, PGD-10 of "
          "step 0.05 at eps 0.3 ramped over 3 epochs — far below the paper's 60,000 images x 100 epochs x PGD-40. "
          "So these numbers say how the methods compare at this small budget, not whether the paper's Table 1 "
          "reproduces.\n")
    first = load("drrdn", "paper_mnist1000.json")
    if first:
        print(f"White-box and transfer accuracy (%) on the first {first['num_examples']} images of the MNIST test "
              f"set, L_inf eps = {first['eps']} (the paper's protocol: FGSM step 0.1, PGD/CW step 0.01; transfer: "
              "PGD-40 on the surrogate). Robust accuracy counts an example only if it is also classified "
              "correctly without attack.\n")
    print("| Model | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(head))
    for method, label in METHODS:
        r = load(method, "paper_mnist1000.json")
        if r is None:
            continue
        acc = r["accuracy"]
        row = [pct(acc.get(k)) for k in white]
        for other, _ in METHODS:
            row.append("–" if other == method else pct(acc.get(f"transfer_demo_{other}")))
        print(f"| {label} | " + " | ".join(row) + " |")
    aa = [(label, load(m, "autoattack_mnist200.json")) for m, label in METHODS]
    aa = [(label, r) for label, r in aa if r]
    if aa:
        columns = aa[0][1].get("columns") or [{"key": k, "label": k} for k in aa[0][1]["accuracy"]]
        keys = [c["key"] for c in columns]
        print(f"\nAutoAttack-style worst case (preset `autoattack`) on the first {aa[0][1]['num_examples']} test "
              "images: each attack runs only on the examples still robust after the previous ones.\n")
        print("| Model | " + " | ".join(c["label"] for c in columns) + " |")
        print("|---|" + "---|" * len(keys))
        for label, r in aa:
            print(f"| {label} | " + " | ".join(pct(r["accuracy"][k]) for k in keys) + " |")
    warnings = [(label, w) for m, label in METHODS for name in ("paper_mnist1000.json", "autoattack_mnist200.json")
                for r in [load(m, name)] if r for w in r.get("masking", {}).get("warnings", [])]
    print("\nGradient-masking checks (Carlini et al. 2019): " + (
        "; ".join(f"{label}: {w}" for label, w in warnings) if warnings else "no warnings for any model."))
    for name, what in (("attacks.png", "Accuracy under each attack of the first table, and accuracy against eps "
                        "(the PGD sweep of the masking checks)"),
                       ("training_curves.png", "Training: validation accuracy (natural and under PGD) and the "
                        "training eps per epoch, training accuracy, and each method's loss terms")):
        if os.path.exists(os.path.join(HERE, name)):   # drawn by evaluate_all.sh (python -m drrdn_tf.plot)
            print(f"\n{what} (`{name}`, drawn by `python -m drrdn_tf.plot` from the JSON files):\n\n![{what}]({name})")


if __name__ == "__main__":
    main()
