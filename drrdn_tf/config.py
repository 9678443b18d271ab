"""Training settings: `Settings` (every field of one run), the method names, DRRDN's choices and the paper's
terms (`DRRDN_AS_PRINTED`).

`settings_for(dataset)` returns a fresh `Settings` from the data set's defaults (`drrdn_tf.datasets`); the
training CLI overrides fields from flags and writes the result to the run folder as `config.json`. Values
marked "ours" are not given in the paper and were chosen for this package. Imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from drrdn_tf import datasets

#: The training methods (`methods.registry` maps each to its model class).
METHODS = ("drrdn", "standard", "madry", "trades")
#: DRRDN's choices (`DRRDN` and `losses.alignment_loss` check against these).
ALIGNMENT_FORMS = ("confusion", "minimax", "one_sided")
ALIGNMENT_RAMPS = ("none", "dann")
FORMULATIONS = ("alternating", "single")


def _setting(default, help: str):
    """A Settings field with its command-line help (the training CLI defines one flag per field from it)."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class Settings:
    """Every setting of one training run (written to `config.json`; `python -m drrdn_tf.train` has a flag of
    the same name for each field, its help being the field's)."""

    dataset: str
    method: str = _setting("drrdn", f"one of {', '.join(METHODS)}")
    backbone: str = _setting("small_cnn", "small_cnn or wide_resnet")
    wrn_depth: int = _setting(28, "WRN depth (6n+4)")
    wrn_width: int = _setting(10, "WRN widening factor")
    # Attack used for training (Eq. 2) and per-epoch validation: L_inf PGD, random start.
    eps: float = _setting(0.3, "L_inf radius of the training/validation/test PGD")
    step_size: float = _setting(0.01, "PGD step size")
    pgd_steps: int = _setting(40, "PGD steps")
    # Linear ramp of the training eps from 0 (ours; 0 = off).
    eps_warmup_epochs: int = _setting(0, "ramp the training eps linearly over this many epochs")
    # Optimisation (paper: SGD, momentum 0.9, 100 epochs, lr x0.1 at epochs 55/75/90).
    epochs: int = _setting(100, "training epochs")
    batch_size: int = _setting(128, "global batch size")
    learning_rate: float = _setting(0.01, "initial SGD learning rate")
    momentum: float = _setting(0.9, "SGD momentum")
    weight_decay: float = _setting(0.0, "SGD weight decay")
    lr_decay_epochs: Tuple[int, ...] = _setting((55, 75, 90),
                                                "epochs after which the learning rate is multiplied by lr_decay")
    lr_decay: float = _setting(0.1, "learning-rate decay factor")
    mine_learning_rate: float = _setting(1e-4, "Adam learning rate of MINE's statistics network")  # ours
    # DRRDN's terms (Eq. 11) and stability knobs, see `DRRDN`'s docstring for which parameters each moves.
    # Defaults: the most robust steady variant of the stability study (results/stability); the paper's
    # values are DRRDN_AS_PRINTED below. 0 switches a term off.
    lambda_mi: float = _setting(0.0, "weight of the MI term (Eq. 11); 0 = off")
    lambda_rec: float = _setting(0.0, "weight of the reconstruction term (Eq. 11); 0 = off")
    lambda_adv: float = _setting(0.0, "weight of L_ADV (Eq. 7, moves g and d_s)")
    lambda_ent: float = _setting(0.0, "weight of L_ENT (Eq. 8, moves g and d_i)")
    bc_encoder_weight: float = _setting(0.0, "scale of L_BC's gradient into the encoder (Eq. 6); 0 = none")
    ce_adv_weight: float = _setting(1.0, "alpha in L_CE = (1-alpha) CE(x) + alpha CE(x') (Eq. 4: 0.5)")
    alignment: str = _setting("confusion", "L_ADV's form: confusion, minimax (as printed) or one_sided")
    alignment_ramp: str = _setting("none", "none, or dann: L_ADV ramped in from the end of the eps warm-up")
    formulation: str = _setting("alternating", "alternating (Algorithm 1's three updates) or single (one pass)")
    disentangler_lr_mult: float = _setting(1.0, "learning-rate multiplier of the disentangler update")
    disentangler_momentum: Optional[float] = _setting(
        None, "momentum of the disentangler update (default: --momentum)")
    discriminator_spectral_norm: bool = _setting(False, "spectral-normalise the domain discriminator c_i")
    discriminator_steps: int = _setting(1, "updates of c_i per training step")
    mine_ema: float = _setting(0.0, "MINE moving-average rate for the bias-corrected gradient (0 = off)")
    probe_every: int = _setting(25, "steps between gradient-norm probes on the encoder (0 = off)")
    # TRADES (Zhang et al. 2019): weight of the KL term.
    trades_beta: float = _setting(6.0, "TRADES' KL weight")
    # The baselines' control for DRRDN's extra layer (ours).
    linear_neck: bool = _setting(False, "standard, madry, trades: a linear layer of the encoder's width between "
                                        "g and the head, as DRRDN's d_s (to tell DRRDN's terms from its layer)")
    # Data.
    train_examples: Optional[int] = _setting(None, "use the first N training images")
    val_examples: int = _setting(1000, "held-out training images for per-epoch validation")
    test_examples: Optional[int] = _setting(None, "final test on the first N test images (default: all)")
    seed: int = _setting(0, "random seed")
    jit_compile: str = _setting("auto", "auto (XLA on GPU/TPU only), true or false")

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["lr_decay_epochs"] = list(self.lr_decay_epochs)
        return d


