"""What the paper's analysis section looks at: a trained model's representations of natural test images and of
their white-box PGD examples, and the trained models the analyses load from run folders.

Shared by the t-SNE figure (figure2.py, the paper's Figure 2) and the hybrid-representation table (table3.py,
its Table 3).
"""

from __future__ import annotations

import os
from typing import Dict, Tuple

import numpy as np


def has_model(path: str) -> bool:
    """Whether `load_model(path)` can give a model: a `.keras` file, or a run folder with `model.keras` or a
    finished checkpoint."""
    if not os.path.isdir(path):
        return path.endswith(".keras") and os.path.exists(path)
    from drrdn_tf.training.run import finished_checkpoint
    return os.path.exists(os.path.join(path, "model.keras")) or finished_checkpoint(path)


def load_model(path: str):
    """A trained drrdn_tf model from a run folder or a `.keras` file. A run folder gives its `model.keras`, or,
    where that is absent (it is not committed), the model rebuilt from its config.json and finished checkpoint
    (`training.run.load_trained_model`). Raises ValueError (what is missing, how to get it) when there is
    neither: the exported SavedModel holds only the inference path, not the representations the analyses need."""
    import keras

    import drrdn_tf  # noqa: F401  (registers the model classes for loading)
    from drrdn_tf.training.run import finished_checkpoint, load_trained_model
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "model.keras")):
        if finished_checkpoint(path):
            return load_trained_model(path)
        raise ValueError(f"{path}: no model.keras and no finished checkpoint there; give a run folder written by "
                         "python -m drrdn_tf.train (rerun its training command to finish it) or a .keras file")
    file = os.path.join(path, "model.keras") if os.path.isdir(path) else path
    if not os.path.exists(file) or not file.endswith(".keras"):
        raise ValueError(f"{path}: not a .keras file or a run folder written by python -m drrdn_tf.train")
    return keras.models.load_model(file)


def require_drrdn(model, source: str = "the model"):
    """`model` itself when it is a DRRDN model (it has z_s, z_i and the reconstructor r); ValueError naming
    `source` otherwise, since only DRRDN has the representations Figure 2 and Table 3 look at."""
    if not (hasattr(model, "d_i") and hasattr(model, "reconstructor")):
        raise ValueError(f"{source} holds a {type(model).__name__} model, not DRRDN: it has no z_s / z_i; "
                         "give a run folder trained with --method=drrdn")
    return model


def adversarial_examples(model, images: np.ndarray, labels: np.ndarray, eps: float, step_size: float, steps: int,
                         seed: int = 0, batch_size: int = 250, progress: bool = True) -> np.ndarray:
    """White-box L_inf PGD (one random start, cross-entropy, the best iterate kept) on `model`'s inference path:
    images float32 [N, H, W, C] in [0, 1], labels int [N] -> adversarial images of the same shape and range.
    Batch b uses seed + b, so the examples are the same for the same seed."""
    import keras

    from drrdn_tf import attacks
    attack = attacks.PGD(model.inference_fn(), eps=eps, step_size=step_size, steps=steps, seed=seed)
    out = np.empty_like(np.asarray(images, np.float32))
    bar = keras.utils.Progbar(len(labels), verbose=1 if progress else 0, unit_name="image")
    for b, start in enumerate(range(0, len(labels), batch_size)):
        stop = min(start + batch_size, len(labels))
        out[start:stop] = attack.perturb(images[start:stop], labels[start:stop], seed=seed + b).numpy()
        bar.add(stop - start)
    return out


def _batched(fn, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    return np.concatenate([np.asarray(fn(images[i:i + batch_size])) for i in range(0, len(images), batch_size)])


def drrdn_representations(model, images: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(z_s, z_i) of a DRRDN model in inference mode: images [N, H, W, C] -> two float32 [N, D_s] arrays."""
    require_drrdn(model)
    z_s, z_i = [], []
    for i in range(0, len(images), 500):
        _, s, r = model.representations(images[i:i + 500], training=False)
        z_s.append(np.asarray(s))
        z_i.append(np.asarray(r))
    return np.concatenate(z_s), np.concatenate(z_i)


def features(model, images: np.ndarray) -> np.ndarray:
    """z = g(x) of any drrdn_tf model (the Standard model's representation): [N, H, W, C] -> float32 [N, D]."""
    return _batched(lambda x: model.features(x, training=False), images)


def natural_and_adversarial(drrdn, standard, images: np.ndarray, labels: np.ndarray, eps: float,
                            step_size: float, steps: int, seed: int = 0,
                            progress: bool = True) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """{"z_s": (natural, adversarial), "z_i": (...), "standard": (...)}, each [N, D]: DRRDN's class-specific and
    class-irrelevant representations and a Standard model's encoder output, of the test images and of each
    model's own white-box PGD examples of them (DRRDN's x' attack its inference path, the Standard model's its
    own: the paper's white-box setting)."""
    x_adv = adversarial_examples(drrdn, images, labels, eps, step_size, steps, seed, progress=progress)
    zs, zi = drrdn_representations(drrdn, images)
    zs_adv, zi_adv = drrdn_representations(drrdn, x_adv)
    x_adv_std = adversarial_examples(standard, images, labels, eps, step_size, steps, seed, progress=progress)
    return {"z_s": (zs, zs_adv), "z_i": (zi, zi_adv),
            "standard": (features(standard, images), features(standard, x_adv_std))}


def define_model_flags() -> None:
    """The flags the analyses' commands share: --drrdn and --standard (run folders or .keras files), --dataset,
    --data_dir (call from a command's define_flags)."""
    from absl import flags
    flags.DEFINE_string("drrdn", None, "DRRDN run folder (model.keras or a finished checkpoint) or .keras file")
    flags.DEFINE_string("standard", None,
                        "Standard model's run folder (model.keras or a finished checkpoint) or .keras file")
    flags.DEFINE_string("dataset", "mnist", "data set of both models (its test split is used)")
    flags.DEFINE_string("data_dir", None, "folder holding <dataset>.npz (default: $DRRDN_DATA_DIR)")
