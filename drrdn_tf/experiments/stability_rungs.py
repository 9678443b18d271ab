"""The stability study's definitions: the proxy budget, the rungs (each a set of overrides of DRRDN as printed),
the evaluation attack, and the settings and folder of each (rung, seed)."""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Optional

from drrdn_tf import config as config_lib
from drrdn_tf.experiments import ablation

# The proxy (issue "DRRDN that trains steadily"): MNIST, 10,000 training images, 1,000 held out for
# validation, PGD-10 of step 0.04 at eps 0.3 ramped over 3 epochs, SGD 0.01 momentum 0.9, batch 128, no decay.
PROXY = dict(dataset="mnist", train_examples=10000, val_examples=1000, pgd_steps=10, step_size=0.04,
             eps_warmup_epochs=3, epochs=10, lr_decay_epochs=(100,), test_examples=1000, batch_size=128)
# A few batches, for CI: exercises every code path of the study, measures nothing.
TINY = dict(train_examples=128, val_examples=64, pgd_steps=1, epochs=2, eps_warmup_epochs=1, test_examples=64,
            batch_size=64, probe_every=1)
#: every DRRDN term but Eq. 4 off: c_i and d_i still train on L_BC, nothing but L_CE reaches g or d_s.
EXTRAS_OFF = dict(lambda_adv=0.0, lambda_ent=0.0, lambda_mi=0.0, lambda_rec=0.0, bc_encoder_weight=0.0)
#: the PGD-40 evaluation attack (the paper's MNIST setting).
EVAL_STEPS, EVAL_STEP = 40, 0.01


@dataclasses.dataclass(frozen=True)
class Rung:
    description: str
    overrides: dict


