"""CPU drop-ins for Keras layers whose TensorFlow CPU gradients are slow (Conv2D, MaxPooling2D): same
weights, same results, faster backward passes on CPU; on a GPU/TPU they are the Keras layers. Measured in
BENCHMARKS.md."""
