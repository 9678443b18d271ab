"""A drop-in `Conv2D` that computes the same function as `keras.layers.Conv2D` faster on CPUs.

Two changes (why, with the measurements: docs/design_notes.md, "Performance"; BENCHMARKS.md):
  * the bias is added as `outputs + bias` (a [C_out] vector broadcast over the last axis), which keeps
    TensorFlow's graph rewrites from fusing the bias gradient into oneDNN's filter-gradient kernel.
  * for convolutions with few input channels (an image's first layer: 1 for MNIST, 3 for CIFAR-10), stride 1,
    no dilation, on CPU: the gradient with respect to the *input* — what every PGD step needs — is computed
    as one matmul and a col2im (summing the k*k shifted products), compiled with XLA. The forward pass and
    the kernel gradient are TensorFlow's own.

Weights, config and serialisation are those of keras.layers.Conv2D (the class is registered, so `.keras`
files name `drrdn_tf>Conv2D`); models saved with the stock layer load unchanged.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from drrdn_tf.nn.fast.devices import on_cpu_only

#: input channels up to which the input gradient goes through matmul + col2im
FEW_CHANNELS = 4


@tf.function(jit_compile=True, reduce_retracing=True)
def _col2im(patches, kh: int, kw: int):
    """Sum of shifted patch gradients: patches [B, Ho, Wo, kh*kw, C] -> image gradient [B, Ho+kh-1, Wo+kw-1, C].

    out[b, i + u, j + v, c] += patches[b, i, j, u*kw + v, c]: the adjoint of extracting the kh x kw patches of
    a VALID, stride-1 convolution. XLA fuses the kh*kw pads and adds into one pass over the output.
    """
    out = 0.0
    for u in range(kh):
        for v in range(kw):
            out += tf.pad(patches[:, :, :, u * kw + v, :], [[0, 0], [u, kh - 1 - u], [v, kw - 1 - v], [0, 0]])
    return out


@tf.custom_gradient
def conv2d_valid(x, kernel):
    """VALID, stride-1 convolution y = conv(x, kernel), x [B, H, W, C_in], kernel [kh, kw, C_in, C_out]
    -> [B, H-kh+1, W-kw+1, C_out], whose input gradient is a matmul + col2im (module doc)."""
    y = tf.nn.conv2d(x, kernel, 1, "VALID")

    def grad(dy):
        kh, kw, cin, cout = kernel.shape
        # d loss / d patch[b, i, j, (u, v, c)] = sum_o dy[b, i, j, o] * kernel[u, v, c, o]
        patches = tf.matmul(tf.reshape(dy, [-1, cout]), tf.reshape(kernel, [kh * kw * cin, cout]), transpose_b=True)
        shape = tf.shape(dy)
        patches = tf.reshape(patches, [shape[0], shape[1], shape[2], kh * kw, cin])
        dx = _col2im(patches, kh, kw)
        dkernel = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel), out_backprop=dy,
                                                  strides=[1, 1, 1, 1], padding="VALID")
        return dx, dkernel
    return y, grad


@keras.saving.register_keras_serializable(package="drrdn_tf")
class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D, same arguments and weights, faster on CPU (module doc)."""

    def uses_fast_input_gradient(self, inputs) -> bool:
        """Whether the input gradient of this layer on `inputs` [B, H, W, C] takes the matmul + col2im path."""
        return (self.data_format == "channels_last" and int(inputs.shape[-1]) <= FEW_CHANNELS
                and tuple(self.strides) == (1, 1) and tuple(self.dilation_rate) == (1, 1) and self.groups == 1
                and self.padding in ("valid", "same") and on_cpu_only())

    def convolution_op(self, inputs, kernel):
        if not self.uses_fast_input_gradient(inputs):
            return super().convolution_op(inputs, kernel)
        if self.padding == "same":  # TensorFlow's SAME: the extra row/column of an even kernel goes after
            kh, kw = self.kernel_size
            inputs = tf.pad(inputs, [[0, 0], [(kh - 1) // 2, kh // 2], [(kw - 1) // 2, kw // 2], [0, 0]])
        return conv2d_valid(inputs, tf.cast(kernel, inputs.dtype))

    def call(self, inputs):
        if self.data_format != "channels_last":
            return super().call(inputs)
        outputs = self.convolution_op(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs
