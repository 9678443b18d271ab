"""drrdn_tf: adversarially robust classifiers with DRRDN (Yang et al., AAAI 2021) in TensorFlow 2 / Keras 3.

Public API: `DRRDN` (and the baselines), `backbones`, `attacks`, `load_raw`/`make_dataset`, `export_savedmodel`.
"""

import os as _os
import sys as _sys

# TensorFlow's C++ start-up notices (oneDNN, CPU features) drown the progress bars and make a one-line CLI
# error several lines long; a user's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly():
    """Imports TensorFlow with file descriptor 2 pointed at /dev/null: its C++ logging writes notices at import
    that no environment variable silences in TF 2.21. Errors still surface (as Python exceptions, after
    stderr is restored). Set DRRDN_SHOW_TF_STARTUP=1 to see the notices."""
    if "tensorflow" in _sys.modules or _os.environ.get("DRRDN_SHOW_TF_STARTUP"):
        return
    try:
        _sys.stderr.flush()
        saved = _os.dup(2)
    except (OSError, ValueError):
        return
    try:
        devnull = _os.open(_os.devnull, _os.O_WRONLY)
        _os.dup2(devnull, 2)
        _os.close(devnull)
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)


_import_tensorflow_quietly()

from drrdn_tf import attacks, backbones, config, data, losses  # noqa: E402
from drrdn_tf.backbones import small_cnn, wide_resnet  # noqa: E402
from drrdn_tf.data import load_raw, make_dataset  # noqa: E402
from drrdn_tf.export import export_savedmodel, load_savedmodel  # noqa: E402
from drrdn_tf.methods import DRRDN, TRADES, AdversarialModel, Madry, Standard  # noqa: E402

__version__ = "0.1.0"

__all__ = ["DRRDN", "Standard", "Madry", "TRADES", "AdversarialModel", "attacks", "backbones", "config", "data",
           "losses", "small_cnn", "wide_resnet", "load_raw", "make_dataset", "export_savedmodel", "load_savedmodel"]
