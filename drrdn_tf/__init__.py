"""drrdn_tf: adversarially robust classifiers with DRRDN (Yang et al., AAAI 2021) in TensorFlow 2 / Keras 3.

Public API: `DRRDN` (and the baselines), `backbones`, `attacks`, `load_raw`/`make_dataset`, `export_savedmodel`.
"""

import os as _os

# TensorFlow's C++ start-up notices (oneDNN, CPU features) drown the progress bars; a user's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from drrdn_tf import attacks, backbones, data, losses  # noqa: E402
from drrdn_tf.backbones import small_cnn, wide_resnet  # noqa: E402
from drrdn_tf.data import load_raw, make_dataset  # noqa: E402
from drrdn_tf.export import export_savedmodel, load_savedmodel  # noqa: E402
from drrdn_tf.methods import DRRDN, TRADES, AdversarialModel, Madry, Standard  # noqa: E402

__version__ = "0.1.0"

__all__ = ["DRRDN", "Standard", "Madry", "TRADES", "AdversarialModel", "attacks", "backbones", "data", "losses", "small_cnn", "wide_resnet",
           "load_raw", "make_dataset", "export_savedmodel", "load_savedmodel"]
