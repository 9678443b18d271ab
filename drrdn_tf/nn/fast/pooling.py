"""A drop-in `MaxPooling2D` whose gradient does not depend on a graph rewrite that TensorFlow makes at random
(on CPU, TF 2.21 rewrites each `MaxPoolGrad` to oneDNN's kernel or not, per process; docs/design_notes.md).

The 2x2, stride-2 case (the SmallCNN's pools) has its own gradient: the incoming gradient goes to the
first maximum of each window in row-major order, as TensorFlow's kernels do, in one XLA-compiled
elementwise pass, with the same cost in every process. The forward pass is TensorFlow's. Other pool
shapes, other layouts and accelerators use keras' own implementation. Weights (none), config and
serialisation are keras.layers.MaxPooling2D's.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from drrdn_tf.nn.fast.devices import on_cpu_only


def _window_mask(pattern):
    """A [2, 2] boolean pattern over the window positions, shaped to broadcast against [B, H/2, 2, W/2, 2, C]."""
    return tf.constant(pattern)[None, None, :, None, :, None]


@tf.function(jit_compile=True, reduce_retracing=True)
def _max_pool_2x2_grad(x, y, dy):
    """Gradient of a 2x2 / stride-2 max-pool: x [B, H, W, C] (H, W even), y = pool(x) and dy [B, H/2, W/2, C]
    -> dx [B, H, W, C], dy routed to the first maximum of each window in the order (0,0), (0,1), (1,0), (1,1).

    Written with broadcasts only (no slicing back together): XLA makes it one elementwise pass over dx, which
    measured faster than assembling the four window positions with tf.stack."""
    shape = tf.shape(x)
    windows = tf.reshape(x, [shape[0], shape[1] // 2, 2, shape[2] // 2, 2, shape[3]])  # [B, H/2, r, W/2, c, C]
    is_max = tf.equal(windows, y[:, :, None, :, None, :])
    m00, m01, m10 = is_max[:, :, :1, :, :1, :], is_max[:, :, :1, :, 1:, :], is_max[:, :, 1:, :, :1, :]
    # A maximum at an earlier window position (row-major) takes the gradient instead.
    earlier = ((_window_mask([[False, True], [False, False]]) & m00)
               | (_window_mask([[False, False], [True, False]]) & (m00 | m01))
               | (_window_mask([[False, False], [False, True]]) & (m00 | m01 | m10)))
    dx = tf.where(is_max & ~earlier, dy[:, :, None, :, None, :], tf.zeros([], dy.dtype))
    return tf.reshape(dx, shape)


@tf.custom_gradient
def max_pool_2x2(x):
    """2x2, stride-2, VALID max-pool of x [B, H, W, C] (H, W even) -> [B, H/2, W/2, C], gradient as above."""
    y = tf.nn.max_pool2d(x, 2, 2, "VALID")

    def grad(dy):
        return _max_pool_2x2_grad(x, y, dy)
    return y, grad


@keras.saving.register_keras_serializable(package="drrdn_tf")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """keras.layers.MaxPooling2D, same arguments, with a deterministic, fast gradient on CPU (module doc)."""

    def _fast(self, inputs) -> bool:
        h, w = inputs.shape[1], inputs.shape[2]
        return (self.data_format == "channels_last" and tuple(self.pool_size) == (2, 2)
                and tuple(self.strides) == (2, 2) and h is not None and w is not None
                and h % 2 == 0 and w % 2 == 0 and on_cpu_only())

    def call(self, inputs):
        if not self._fast(inputs):
            return super().call(inputs)
        return max_pool_2x2(inputs)
