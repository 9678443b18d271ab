"""Data: where the images come from, checks on them, and the tf.data pipelines.

Sources for `mnist`, `fashion_mnist` and `cifar10`, in order:
  1. tensorflow-datasets, if the data set is already prepared in its data dir (no network);
  2. `<data_dir>/<name>.npz` in the Keras `mnist.npz` layout (`x_train, y_train, x_test, y_test`, uint8),
     where data_dir is the argument or else the environment variable `DRRDN_DATA_DIR`;
  3. tensorflow-datasets with download, when `download=True` (needs the internet).
`demo` is the small slice of real MNIST shipped inside the package (see `assets/README.md`).

Images leave this module as float32 [N, H, W, C] in [0, 1], labels as int32 [N] in [0, K).
"""

from __future__ import annotations

import importlib.resources
import os
import zipfile
from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from drrdn_tf import datasets
from drrdn_tf.files import recorded_path

DATA_DIR_ENV = "DRRDN_DATA_DIR"


class DataError(ValueError):
    """Bad or missing data; the message says what is wrong and how to fix it."""


class Split(NamedTuple):
    """One split as uint8 images [N, H, W, C] and int32 labels [N]."""

    images: np.ndarray
    labels: np.ndarray


class RawDataset(NamedTuple):
    train: Split
    test: Split
    source: str  # where the data came from, for the run's config


# --------------------------------------------------------------------------- checks

def check_images(images, expected_shape: Optional[tuple] = None, what: str = "images") -> None:
    """Raises DataError unless `images` is float [N, H, W, C] with values in [0, 1].

    `expected_shape` is (H, W, C) with None for any size; a uint8 array is refused with the fix (x / 255).
    Accepts numpy arrays and eager tensors.
    """
    shape = tuple(images.shape)
    dtype = tf.as_dtype(images.dtype)
    if len(shape) != 4:
        raise DataError(f"{what} must have rank 4 [batch, height, width, channels], got shape {shape}"
                        + (" (add a channel axis: x[..., None])" if len(shape) == 3 else ""))
    if expected_shape is not None:
        for got, want, axis in zip(shape[1:], expected_shape, ("height", "width", "channels")):
            if want is not None and got is not None and got != want:
                raise DataError(f"{what} have {axis}={got} but the model expects {want} "
                                f"(expected [batch, {', '.join(str(s) for s in expected_shape)}], got {shape})")
    if dtype.is_integer:
        raise DataError(f"{what} are {dtype.name}: convert them to float32 in [0, 1] first (x / 255)")
    if not dtype.is_floating:
        raise DataError(f"{what} must be float32 in [0, 1], got dtype {dtype.name}")
    values = np.asarray(images)
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise DataError(f"{what} contain NaN or Inf")
        if lo < 0.0 or hi > 1.0:
            hint = " (uint8 values not rescaled? divide by 255)" if hi > 1.0 else ""
            raise DataError(f"{what} must lie in [0, 1], got values in [{lo:g}, {hi:g}]{hint}")


