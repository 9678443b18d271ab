"""Loading the model under test: an exported SavedModel as a function images -> logits, its input spec, its name;
checked against a data set (`load_checked`), surrogates named for their transfer columns (`load_surrogates`),
and what a results dict records about them (`provenance`). Shared by `python -m drrdn_tf.evaluate` and
`python -m drrdn_tf.experiments.reproduce`.

The SavedModel contract is `drrdn_tf.export`'s: a `serving_default` signature taking `images` float32
[B, H, W, C] in [0, 1] and returning `logits` float32 [B, num_classes].
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from drrdn_tf import datasets
from drrdn_tf.files import recorded_path


def savedmodel_fn(path: str):
    """(model_fn, input_shape) for an exported SavedModel folder.

    model_fn maps images float32 [B, H, W, C] in [0, 1] to logits [B, num_classes]; input_shape is the
    signature's (H, W, C) with None for any size, or None if the signature fixes no rank.

    Raises ValueError (from `export.load_savedmodel`) if the folder lacks the `serving_default` contract, and
    if the signature takes anything but float32 images of rank 4.
    """
    from drrdn_tf.export import load_savedmodel

    fn = load_savedmodel(path)
    spec = fn.structured_input_signature[1]["images"]
    shape = tuple(spec.shape.as_list()[1:]) if spec.shape.rank is not None else None
    if shape is not None and len(shape) != 3:
        raise ValueError(f"{path}: serving_default takes images of shape {spec.shape}, not [batch, H, W, C]")
    if spec.dtype != tf.float32:
        raise ValueError(f"{path}: serving_default takes {spec.dtype.name} images, not float32")

    def model_fn(x):
        return fn(images=x)["logits"]

    model_fn.signature = fn  # keeps the loaded object (and its variables) alive as long as model_fn
    return model_fn, shape


def check_input_shape(shape: Optional[tuple], image_shape: tuple, what: str = "the model",
                      images: str = "the data set's images") -> None:
    """Raises ValueError unless images of `image_shape` (H, W, C) fit an input spec `shape` (None = any; a
    None entry = any size on that axis). `what` and `images` name the two sides in the message."""
    if shape is None:
        return
    for got, want in zip(image_shape, shape):
        if want is not None and got != want:
            raise ValueError(f"{what} expects images of shape [batch, {', '.join(str(s) for s in shape)}] but "
                             f"{images} are [batch, {', '.join(str(s) for s in image_shape)}]")


def model_name(path: str) -> str:
    """A short name for a model path: its folder name (the run folder for `<run>/savedmodel`)."""
    path = os.path.abspath(path).rstrip(os.sep)
    base = os.path.basename(path)
    return os.path.basename(os.path.dirname(path)) if base == "savedmodel" else base


def first_line(e: Exception) -> str:
    """"<ExceptionType>: <first line of its message>": TensorFlow's errors in one line."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def load_checked(path: str, dataset: str, what: str = "model") -> Tuple[Callable, str]:
    """(model_fn, name) for a SavedModel that takes `dataset`'s images and returns finite logits over its
    classes (checked on one zero image); name is `model_name(path)`.

    Raises ValueError, one line naming `what` and `path`, if the folder does not exist, is not a SavedModel
    with the `serving_default` contract, or does not fit the data set."""
    if not os.path.exists(path):
        raise ValueError(f"{what} path {path} does not exist")
    try:
        model_fn, shape = savedmodel_fn(path)
    except ValueError:
        raise
    except Exception as e:  # a corrupt or foreign folder: TensorFlow's own errors
        raise ValueError(f"cannot load {what} {path} as a SavedModel: {first_line(e)}") from None
    data = datasets.get(dataset)
    check_input_shape(shape, data.image_shape, what=f"{what} {path}", images=f"{dataset} images")
    try:
        logits = model_fn(tf.zeros((1,) + data.image_shape, tf.float32))
    except Exception as e:
        raise ValueError(f"{what} {path} cannot run on {dataset} images of shape {data.image_shape}: "
                         f"{first_line(e)}") from None
    if logits.shape.rank != 2 or logits.shape[-1] != data.num_classes:
        raise ValueError(f"{what} {path} returns logits of shape {logits.shape.as_list()}, but {dataset} has "
                         f"{data.num_classes} classes (expected [batch, {data.num_classes}])")
    if not np.all(np.isfinite(logits.numpy())):
        raise ValueError(f"{what} {path} returns non-finite logits")
    return model_fn, model_name(path)


def load_surrogates(paths: Sequence[str], dataset: str) -> Dict[str, Tuple[Callable, str]]:
    """{column name: (model_fn, recorded path)} of surrogate SavedModels, each checked by `load_checked`. A
    surrogate's column is "transfer_<name>" with name its `model_name` (the run folder's name), made unique by
    _2, _3, ... Raises ValueError as `load_checked`."""
    surrogates: Dict[str, Tuple[Callable, str]] = {}
    for path in paths:
        fn, name = load_checked(path, dataset, "surrogate")
        key, i = name, 2
        while key in surrogates:
            key, i = f"{name}_{i}", i + 1
        surrogates[key] = (fn, recorded_path(path))
    return surrogates


def provenance(model_path: str, surrogates: Dict[str, Tuple[Callable, str]], data_source: str) -> dict:
    """What a results dict records about its inputs: the model's path (relative to the working directory) and
    name, each surrogate column's path, the data's source and the library versions."""
    import keras
    return {"model": recorded_path(model_path), "model_name": model_name(model_path),
            "surrogates": {k: p for k, (_, p) in surrogates.items()}, "data_source": data_source,
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                         "python": sys.version.split()[0]}}