RUNGS: Dict[str, Rung] = {
    "madry": Rung("Madry PGD training (reference)", dict(method="madry")),
    "madry_neck": Rung("Madry with a linear layer of the encoder's width before the head: the default DRRDN's "
                       "inference path and objective without DRRDN (the control for its extra layer d_s)",
                       dict(method="madry", linear_neck=True)),
    "drrdn": Rung("DRRDN as it was (every term at weight 1, confusion, alternating)", {}),
    "eq4": Rung("extra terms off: L_CE (Eq. 4) alone reaches g and d_s", EXTRAS_OFF),
    "eq4_a75": Rung("extra terms off, adversarial CE weight 0.75", {**EXTRAS_OFF, "ce_adv_weight": 0.75}),
    "eq4_a1": Rung("extra terms off, adversarial CE weight 1 (Madry's objective through d_s)",
                   {**EXTRAS_OFF, "ce_adv_weight": 1.0}),
    "eq4_a1_nowarm": Rung("extra terms off, adversarial CE weight 1, no eps warm-up (eps 0.3 from the first step)",
                          {**EXTRAS_OFF, "ce_adv_weight": 1.0, "eps_warmup_epochs": 0}),
    "madry_nowarm": Rung("Madry PGD training, no eps warm-up (eps 0.3 from the first step)",
                         dict(method="madry", eps_warmup_epochs=0)),
    "eq4+bc": Rung("extra terms off but L_BC into the encoder at 1", {**EXTRAS_OFF, "bc_encoder_weight": 1.0}),
    "eq4+adv": Rung("extra terms off but L_ADV (confusion) at 1", {**EXTRAS_OFF, "lambda_adv": 1.0}),
    "eq4_a1+adv": Rung("the default (adversarial CE weight 1) plus L_ADV (confusion) at 1",
                       {**EXTRAS_OFF, "ce_adv_weight": 1.0, "lambda_adv": 1.0}),
    "eq4+adv0.1": Rung("extra terms off but L_ADV (confusion) at 0.1", {**EXTRAS_OFF, "lambda_adv": 0.1}),
    "eq4+adv_ramp": Rung("L_ADV 0.1 with the DANN ramp from the end of the warm-up",
                         {**EXTRAS_OFF, "lambda_adv": 0.1, "alignment_ramp": "dann"}),
    "eq4+adv_1s": Rung("L_ADV one-sided at 1", {**EXTRAS_OFF, "lambda_adv": 1.0, "alignment": "one_sided"}),
    "eq4+adv_1s0.1": Rung("L_ADV one-sided at 0.1", {**EXTRAS_OFF, "lambda_adv": 0.1, "alignment": "one_sided"}),
    "eq4+adv_mom0": Rung("L_ADV at 1, disentangler update without momentum",
                         {**EXTRAS_OFF, "lambda_adv": 1.0, "disentangler_momentum": 0.0}),
    "eq4+adv_sn": Rung("L_ADV at 1, spectral-normalised c_i",
                       {**EXTRAS_OFF, "lambda_adv": 1.0, "discriminator_spectral_norm": True}),
    "eq4+adv_single": Rung("L_ADV at 1, single-pass formulation",
                           {**EXTRAS_OFF, "lambda_adv": 1.0, "formulation": "single"}),
    "eq4+ent": Rung("extra terms off but L_ENT at 1", {**EXTRAS_OFF, "lambda_ent": 1.0}),
    "eq4+rec": Rung("extra terms off but L_REC at 0.1", {**EXTRAS_OFF, "lambda_rec": 0.1}),
    "eq4+mi": Rung("extra terms off but MI at 0.1", {**EXTRAS_OFF, "lambda_mi": 0.1}),
    "eq4+mi_ema": Rung("extra terms off but MI at 0.1 with MINE's moving-average gradient",
                       {**EXTRAS_OFF, "lambda_mi": 0.1, "mine_ema": 0.01}),
    # The recipe of ../shared/notes/drrdn_stability.md (c), with Madry's full adversarial CE weight: every term
    # on, the domain game light, one-sided, ramped in and against a spectral-normalised c_i, kept out of g
    # through L_BC; MI small with MINE's corrected gradient.
    "recipe_a1": Rung("every term on, light: L_ADV 0.1 one-sided + DANN ramp, SN c_i, L_BC off g, L_ENT 0.1, "
                      "L_REC 0.1, MI 0.01 + EMA, adversarial CE weight 1",
                      dict(ce_adv_weight=1.0, lambda_adv=0.1, alignment="one_sided", alignment_ramp="dann",
                           discriminator_spectral_norm=True, bc_encoder_weight=0.0, lambda_ent=0.1,
                           lambda_rec=0.1, lambda_mi=0.01, mine_ema=0.01)),
    # Table 4's variants on the proxy (experiments/ablation.py): the default plus MI and/or REC.
    **{f"t4_{v}": Rung(f"Table 4's {label}: the default (adversarial CE weight 1) with "
                       + ", ".join(f"{k} {x:g}" for k, x in overrides.items()),
                       {**EXTRAS_OFF, "ce_adv_weight": 1.0, **overrides})
       for v, (label, overrides) in ablation.VARIANTS.items()},
}
LADDER = ("madry", "drrdn", "eq4", "recipe_a1", "eq4+adv", "eq4+rec", "eq4+ent", "eq4+mi", "eq4+bc")


def settings_of(rung: str, seed: int, tiny: bool = False, epochs: Optional[int] = None) -> config_lib.Settings:
    """The run settings of one rung and seed: the proxy (or TINY), DRRDN as printed, the rung's overrides (so
    a rung means the same run whatever the package's defaults are)."""
    values = {**PROXY, **(TINY if tiny else {}), "method": "drrdn", "seed": seed, **config_lib.DRRDN_AS_PRINTED,
              **RUNGS[rung].overrides}
    if epochs is not None:
        values["epochs"] = epochs
    return config_lib.settings_for(values.pop("dataset"), **values)


def run_dir(output_dir: str, rung: str, seed: int) -> str:
    return os.path.join(output_dir, "runs", f"{rung}_s{seed}")


# --------------------------------------------------------------------------- evaluation
