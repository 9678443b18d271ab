"""drrdn_tf.pooling.MaxPooling2D computes keras.layers.MaxPooling2D's function and gradient, ties included,
without TensorFlow's MaxPoolGrad kernel on the 2x2 fast path, and serialises."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import layer_outputs_and_grads
from drrdn_tf.nn.fast.pooling import MaxPooling2D


@pytest.mark.parametrize("shape,pool,strides,padding,ties", [
    ((4, 24, 24, 32), 2, None, "valid", False),   # the SmallCNN's first pool (fast path)
    ((4, 8, 6, 5), 2, None, "same", True),        # small integers: most windows have tied maxima (fast path)
    ((2, 7, 9, 3), 2, None, "valid", True),       # odd sizes: keras' own implementation
    ((2, 9, 9, 3), 3, 2, "valid", False),         # another pool shape: keras' own implementation
])
def test_same_function_and_gradient_as_keras(shape, pool, strides, padding, ties):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape) if ties else rng.uniform(-1, 1, shape)
    x = tf.constant(x.astype(np.float32))
    ref = keras.layers.MaxPooling2D(pool, strides=strides, padding=padding)
    ours = MaxPooling2D.from_config(ref.get_config())
    out_shape = ref.compute_output_shape(shape)
    weights = tf.constant(rng.normal(size=out_shape).astype(np.float32))
    want, _ = layer_outputs_and_grads(ref, x, weights)
    got, run = layer_outputs_and_grads(ours, x, weights)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)   # max-pooling and its gradient are exact: no round-off
    if strides is None:  # disjoint windows: each passes its gradient to exactly one input
        assert np.count_nonzero(got[1]) == np.prod(out_shape)
    fast = shape[1] % 2 == 0 and shape[2] % 2 == 0 and pool == 2 and strides is None
    ops = {op.type for op in run.get_concrete_function(x).graph.get_operations()}
    assert ("MaxPoolGrad" in ops) != fast, ops


def test_keras_round_trip(tmp_path):
    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, keras.layers.Flatten()(MaxPooling2D(2)(inputs)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[1], MaxPooling2D)
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
