"""drrdn_tf.conv.Conv2D computes keras.layers.Conv2D's function, gradients included, and serialises."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import layer_outputs_and_grads
from drrdn_tf.nn.fast.conv import Conv2D


@pytest.mark.parametrize("channels,kernel,padding,activation", [
    (1, 3, "valid", "relu"),     # the SmallCNN's first layer: the matmul + col2im input gradient
    (3, 3, "same", None),        # the WRN's first layer
    (1, 4, "same", "relu"),      # an even kernel: TensorFlow's SAME pads the extra row/column after
    (8, 3, "valid", "relu"),     # more channels: TensorFlow's own gradient, only the bias add differs
    (3, 3, "valid", None),
])
def test_same_function_and_gradients_as_keras(channels, kernel, padding, activation):
    ref = keras.layers.Conv2D(16, kernel, padding=padding, activation=activation)
    ref.build((None, 12, 12, channels))
    ref.bias.assign(tf.random.normal([16], seed=1))
    ours = Conv2D.from_config(ref.get_config())
    ours.build((None, 12, 12, channels))
    ours.set_weights(ref.get_weights())
    x = tf.random.uniform((5, 12, 12, channels), seed=2)
    weights = tf.random.normal((5,) + tuple(ref.compute_output_shape((5, 12, 12, channels))[1:]), seed=3)
    for got, want in zip(layer_outputs_and_grads(ours, x, weights)[0], layer_outputs_and_grads(ref, x, weights)[0]):
        assert got.shape == want.shape
        assert np.abs(want).max() > 0
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_keras_round_trip(tmp_path):
    inputs = keras.Input((10, 10, 1))
    model = keras.Model(inputs, keras.layers.Flatten()(Conv2D(4, 3, activation="relu")(inputs)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[1], Conv2D)
    x = np.random.default_rng(0).uniform(size=(2, 10, 10, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