#: The data sets `settings_for` knows (their defaults live in `drrdn_tf.datasets`).
DATASETS = datasets.NAMES

#: Settings fields that are `DRRDN` arguments of the same name (its stability knobs).
DRRDN_KNOBS = ("lambda_adv", "lambda_ent", "bc_encoder_weight", "ce_adv_weight", "alignment", "alignment_ramp",
               "formulation", "disentangler_lr_mult", "disentangler_momentum", "discriminator_spectral_norm",
               "discriminator_steps", "mine_ema", "probe_every")


#: DRRDN's terms as the paper prints them (Eqs. 4-11 with unit weights, Algorithm 1's alternating updates;
#: Eq. 7 in its confusion form, see losses.alignment_loss), the package's default before the stability study.
DRRDN_AS_PRINTED = dict(lambda_mi=0.1, lambda_rec=0.1, lambda_adv=1.0, lambda_ent=1.0, bc_encoder_weight=1.0,
                        ce_adv_weight=0.5, alignment="confusion", alignment_ramp="none", formulation="alternating",
                        disentangler_lr_mult=1.0, disentangler_momentum=None, discriminator_spectral_norm=False,
                        discriminator_steps=1, mine_ema=0.0)


def default_of(name: str):
    """The dataclass default of Settings field `name` (for run folders written before the field existed)."""
    return {f.name: f.default for f in dataclasses.fields(Settings)}[name]


def settings_from_json(settings: dict) -> Settings:
    """The `Settings` of a run folder's config.json "settings" (fields it does not know are dropped; fields it
    lacks, from before they existed, take their defaults)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    args = {k: v for k, v in settings.items() if k in known}
    args["lr_decay_epochs"] = tuple(args.get("lr_decay_epochs", ()))
    return Settings(**args)


def settings_for(dataset: str, **overrides) -> Settings:
    """The defaults of `dataset` (its registry entry), with `overrides` applied. Raises ValueError for an
    unknown name or field."""
    spec = datasets.get(dataset)
    fields = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}: known are {sorted(fields)}")
    values = dict(spec.training, eps=spec.attack.eps)
    values.update({k: v for k, v in overrides.items() if v is not None})
    s = Settings(dataset=dataset, **values)
    validate(s)
    return s


def validate(s: Settings) -> None:
    """Checks ranges; raises ValueError naming the bad setting."""
    if s.method not in METHODS:
        raise ValueError(f"unknown method {s.method!r}: choose one of {', '.join(METHODS)}")
    if s.backbone not in ("small_cnn", "wide_resnet"):
        raise ValueError(f"unknown backbone {s.backbone!r}: choose small_cnn or wide_resnet")
    checks = [
        ("eps", s.eps >= 0), ("step_size", s.step_size >= 0), ("pgd_steps", s.pgd_steps >= 0),
        ("epochs", s.epochs >= 1), ("batch_size", s.batch_size >= 1), ("learning_rate", s.learning_rate > 0),
        ("lambda_mi", s.lambda_mi >= 0), ("lambda_rec", s.lambda_rec >= 0), ("trades_beta", s.trades_beta >= 0),
        ("val_examples", s.val_examples >= 0), ("eps_warmup_epochs", s.eps_warmup_epochs >= 0),
        ("train_examples", s.train_examples is None or s.train_examples >= 1),
        ("test_examples", s.test_examples is None or s.test_examples >= 1),
        ("jit_compile", s.jit_compile in ("auto", "true", "false")),
        ("lambda_adv", s.lambda_adv >= 0), ("lambda_ent", s.lambda_ent >= 0),
        ("bc_encoder_weight", s.bc_encoder_weight >= 0), ("ce_adv_weight", 0 <= s.ce_adv_weight <= 1),
        ("alignment", s.alignment in ALIGNMENT_FORMS), ("alignment_ramp", s.alignment_ramp in ALIGNMENT_RAMPS),
        ("formulation", s.formulation in FORMULATIONS),
        ("disentangler_lr_mult", s.disentangler_lr_mult > 0),
        ("disentangler_momentum", s.disentangler_momentum is None or 0 <= s.disentangler_momentum < 1),
        ("discriminator_steps", s.discriminator_steps >= 1), ("mine_ema", 0 <= s.mine_ema < 1),
        ("probe_every", s.probe_every >= 0), ("linear_neck", not (s.linear_neck and s.method == "drrdn")),
    ]
    for name, ok in checks:
        if not ok:
            hint = " (a baselines' option: DRRDN has its d_s there already)" if name == "linear_neck" else ""
            raise ValueError(f"bad setting {name}={getattr(s, name)!r}{hint}")
