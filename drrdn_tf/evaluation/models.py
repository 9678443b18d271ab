"""Loading the model under test: an exported SavedModel as a function images -> logits, its input spec, its name.

The SavedModel contract is `drrdn_tf.export`'s: a `serving_default` signature taking `images` float32
[B, H, W, C] in [0, 1] and returning `logits` float32 [B, num_classes].
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf


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