def check_labels(labels, num_classes: int, what: str = "labels") -> None:
    """Raises DataError unless `labels` are integer class indices [N] (or [N, 1]) in [0, num_classes)."""
    shape = tuple(labels.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise DataError(f"{what} must be integer class indices of shape [batch], got shape {shape} "
                        "(one-hot labels? use argmax)")
    if not tf.as_dtype(labels.dtype).is_integer:
        raise DataError(f"{what} must be integers (class indices), got dtype {tf.as_dtype(labels.dtype).name}")
    values = np.asarray(labels)
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise DataError(f"{what} must lie in [0, {num_classes}), got values in [{values.min()}, {values.max()}]")


# --------------------------------------------------------------------------- sources

def _with_channels(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


def _read_npz(path: str, name: str) -> RawDataset:
    if not zipfile.is_zipfile(path):
        raise DataError(f"cannot read {path}: not an .npz file (corrupt or truncated?); expected numpy.savez "
                        "output with x_train, y_train, x_test, y_test")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise DataError(f"{path} lacks the array(s) {sorted(missing)}: expected the Keras mnist.npz "
                                "layout x_train, y_train, x_test, y_test")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"cannot read {path}: {e.__class__.__name__}: {e} (corrupt or not an .npz file?)") from None
    splits = []
    for part in ("train", "test"):
        x, y = _with_channels(arrays["x_" + part]), arrays["y_" + part].reshape(-1)
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[0] != y.shape[0]:
            raise DataError(f"{path}: x_{part} must be uint8 [N, H, W(, C)] with one label per image, "
                            f"got {x.dtype} {x.shape} and {y.shape[0]} labels")
        if name in datasets.NAMES and x.shape[1:] != datasets.get(name).image_shape:
            raise DataError(f"{path}: {name} images must be {datasets.get(name).image_shape}, got {x.shape[1:]}")
        check_labels(y, datasets.get(name).num_classes if name in datasets.NAMES else int(y.max()) + 1,
                     what=f"{path}: y_{part}")
        splits.append(Split(x, y.astype(np.int32)))
    return RawDataset(splits[0], splits[1], source=recorded_path(path))


def _tfds_load(name: str, download: bool) -> Optional[RawDataset]:
    """The data set from tensorflow-datasets, or None if TFDS cannot provide it (not prepared / offline)."""
    try:
        import tensorflow_datasets as tfds
        from absl import logging as absl_logging
    except ImportError:
        return None
    verbosity = absl_logging.get_verbosity()
    if not download:  # a probe: TFDS' warnings about what it did not find are not the user's business
        absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        parts = tfds.as_numpy(tfds.load(name, split=["train", "test"], batch_size=-1, download=download,
                                        as_supervised=True))
    except Exception:  # not prepared, or the download failed: the caller tries the next source
        return None
    finally:
        absl_logging.set_verbosity(verbosity)
    (xtr, ytr), (xte, yte) = parts
    return RawDataset(Split(xtr.astype(np.uint8), ytr.astype(np.int32)),
                      Split(xte.astype(np.uint8), yte.astype(np.int32)), source=f"tensorflow_datasets:{name}")


def _can_reach_tfds_storage(timeout: float = 3.0) -> bool:
    """Whether the host TFDS downloads from resolves, within `timeout` s. Offline, TFDS would otherwise
    retry for minutes before giving up."""
    import socket
    import threading

    result = []

    def resolve():
        try:
            result.append(socket.getaddrinfo("storage.googleapis.com", 443))
        except OSError:
            pass

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result)


def demo_path() -> str:
    """Path of the embedded demo set (6,000 train / 1,000 test real MNIST images)."""
    return str(importlib.resources.files("drrdn_tf") / "assets" / "mnist_demo.npz")


def load_raw(name: str, data_dir: Optional[str] = None, download: bool = True) -> RawDataset:
    """Loads a whole data set as uint8 arrays from the first source that works (see the module doc).

    Raises DataError (a ValueError) naming the sources tried when none works.
    """
    if name not in datasets.NAMES:
        raise DataError(f"unknown dataset {name!r}: choose one of {', '.join(datasets.NAMES)}")
    if name == "demo":
        return _read_npz(demo_path(), "demo")
    raw = _tfds_load(name, download=False)
    if raw is not None:
        return raw
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    if data_dir:
        path = os.path.join(data_dir, f"{name}.npz")
        if os.path.exists(path):
            return _read_npz(path, name)
    if download and _can_reach_tfds_storage():
        raw = _tfds_load(name, download=True)
        if raw is not None:
            return raw
    where = f"{os.path.join(data_dir, name + '.npz')} does not exist" if data_dir else \
        f"no --data_dir given and ${DATA_DIR_ENV} is not set"
    raise DataError(f"no data for {name!r}: tensorflow-datasets has not prepared it"
                    f"{'' if download else ' (download disabled)'}"
                    f"{' and could not download it (offline?)' if download else ''}, and {where}. "
                    f"Put {name}.npz (Keras layout: x_train, y_train, x_test, y_test, uint8) in a folder and pass "
                    f"--data_dir=FOLDER or set {DATA_DIR_ENV}=FOLDER, or run where tensorflow-datasets can "
                    "download it.")


# --------------------------------------------------------------------------- pipelines

def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, C] -> float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False) -> tf.data.Dataset:
    """A batched, prefetched tf.data.Dataset of (float32 [B, H, W, C] in [0, 1], int32 [B]).

    `images` may be uint8 (rescaled here, in the pipeline, to keep host memory at one byte a pixel) or
    float32 already in [0, 1]. The pipeline shuffles and batches example *indices* and gathers each batch in
    one op (cheaper than batching the images element by element: BENCHMARKS.md, real vs. synthetic data).
    """
    images_t = tf.constant(images)
    labels_t = tf.constant(labels.astype(np.int32))
    rescale = images.dtype == np.uint8

    def gather(index):
        batch = tf.gather(images_t, index)
        return (tf.cast(batch, tf.float32) / 255.0 if rescale else batch), tf.gather(labels_t, index)

    ds = tf.data.Dataset.range(len(labels))
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    # In-memory data has no files to shard: under MultiWorkerMirroredStrategy shard by element.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
