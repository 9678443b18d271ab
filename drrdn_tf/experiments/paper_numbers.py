"""The published numbers our tables are set beside: reference data, typed once here and nowhere else.

Sources:
  - Yang, Guo, Wang and Xu, "Adversarial Robustness through Disentangled Representations", AAAI 2021 (the
    DRRDN paper; its text is ../shared/paper/drrdn_aaai2021.md): Table 1 (MNIST) and Table 2 (CIFAR-10),
    accuracy (%) on the test set, natural and under white-box FGSM (step 10x the PGD step), PGD-40/100 and
    CW-40/100 (L_inf; MNIST eps 0.3, step 0.01; CIFAR-10 eps 0.031, step 0.003), and under transfer from each
    surrogate model ("black-box attack from surrogate models": PGD-40 step 0.01 on MNIST, PGD-20 step 0.003
    on CIFAR-10, crafted on the surrogate); Table 3 (MNIST, hybrid reconstructed representations); Table 4
    (MNIST ablation, PGD-40/100 of DRRDN, DRRDN-MI and DRRDN-REC).
  - Croce and Hein, AutoAttack (ICML 2020), the leaderboard of its repository's README
    (github.com/fra31/auto-attack, "MNIST - Linf", standard version): TRADES (Zhang et al. 2019), the
    authors' released SmallCNN, eps 0.3, clean 99.48%, AutoAttack 92.81% on the full test set. The DRRDN paper
    reports no AutoAttack figure; this is the published AutoAttack-grade number for the closest model.

All values are percentages exactly as printed (our JSONs hold fractions). `None` is the paper's "-": no
transfer from a model to itself.
"""

from __future__ import annotations

from typing import Dict, Optional

#: The white-box columns of Tables 1/2, as our results keys (`evaluation.paper_columns`), and the surrogates
#: of the transfer columns, as run-folder (method) names.
WHITE_BOX = ("natural", "fgsm", "pgd40", "pgd100", "cw40", "cw100")
SURROGATES = ("standard", "madry", "trades", "drrdn")


def _row(natural, fgsm, pgd40, pgd100, cw40, cw100, *transfer) -> Dict[str, Optional[float]]:
    """A table row: the white-box columns, then "transfer_<surrogate>" for the four surrogates in order."""
    return {**dict(zip(WHITE_BOX, (natural, fgsm, pgd40, pgd100, cw40, cw100))),
            **{f"transfer_{s}": t for s, t in zip(SURROGATES, transfer)}}


#: The paper's training schedule (its Experiments section): 100 epochs, the learning rate x0.1 after 55, 75, 90.
PAPER_TRAINING = {"epochs": 100, "lr_decay_epochs": (55, 75, 90)}

#: Table 1 (MNIST, eps 0.3): {method: {column: accuracy in %}}.
TABLE1_MNIST = {
    "standard": _row(99.49, 86.44, 0.36, 0.30, 0.00, 0.00, None, 90.26, 83.83, 98.24),
    "madry": _row(99.45, 98.88, 96.58, 95.32, 96.62, 95.43, 97.74, None, 97.02, 98.03),
    "trades": _row(99.50, 98.98, 96.95, 95.73, 96.88, 95.88, 97.77, 96.93, None, 97.95),
    "drrdn": _row(99.56, 99.13, 97.55, 96.78, 97.52, 96.93, 98.05, 97.38, 97.59, None),
}

#: Table 2 (CIFAR-10, eps 0.031): {method: {column: accuracy in %}}.
TABLE2_CIFAR10 = {
    "standard": _row(95.32, 37.22, 0.0, 0.0, 0.0, 0.0, None, 45.22, 47.79, 50.40),
    "madry": _row(86.53, 55.86, 45.49, 44.97, 47.29, 46.95, 79.55, None, 68.66, 71.42),
    "trades": _row(84.66, 60.30, 50.91, 50.32, 49.73, 49.11, 81.60, 70.79, None, 74.52),
    "drrdn": _row(85.76, 62.81, 52.32, 52.21, 51.88, 51.33, 82.65, 72.26, 72.33, None),
}

#: Table 3 (MNIST): accuracy (%) on the hybrid representations, keyed as `experiments.table3.HYBRIDS`.
TABLE3_MNIST = {"zs_zi": 99.31, "zs'_zi": 99.02, "zs_zi'": 95.82, "zs'_zi'": 95.01}

#: Table 4 (MNIST): {variant (experiments.ablation.VARIANTS): {column: accuracy in %}}.
TABLE4_MNIST = {"drrdn": {"pgd40": 97.55, "pgd100": 96.78}, "drrdn-mi": {"pgd40": 96.88, "pgd100": 96.25},
                "drrdn-rec": {"pgd40": 97.32, "pgd100": 96.43}}

#: AutoAttack (standard version) on TRADES' released MNIST SmallCNN at eps 0.3, by AutoAttack's authors.
TRADES_AUTOATTACK_MNIST = {"natural": 99.48, "autoattack": 92.81, "eps": 0.3, "model": "TRADES' released SmallCNN",
                           "source": "AutoAttack leaderboard, github.com/fra31/auto-attack README (MNIST - Linf)"}

#: Which published table goes beside our runs on each data set. The demo set is real MNIST images under
#: MNIST's threat model, so Table 1 is its reference too; the paper has no Fashion-MNIST table.
_TABLES = {"mnist": ("Table 1", TABLE1_MNIST), "demo": ("Table 1", TABLE1_MNIST),
           "cifar10": ("Table 2", TABLE2_CIFAR10)}


def paper_table(dataset: str):
    """(the paper's table name, {method: {column: %}}) for `dataset`, or None if the paper has none."""
    return _TABLES.get(dataset)


def table3(dataset: str) -> Optional[Dict[str, float]]:
    """The paper's Table 3 for `dataset` (MNIST and the demo's MNIST images), else None."""
    return TABLE3_MNIST if dataset in ("mnist", "demo") else None


def table4(dataset: str) -> Optional[Dict[str, Dict[str, float]]]:
    """The paper's Table 4 for `dataset` (MNIST and the demo's MNIST images), else None."""
    return TABLE4_MNIST if dataset in ("mnist", "demo") else None


def autoattack_reference(dataset: str) -> Optional[dict]:
    """The published AutoAttack figure we quote for `dataset` (TRADES on MNIST), else None."""
    return TRADES_AUTOATTACK_MNIST if dataset in ("mnist", "demo") else None
