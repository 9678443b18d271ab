"""CPU drop-ins for Keras layers whose TensorFlow CPU gradients are slow (Conv2D, MaxPooling2D): same
weights, same results, faster backward passes on CPU; on a GPU/TPU they are the Keras layers. Measured in
BENCHMARKS.md."""

from drrdn_tf.nn.fast.conv import Conv2D
from drrdn_tf.nn.fast.pooling import MaxPooling2D

__all__ = ["Conv2D", "MaxPooling2D"]
