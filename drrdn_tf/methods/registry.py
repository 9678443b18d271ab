"""Method name -> model class, and how a training run builds and compiles each (the names are config.METHODS)."""

from __future__ import annotations

import keras

from drrdn_tf import config
from drrdn_tf.nn import backbones
from drrdn_tf.methods.baselines import TRADES, Madry, Standard
from drrdn_tf.methods.drrdn import DRRDN

#: Method name (config.METHODS) -> model class.
CLASSES = {"drrdn": DRRDN, "standard": Standard, "madry": Madry, "trades": TRADES}
assert tuple(CLASSES) == config.METHODS, "config.METHODS and registry.CLASSES must name the same methods"


def method_kwargs(s) -> dict:
    """The method-specific arguments of `s.method`'s model class, from the settings."""
    if s.method == "drrdn":
        return dict(lambda_mi=s.lambda_mi, lambda_rec=s.lambda_rec, alignment_ramp_start=s.eps_warmup_epochs,
                    **drrdn_kwargs(s))
    neck = dict(linear_neck=True) if getattr(s, "linear_neck", False) else {}
    if s.method == "trades":
        return dict(beta=s.trades_beta, **neck)
    return neck


def build(s, encoder, num_classes: int):
    """The model of method `s.method` on `encoder`, with the settings' attack and the backbone's head."""
    if s.method not in CLASSES:
        raise ValueError(f"unknown method {s.method!r}: choose one of {', '.join(CLASSES)}")
    return CLASSES[s.method](encoder=encoder, num_classes=num_classes, eps=s.eps, step_size=s.step_size,
                             pgd_steps=s.pgd_steps, head=backbones.head_for(s.backbone), name=s.method,
                             **method_kwargs(s))


def drrdn_kwargs(s) -> dict:
    """DRRDN's stability knobs from the settings (the alignment ramp starts where the eps warm-up ends)."""
    return {name: getattr(s, name) for name in config.DRRDN_KNOBS}


def compile_kwargs(s, model) -> dict:
    """Extra `compile` arguments of a method (DRRDN: MINE's own optimizer)."""
    if isinstance(model, DRRDN):
        return {"mine_optimizer": keras.optimizers.Adam(s.mine_learning_rate)}
    return {}
