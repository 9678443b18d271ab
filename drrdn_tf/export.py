"""Export of the inference path as a TensorFlow SavedModel, and loading it back.

The contract (what `drrdn_tf.evaluate` and anyone else may rely on):
  signature `serving_default`, input `images`: float32 [batch, H, W, C] in [0, 1];
  outputs `logits` [batch, K] and `probabilities` [batch, K] (softmax of the logits).
It loads with plain `tf.saved_model.load` (no drrdn_tf import needed) and is differentiable w.r.t. `images`.
The folder is written next to its final path and renamed into place, so it is never left half-written.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from drrdn_tf.files import write_atomically

SIGNATURE = "serving_default"


def export_savedmodel(model: keras.Model, path: str) -> str:
    """Writes `model`'s inference path (model(images, training=False)) to the folder `path`; returns it.

    An existing folder at `path` is replaced only once the new one is complete.
    """
    shape = model.encoder_input_shape() if hasattr(model, "encoder_input_shape") else tuple(model.input_shape[1:])
    if shape is None:
        raise ValueError("export needs a built model with a known input shape: call the model on a batch first")
    path = os.path.abspath(path)

    archive = keras.export.ExportArchive()
    # Only the inference path's variables are written (DRRDN's d_i, c_i, T and r stay out of the SavedModel).
    layers = model.inference_layers() if hasattr(model, "inference_layers") else [model]
    for layer in layers:
        archive.track(layer)

    def serve(images):
        logits = model(images, training=False)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    archive.add_endpoint(SIGNATURE, serve, input_signature=[
        tf.TensorSpec((None,) + tuple(shape), tf.float32, name="images")])
    write_atomically(path, lambda tmp: archive.write_out(tmp, verbose=False), directory=True)
    return path


def load_savedmodel(path: str):
    """Loads an exported model and returns its `serving_default` function: images -> {"logits", ...}.

    Raises ValueError if `path` is not a SavedModel with that signature.
    """
    if not os.path.isdir(path) or not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise ValueError(f"{path} is not a SavedModel folder (no saved_model.pb): pass the `savedmodel/` folder "
                         "of a run, or any SavedModel with a serving_default signature")
    loaded = tf.saved_model.load(path)
    if SIGNATURE not in loaded.signatures:
        raise ValueError(f"{path} has no {SIGNATURE!r} signature (it has {list(loaded.signatures)})")
    fn = loaded.signatures[SIGNATURE]
    inputs = fn.structured_input_signature[1]
    if "images" not in inputs or "logits" not in fn.structured_outputs:
        raise ValueError(f"{path}: {SIGNATURE} must take `images` and return `logits`; it takes "
                         f"{sorted(inputs)} and returns {sorted(fn.structured_outputs)}")
    fn._drrdn_keepalive = loaded  # the function needs the loaded object's variables alive
    return fn
