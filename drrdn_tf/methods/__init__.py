"""Training methods: keras.Model subclasses sharing `AdversarialModel` (attack, validation, export)."""

from drrdn_tf.methods.base import AdversarialModel
from drrdn_tf.methods.baselines import TRADES, Madry, Standard
from drrdn_tf.methods.drrdn import DRRDN

__all__ = ["AdversarialModel", "DRRDN", "Standard", "Madry", "TRADES"]
