"""The paper's Table 4 ablation: which DRRDN variants it compares, and the command-line flags of each.

The paper removes the mutual-information term (Eq. 9, "DRRDN-MI") or the reconstruction term (Eq. 10,
"DRRDN-REC") from its full objective. The package's default DRRDN has both at weight 0 (the stability study),
so the ablation is run from a base that has them on at the paper's weights, every other setting the default's:

    python -m drrdn_tf.train --dataset=mnist $(python -m drrdn_tf.experiments.ablation drrdn-mi) \
        --output_dir=results/mnist/ablation/drrdn-mi

Run folders go to `<runs>/ablation/<variant>/`; `python -m drrdn_tf.experiments.reproduce --steps=table4`
evaluates them and writes Table 4 beside the default DRRDN (`<runs>/drrdn`, neither term).
"""

from __future__ import annotations

import sys
from typing import Dict, List, Tuple

#: variant (run-folder name under <runs>/ablation) -> (label in Table 4, settings beside the default's).
VARIANTS: Dict[str, Tuple[str, dict]] = {
    "drrdn": ("DRRDN (MI + REC)", dict(lambda_mi=0.1, lambda_rec=0.1)),
    "drrdn-mi": ("DRRDN-MI", dict(lambda_mi=0.0, lambda_rec=0.1)),
    "drrdn-rec": ("DRRDN-REC", dict(lambda_mi=0.1, lambda_rec=0.0)),
}
#: the folder under <runs> that holds the ablation's run folders.
FOLDER = "ablation"


def flags_of(variant: str) -> List[str]:
    """The training flags of `variant` (besides the data set, budget and output folder)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ablation variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    return ["--method=drrdn"] + [f"--{k}={v:g}" for k, v in VARIANTS[variant][1].items()]


def main(argv: List[str]) -> int:
    """`python -m drrdn_tf.experiments.ablation VARIANT` prints VARIANT's training flags on one line."""
    if len(argv) != 2 or argv[1] not in VARIANTS:
        print(f"usage: python -m drrdn_tf.experiments.ablation {{{','.join(VARIANTS)}}}", file=sys.stderr)
        return 2
    print(" ".join(flags_of(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
