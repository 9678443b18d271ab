"""drrdn_tf: adversarially robust classifiers with DRRDN (Yang et al., AAAI 2021) in TensorFlow 2 / Keras 3.

Public API: `DRRDN` and the baselines (`Standard`, `Madry`, `TRADES`, on `AdversarialModel`), the encoders
(`backbones`, `small_cnn`, `wide_resnet`), `attacks`, `config` (settings, `DRRDN_AS_PRINTED`), `datasets` (the
registry), `data` (`load_raw`, `make_dataset`), `losses` (the paper's equations), `export_savedmodel` /
`load_savedmodel`. Importing the package registers its Keras classes, so `keras.saving.load_model` reads the
`.keras` files it writes.
"""

import os as _os
import sys as _sys


def _launched_as_command() -> bool:
    """Whether this import is the start of one of the package's command lines: `python -m drrdn_tf.<name>`
    (while Python locates the module, sys.argv[0] is "-m") or a `drrdn-*` console script."""
    first = _sys.argv[0] if _sys.argv else ""
    return first == "-m" or _os.path.basename(first).startswith("drrdn-")


if _launched_as_command():  # a command line starts TensorFlow quietly; a library import changes nothing
    from drrdn_tf.cli.common import quiet_tensorflow as _quiet_tensorflow
    _quiet_tensorflow()

from drrdn_tf import attacks, config, data, datasets  # noqa: E402
from drrdn_tf.export import export_savedmodel, load_savedmodel  # noqa: E402
from drrdn_tf.methods import DRRDN, TRADES, AdversarialModel, Madry, Standard, losses  # noqa: E402
from drrdn_tf.nn import backbones  # noqa: E402
from drrdn_tf.nn.backbones import small_cnn, wide_resnet  # noqa: E402
from drrdn_tf.data import load_raw, make_dataset  # noqa: E402

__version__ = "0.1.0"

__all__ = ["DRRDN", "Standard", "Madry", "TRADES", "AdversarialModel", "attacks", "backbones", "config", "data",
           "datasets", "losses", "small_cnn", "wide_resnet", "load_raw", "make_dataset", "export_savedmodel",
           "load_savedmodel"]
