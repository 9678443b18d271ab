"""AdversarialModel: what every training method shares, written once.

It owns the inference path (`call`: images -> logits), training-attack generation (the one PGD), the
metric trackers, validation (`test_step`: natural and PGD accuracy), input checks on `fit`/`evaluate`/
`predict`, explicit optimizer building (needed under tf.distribute), per-replica loss scaling, `.keras`
serialisation and the SavedModel export. A method (DRRDN, Standard, Madry, TRADES) supplies its modules,
its `train_step` objective and the optimizers it needs.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from drrdn_tf import data as data_lib
from drrdn_tf.nn.fast.devices import accelerators_present
from drrdn_tf.attacks.pgd import pgd


class _CompileArgs:
    """The arguments `compile` was called with, for `get_compile_config`."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def resolve_jit_compile(jit_compile) -> bool:
    """"auto" -> XLA only when a GPU/TPU is present, graph mode on CPU-only machines (where XLA is slower:
    docs/design_notes.md, "Performance"); "true"/"false" (or a bool) force it."""
    if isinstance(jit_compile, str):
        value = jit_compile.lower()
        if value == "auto":
            return accelerators_present()
        if value in ("true", "false"):
            return value == "true"
        raise ValueError(f"jit_compile must be auto, true or false, got {jit_compile!r}")
    return bool(jit_compile)


def _split_data(data):
    """(images, labels[, sample_weight]) -> images, int32 labels [B]."""
    x, y = data[0], data[1]
    return x, tf.reshape(tf.cast(y, tf.int32), [-1])


def _as_logs(trackers) -> Dict[str, tf.Tensor]:
    """The trackers' values as a step's logs. Keras 3.15 reduces logs under MultiWorkerMirroredStrategy with
    reduce("MEAN", v, axis=0), which fails on scalars: there, each value is given a length-1 axis."""
    logs = {name: t.result() for name, t in trackers.items()}
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        logs = {name: tf.reshape(v, [1]) for name, v in logs.items()}
    return logs


def validation_seed(images, labels):
    """A stateless seed (int32 [2]) that depends only on a batch's content: pixel sum (on the 0-255 grid) and
    label sum. The same batch gets the same seed in every epoch and on every replica count."""
    pixels = tf.reduce_sum(tf.cast(tf.round(tf.cast(images, tf.float32) * 255.0), tf.int64))
    label_sum = tf.reduce_sum(tf.cast(labels, tf.int64)) + 7919 * tf.cast(tf.shape(labels)[0], tf.int64)
    return tf.cast(tf.stack([pixels % 2147483647, label_sum % 2147483647]), tf.int32)


class AdversarialModel(keras.Model):
    """Base of all methods. Not used directly: see `DRRDN`, `Standard`, `Madry`, `TRADES`.

    Args:
      encoder: a Keras model/layer mapping images [B, H, W, C] in [0, 1] to a feature vector [B, D] or map
        [B, ..., D] (flattened here).
      num_classes: K.
      eps, step_size, pgd_steps: the L_inf PGD of Eq. 2 used for training and validation.
      attack_start: PGD's start, "uniform" (x + U(-eps, eps), Madry) or "none" (deterministic, for tests).
      head: kwargs of `layers.Classifier` besides num_classes (`backbones.head_for(backbone)`).
    """

    #: names of the training metrics, in progress-bar order; subclasses extend.
    train_metric_names: Tuple[str, ...] = ("loss", "acc", "adv_acc")

    def __init__(self, encoder, num_classes: int, eps: float = 0.3, step_size: float = 0.01,
                 pgd_steps: int = 40, head: Optional[dict] = None, attack_start: str = "uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):  # from_config
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(f"encoder must be a keras.Model or keras.layers.Layer, got {type(encoder).__name__}")
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if eps < 0 or step_size < 0 or pgd_steps < 0:
            raise ValueError(f"eps, step_size and pgd_steps must be >= 0, got {eps}, {step_size}, {pgd_steps}")
        if attack_start not in ("uniform", "none"):
            raise ValueError(f"attack_start must be uniform or none, got {attack_start!r}")
        self.attack_start = attack_start
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.eps, self.step_size, self.pgd_steps = float(eps), float(step_size), int(pgd_steps)
        self.head_config = {"hidden_units": tuple(head.get("hidden_units", ())) if head else (),
                            "dropout": float(head.get("dropout", 0.0)) if head else 0.0}
        # The eps the training attack uses now; a warm-up callback may ramp it (validation uses self.eps).
        self.train_eps = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.eps),
                                         trainable=False, name="train_eps")
        self._flatten = keras.layers.Flatten()
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.train_metric_names}
        self._val_trackers = {name: keras.metrics.Mean(name=name) for name in ("acc", "pgd_acc")}
        self.make_modules()
        shape = self.encoder_input_shape()
        if shape is not None and None not in shape:
            self.build((None,) + shape)

    # ------------------------------------------------------------------ structure (subclasses)

    def make_modules(self) -> None:
        """Creates the method's layers (called once from __init__)."""
        raise NotImplementedError

    def call(self, images, training=False):
        """The inference path: images float32 [B, H, W, C] in [0, 1] -> logits [B, K]."""
        raise NotImplementedError

    def optimizer_groups(self) -> List[Tuple[keras.optimizers.Optimizer, list]]:
        """(optimizer, variables it updates) for every optimizer the method uses."""
        return [(self.optimizer, self.trainable_variables)]

    def build(self, input_shape):
        """Creates every weight (inference path and training-only modules) by one symbolic pass."""
        self.build_modules(tuple(input_shape))
        self.built = True
        if getattr(self, "compiled", False):
            self.build_optimizers()

    def build_modules(self, input_shape) -> None:
        """Creates the weights of every module; the default runs the inference path on one zero image."""
        self.call(tf.zeros((1,) + tuple(input_shape[1:])), training=False)

    # ------------------------------------------------------------------ helpers

    def encoder_input_shape(self) -> Optional[tuple]:
        """(H, W, C) the encoder was built for, or None if unknown."""
        try:
            shape = self.encoder.input_shape
        except (AttributeError, ValueError):
            return None
        if isinstance(shape, list):
            shape = shape[0]
        return tuple(shape[1:]) if shape is not None else None

    def features(self, images, training=False):
        """z = g(x): [B, H, W, C] -> [B, D] (feature maps are flattened)."""
        z = self.encoder(images, training=training)
        return self._flatten(z) if len(z.shape) > 2 else z

    def inference_fn(self):
        """The inference path as a function for attacks: images [B, H, W, C] in [0, 1] -> logits [B, K], in
        inference mode. Methods may return a cheaper form of the same function (DRRDN folds its linear d_s into
        c_s); call it once per attack, outside the PGD loop, so any such preparation is paid once."""
        return lambda images: self(images, training=False)

    def inference_layers(self) -> List[keras.layers.Layer]:
        """The modules of the inference path images -> logits, in order (what `call` runs and export ships)."""
        raise NotImplementedError

    def attack_path_layers(self) -> List[keras.layers.Layer]:
        """The modules `inference_fn` runs: the inference path, or the cheaper form of it a method attacks."""
        return self.inference_layers()

    def auxiliary_layers(self) -> Dict[str, keras.layers.Layer]:
        """Modules trained beside the inference path (DRRDN's d_i, c_i, T, r), by name; none for the baselines."""
        return {}

    def attack(self, images, labels, eps=None, steps=None, seed=None):
        """PGD (Eq. 2) on the inference path, in inference mode: eps defaults to the (warm-up) training eps;
        `seed` (int32 [2]) fixes the random start (None: fresh randomness, as in training)."""
        return pgd(self.inference_fn(), images, labels,
                   self.train_eps if eps is None else eps, self.step_size,
                   self.pgd_steps if steps is None else steps, start=self.attack_start, seed=seed)

    def minimize(self, tape, loss, variables, optimizer) -> None:
        """One optimizer step on `variables` for the local-batch-mean `loss` (computed inside `tape`).

        Under tf.distribute the optimizer sums gradients over replicas, so each replica's gradient is
        divided by the number of replicas: the update is that of the global-batch mean.
        """
        self.apply(optimizer, self.replica_gradients(tape, loss, variables))

    @staticmethod
    def replica_gradients(tape, loss, variables) -> List[Tuple[tf.Tensor, tf.Variable]]:
        """(gradient, variable) pairs of `loss` for the variables it reaches, each divided by the number of
        replicas (the optimizer sums over replicas: the update is that of the global-batch mean)."""
        grads = tape.gradient(loss, variables)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return [(g if replicas == 1 else g / replicas, v) for g, v in zip(grads, variables) if g is not None]

    @staticmethod
    def apply(optimizer, pairs) -> None:
        """One optimizer step on (gradient, variable) pairs (nothing if there are none)."""
        if pairs:
            optimizer.apply_gradients(pairs)

    def record(self, **values) -> Dict[str, tf.Tensor]:
        """Updates the named train trackers and returns every train metric's running value."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return _as_logs(self._trackers)

    @staticmethod
    def accuracy(labels, logits):
        return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32))

    @property
    def metrics(self):
        return list(self._trackers.values()) + list(self._val_trackers.values())

    # ------------------------------------------------------------------ validation

    def test_step(self, data):
        """Natural accuracy and PGD accuracy at the target eps (not the warm-up one).

        The PGD start is a function of the batch (`validation_seed`), so validating the same images twice
        attacks them from the same points: a change between epochs is the model's, not the random start's."""
        x, y = _split_data(data)
        x_adv = self.attack(x, y, eps=self.eps, seed=validation_seed(x, y))
        # Per-example values: a replica's share of a short last batch may be empty, and a mean of none is NaN.
        for name, images in (("acc", x), ("pgd_acc", x_adv)):
            correct = tf.equal(tf.argmax(self(images, training=False), -1, output_type=tf.int32), y)
            self._val_trackers[name].update_state(tf.cast(correct, tf.float32))
        return _as_logs(self._val_trackers)

    # ------------------------------------------------------------------ compile / optimizers

    def compile(self, optimizer="sgd", jit_compile="auto", **kwargs):
        """As keras.Model.compile; `jit_compile="auto"` means XLA on accelerators only (see
        `resolve_jit_compile`). Every optimizer is built here (the model is built at construction when the
        encoder's input shape is known), which tf.distribute needs before `fit`."""
        # A plain holder, not a dict: Keras would wrap a dict attribute in a tracked container.
        self._compile_args = _CompileArgs(optimizer=optimizer, jit_compile=jit_compile, **kwargs)
        super().compile(optimizer=optimizer, jit_compile=resolve_jit_compile(jit_compile), **kwargs)
        if self.built:
            self.build_optimizers()

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15 (TF backend) reduces the first batch across replicas here to build what is unbuilt;
        # under MultiWorkerMirroredStrategy that reduce fails ("Attempt to convert a value (PerReplica...").
        # Everything it would build (the model and every optimizer) is already built by compile().
        if self.built and getattr(self, "compiled", False) and all(o.built for o, _ in self.optimizer_groups()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def build_optimizers(self) -> None:
        """opt.build(variables) for every optimizer, in the current (strategy) scope."""
        for optimizer, variables in self.optimizer_groups():
            if not optimizer.built:
                optimizer.build(variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "_compile_args"):
            return {}
        return {k: keras.saving.serialize_keras_object(v) for k, v in vars(self._compile_args).items()}

    def compile_from_config(self, config):
        if config:
            self.compile(**{k: keras.saving.deserialize_keras_object(v) for k, v in config.items()})

    # ------------------------------------------------------------------ input checks

    def check_inputs(self, x, y=None) -> None:
        """Raises ValueError (data.DataError) for images/labels the model cannot use.

        Arrays are checked whole; a tf.data.Dataset by its element spec and its first batch.
        """
        expected = self.encoder_input_shape()
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if not isinstance(spec, (tuple, list)) or len(spec) < 2:
                raise data_lib.DataError("the dataset must yield (images, labels) pairs, got element spec "
                                         f"{spec}")
            for images, labels in x.take(1):
                data_lib.check_images(images, expected)
                data_lib.check_labels(labels, self.num_classes)
            return
        if isinstance(x, (tuple, list)) and y is None and len(x) == 2:
            x, y = x
        data_lib.check_images(np.asarray(x) if not tf.is_tensor(x) else x, expected)
        if y is not None:
            data_lib.check_labels(np.asarray(y) if not tf.is_tensor(y) else y, self.num_classes)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        self.check_inputs(x, y)
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a Dataset shuffles itself; Keras warns otherwise
        if validation_data is not None:
            self.check_inputs(validation_data)
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self.check_inputs(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        if isinstance(x, tf.data.Dataset):
            for batch in x.take(1):
                data_lib.check_images(batch[0] if isinstance(batch, (tuple, list)) else batch,
                                      self.encoder_input_shape())
        else:
            data_lib.check_images(np.asarray(x) if not tf.is_tensor(x) else x, self.encoder_input_shape())
        return super().predict(x, *args, **kwargs)

    # ------------------------------------------------------------------ export and config

    def export(self, filepath, format="tf_saved_model", **kwargs):
        """Writes the inference path as a SavedModel with the `serving_default` contract (see export.py)."""
        if format != "tf_saved_model":
            return super().export(filepath, format=format, **kwargs)
        from drrdn_tf.export import export_savedmodel
        return export_savedmodel(self, filepath)

    def get_config(self):
        return {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes, "eps": self.eps, "step_size": self.step_size,
            "pgd_steps": self.pgd_steps, "attack_start": self.attack_start,
            "head": {"hidden_units": list(self.head_config["hidden_units"]),
                     "dropout": self.head_config["dropout"]},
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def head_kwargs(model: AdversarialModel) -> dict:
    return {"num_classes": model.num_classes, **model.head_config}


def variables_of(*modules: keras.layers.Layer) -> list:
    """The trainable variables of several modules, in order, without duplicates."""
    seen, out = set(), []
    for m in modules:
        for v in m.trainable_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out

