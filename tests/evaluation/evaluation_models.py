"""The small models the evaluation tests attack: Standard SmallCNNs trained for one epoch on the demo images,
each trained and exported once per test session (the tests only read them)."""

import functools

import keras
import pytest

import drrdn_tf
from drrdn_tf import data
from drrdn_tf.nn import backbones

#: name -> (training images, seed): the model under test and the surrogate of the transfer columns
MODELS = {"model": (2000, 0), "surrogate": (1000, 1)}

_exported = {}


@functools.lru_cache(maxsize=None)
def trained(n: int, seed: int):
    """A Standard SmallCNN, one epoch on the first n demo training images (Adam, batches of 32)."""
    raw = data.load_raw("demo")
    x, y = data.to_float(raw.train.images)[:n], raw.train.labels[:n]
    keras.utils.set_random_seed(seed)
    m = drrdn_tf.Standard(backbones.small_cnn(), 10, head=backbones.head_for("small_cnn"))
    m.compile(keras.optimizers.Adam(1e-3))
    m.fit(data.make_dataset(x, y, 32, shuffle=True, seed=seed), epochs=1, verbose=0)
    return m


def exported(name: str, tmp_path_factory):
    """(SavedModel path, Keras model) of MODELS[name], exported under the session's temporary folder."""
    if name not in _exported:
        m = trained(*MODELS[name])
        _exported[name] = m.export(str(tmp_path_factory.mktemp(name) / "savedmodel")), m
    return _exported[name]


def keras_fn(m):
    """The Keras model as a model_fn: images -> logits, inference mode."""
    return lambda x: m(x, training=False)


# Fixtures shared by the evaluation tests (a test module imports the ones it uses).

@pytest.fixture(scope="module")
def model():
    """The model under test: MODELS["model"], trained."""
    return trained(*MODELS["model"])


@pytest.fixture(scope="module")
def surrogate():
    """The transfer columns' surrogate: MODELS["surrogate"], trained."""
    return trained(*MODELS["surrogate"])


@pytest.fixture(scope="module")
def test_slice(demo):
    """(images float32 [64, 28, 28, 1] in [0, 1], labels int [64]): the first demo test images."""
    return demo[2][:64], demo[3][:64]
