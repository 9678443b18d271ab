"""DRRDN (Yang et al., AAAI 2021), one folder: the model and Algorithm 1 (`model.py`), the single-pass
formulation (`single_pass.py`), the encoder-gradient probe (`diagnostics.py`), schedules (`schedules.py`)."""

from drrdn_tf.methods.drrdn.diagnostics import PROBED_TERMS
from drrdn_tf.methods.drrdn.model import DISENTANGLER_SHUFFLE, DRRDN, T_SHUFFLE
from drrdn_tf.methods.drrdn.schedules import AlignmentRamp, ScaledSchedule, dann_ramp, optimizer_copy, scale_gradient

__all__ = ["DRRDN", "AlignmentRamp", "ScaledSchedule", "dann_ramp", "scale_gradient", "optimizer_copy",
           "PROBED_TERMS", "T_SHUFFLE", "DISENTANGLER_SHUFFLE"]
