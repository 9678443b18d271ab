"""Encoders g: image [B, H, W, C] in [0, 1] -> feature vector [B, D].

`small_cnn` is the convolutional part of TRADES' SmallCNN (the paper's MNIST extractor); `wide_resnet` is
WRN-depth-width (Zagoruyko & Komodakis 2016; the paper's CIFAR-10 extractor is WRN-28-10). The dense
classifier heads that go with them are described by `head_for` and built in `layers.Classifier`, so every
method (DRRDN's c_s and the baselines' classifier) gets the same head.
"""

from __future__ import annotations

from typing import Optional

import keras
from keras import layers

from drrdn_tf.nn.fast.conv import Conv2D
from drrdn_tf.nn.fast.pooling import MaxPooling2D


def small_cnn(input_shape=(28, 28, 1), name: str = "small_cnn", conv=Conv2D) -> keras.Model:
    """TRADES' SmallCNN feature extractor: 3x3 convs 32, 32, max-pool, 64, 64, max-pool, flatten.

    28x28 inputs give a 4*4*64 = 1024-d feature. `conv`: the convolution layer class (drrdn_tf.conv.Conv2D;
    the benchmark compares keras.layers.Conv2D).
    """
    x = inputs = keras.Input(input_shape, name="images")
    for filters in (32, 32, "pool", 64, 64, "pool"):
        if filters == "pool":
            x = MaxPooling2D(2)(x)
        else:
            x = conv(filters, 3, activation="relu")(x)
    return keras.Model(inputs, layers.Flatten()(x), name=name)


def _wrn_block(x, filters: int, stride: int):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, 1x1 projection when the shape changes."""
    out = layers.ReLU()(layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = Conv2D(filters, 1, strides=stride, use_bias=False)(out)
    y = Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(out)
    y = layers.ReLU()(layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(y))
    y = Conv2D(filters, 3, padding="same", use_bias=False)(y)
    return layers.Add()([shortcut, y])


def wide_resnet(depth: int = 28, width: int = 10, input_shape=(32, 32, 3),
                name: Optional[str] = None) -> keras.Model:
    """WRN-depth-width encoder: conv 16, three groups of (depth-4)/6 blocks at 16w, 32w, 64w channels
    (strides 1, 2, 2), BN-ReLU, global average pool -> [B, 64*width]."""
    if (depth - 4) % 6 != 0 or depth < 10:
        raise ValueError(f"wide_resnet depth must be 6n+4 with n >= 1 (e.g. 28), got {depth}")
    if width < 1:
        raise ValueError(f"wide_resnet width must be >= 1, got {width}")
    n = (depth - 4) // 6
    x = inputs = keras.Input(input_shape, name="images")
    x = Conv2D(16, 3, padding="same", use_bias=False)(x)
    for group, stride in enumerate((1, 2, 2)):
        for i in range(n):
            x = _wrn_block(x, 16 * width * 2 ** group, stride if i == 0 else 1)
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name=name or f"wrn_{depth}_{width}")


def head_for(backbone: str) -> dict:
    """Classifier-head settings that go with a backbone (kwargs of `layers.Classifier`).

    small_cnn: TRADES' dense head 200-ReLU-dropout(0.5)-200-ReLU-K; wide_resnet: one dense layer to K.
    """
    if backbone == "small_cnn":
        return {"hidden_units": (200, 200), "dropout": 0.5}
    if backbone == "wide_resnet":
        return {"hidden_units": (), "dropout": 0.0}
    raise ValueError(f"unknown backbone {backbone!r}: choose small_cnn or wide_resnet")


def build_encoder(backbone: str, input_shape, wrn_depth: int = 28, wrn_width: int = 10) -> keras.Model:
    """The encoder named by `backbone` for images of `input_shape` (H, W, C)."""
    if backbone == "small_cnn":
        return small_cnn(input_shape)
    if backbone == "wide_resnet":
        return wide_resnet(wrn_depth, wrn_width, input_shape)
    raise ValueError(f"unknown backbone {backbone!r}: choose small_cnn or wide_resnet")
