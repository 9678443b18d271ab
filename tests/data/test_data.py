"""Data sources and checks: real MNIST from an npz, the embedded demo set, clear errors on bad data."""

import os

import numpy as np
import pytest

from drrdn_tf import data


def test_npz_source_is_the_real_mnist(mnist_path):
    raw = data.load_raw("mnist", os.path.dirname(mnist_path), download=False)
    assert raw.train.images.shape == (60000, 28, 28, 1) and raw.test.images.shape == (10000, 28, 28, 1)
    assert raw.train.images.dtype == np.uint8 and raw.train.labels.dtype == np.int32
    # Facts from ../shared/data/SOURCES.md: first labels and test label counts of the official set.
    if raw.source.endswith("mnist.npz"):
        assert raw.train.labels[0] == 5 and raw.test.labels[0] == 7
        assert np.bincount(raw.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_demo_set_is_a_slice_of_real_mnist(mnist_path):
    demo = data.load_raw("demo")
    full = np.load(mnist_path)
    assert os.path.getsize(data.demo_path()) < 2 * 1024 * 1024
    np.testing.assert_array_equal(demo.train.images[..., 0], full["x_train"][:len(demo.train.labels)])
    np.testing.assert_array_equal(demo.test.labels, full["y_test"][:len(demo.test.labels)])


def test_pipeline_rescales_to_unit_interval(demo):
    ds = data.make_dataset(data.load_raw("demo").train.images[:10], demo[1][:10], 4)
    x, y = next(iter(ds))
    assert x.dtype.name == "float32" and float(x.numpy().max()) <= 1.0 and x.shape == (4, 28, 28, 1)


def _epochs(ds, count):
    """`count` passes over ds, each a fresh iteration (as Keras' fit makes one per epoch)."""
    return [[(x.numpy(), y.numpy()) for x, y in ds] for _ in range(count)]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_shuffled_epochs_are_permutations_that_change(dtype):
    n, batch = 50, 8
    images = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1), np.float32)
    images = images.astype(np.uint8) if dtype == np.uint8 else images / 255.0
    labels = np.arange(n) % 10
    ds = data.make_dataset(images, labels, batch, shuffle=True, seed=3, drop_remainder=True)
    epochs = _epochs(ds, 2)
    orders = []
    for epoch in epochs:
        assert [x.shape for x, _ in epoch] == [(batch, 2, 2, 1)] * (n // batch)
        order = np.concatenate([np.rint(x[:, 0, 0, 0] * 255).astype(int) for x, _ in epoch])
        np.testing.assert_array_equal(np.concatenate([y for _, y in epoch]), order % 10)  # labels stay paired
        assert len(set(order)) == len(order) == n // batch * batch                         # no repeats
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])          # reshuffled every epoch
    again = _epochs(data.make_dataset(images, labels, batch, shuffle=True, seed=3, drop_remainder=True), 1)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in again[0]]), np.concatenate([x for x, _ in epochs[0]]))
    ordered = _epochs(data.make_dataset(images, labels, batch), 1)[0]
    assert [len(y) for _, y in ordered] == [8] * 6 + [2]   # the last, partial batch is kept without drop_remainder
    np.testing.assert_array_equal(np.concatenate([y for _, y in ordered]), labels)


@pytest.mark.parametrize("images,message", [
    (np.zeros((2, 28, 28), np.float32), "rank 4"),
    (np.zeros((2, 28, 28, 3), np.float32), "channels=3"),
    (np.zeros((2, 28, 28, 1), np.uint8), "uint8"),
    (np.full((2, 28, 28, 1), 255.0, np.float32), "divide by 255"),
    (np.full((2, 28, 28, 1), -0.5, np.float32), r"\[0, 1\]"),
    (np.full((2, 28, 28, 1), np.nan, np.float32), "NaN"),
])
def test_bad_images_are_named(images, message):
    with pytest.raises(ValueError, match=message):
        data.check_images(images, (28, 28, 1))


@pytest.mark.parametrize("labels,message", [
    (np.array([0, 10]), r"\[0, 10\)"), (np.array([-1, 2]), r"\[0, 10\)"),
    (np.eye(10, dtype=np.int32)[:2], "one-hot"), (np.array([0.0, 1.0]), "integers"),
])
def test_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        data.check_labels(labels, 10)


def test_missing_corrupt_and_unknown_sources(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load_raw("fashion_mnist", str(tmp_path), download=False)
    (tmp_path / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(data.DataError, match="not an .npz"):
        data.load_raw("mnist", str(tmp_path), download=False)
    np.savez(tmp_path / "cifar10.npz", x_train=np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(data.DataError, match="lacks"):
        data.load_raw("cifar10", str(tmp_path), download=False)
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.load_raw("imagenet")


def test_cifar10_npz_layout(tmp_path):
    """CIFAR-10 cannot be fetched offline: its code path runs on a small file of the same layout."""
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), "y_train": rng.integers(0, 10, (20, 1)),
              "x_test": rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8), "y_test": rng.integers(0, 10, (8, 1))}
    np.savez(tmp_path / "cifar10.npz", **arrays)
    raw = data.load_raw("cifar10", str(tmp_path), download=False)
    assert raw.train.images.shape == (20, 32, 32, 3) and raw.train.labels.shape == (20,)
    np.savez(tmp_path / "cifar10.npz", **{**arrays, "x_train": arrays["x_train"][:, :28, :28]})
    with pytest.raises(data.DataError, match=r"\(32, 32, 3\)"):
        data.load_raw("cifar10", str(tmp_path), download=False)
