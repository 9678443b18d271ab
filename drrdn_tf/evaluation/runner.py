"""Running attacks on a fixed set of examples: fixed-size padded batches, per-batch seeds, eps-ball checks.

Conventions (what `Runner.run` guarantees):
  - an example counts as robust only if it is classified correctly at the attack's x' (the callers attack
    only examples classified correctly at x, so robust implies naturally correct);
  - every x' lies in the L_inf eps-ball around x and in [0, 1], with finite values: a violation is a bug of
    the attack and raises RuntimeError;
  - batches have a fixed size: a smaller remainder is padded, by repeating its last example, to the batch
    size or the next power of two, so each attack is traced at most twice per model (the full batch and one
    relaxed-shape trace), never per batch; padded rows never reach the results;
  - batch b of a run is attacked with seed (seed * 1000003 + b) mod (2^31 - 1): two attacks that differ only
    in steps or restarts start from the same random points (see `attacks.PGD`).
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

import keras
import numpy as np
import tensorflow as tf


def accuracy(correct: np.ndarray, subset: Optional[np.ndarray] = None) -> float:
    """The fraction of True in bool flags [N] (or in correct[subset]), in [0, 1]; NaN for no examples."""
    c = correct if subset is None else correct[subset]
    return float(np.mean(c)) if len(c) else float("nan")


def check_perturbation(x_adv: np.ndarray, x: np.ndarray, eps: float, what: str) -> None:
    """Raises RuntimeError unless x' [B, H, W, C] is finite, in [0, 1] and within L_inf eps (+1e-6) of x."""
    dist = float(np.max(np.abs(x_adv - x))) if x.size else 0.0
    if dist > eps + 1e-6 or x_adv.min() < 0.0 or x_adv.max() > 1.0 or not np.all(np.isfinite(x_adv)):
        raise RuntimeError(f"{what} returned images outside the threat model: |x' - x|_inf = {dist:g} (eps {eps:g}), "
                           f"values in [{x_adv.min():g}, {x_adv.max():g}]")


class Runner:
    """Runs attacks on a fixed set of examples in fixed-size batches, with progress bars.

    Args:
      model_fn: the target model, images float32 [B, H, W, C] -> logits [B, num_classes].
      images, labels: float32 [N, H, W, C] in [0, 1] and int [N].
      batch_size: examples per batch (capped at N); the last batch is padded.
      seed: base of the per-batch seeds.
      progress: show a keras Progbar per attack.
      log: where the per-attack title lines go (with progress on).
    """

    def __init__(self, model_fn: Callable, images: np.ndarray, labels: np.ndarray, batch_size: int = 256,
                 seed: int = 0, progress: bool = True, log: Callable[[str], None] = print):
        self.model_fn = model_fn
        self.images = np.asarray(images, np.float32)
        self.labels = np.asarray(labels, np.int32)
        self.batch_size = max(1, min(int(batch_size), len(self.labels)))
        self.seed, self.progress, self.log = int(seed), progress, log
        self._logits = tf.function(model_fn, reduce_retracing=True)

    def padded_size(self, n: int) -> int:
        """The batch size a batch of n <= batch_size real examples is padded to: batch_size, or the next power
        of two for a small remainder (a few examples left for Square should not cost full batches). With the
        attacks' reduce_retracing this means at most two traces per attack: the full size and one relaxed."""
        return self.batch_size if n >= self.batch_size else min(self.batch_size, 1 << max(0, (n - 1).bit_length()))

    def _batches(self, indices: np.ndarray):
        """Yields (batch number, indices of the real examples, padded indices)."""
        for b, start in enumerate(range(0, len(indices), self.batch_size)):
            real = indices[start:start + self.batch_size]
            padded = np.concatenate([real, np.repeat(real[-1:], self.padded_size(len(real)) - len(real))])
            yield b, real, padded

    def logits(self, images: np.ndarray) -> np.ndarray:
        """The model's logits float32 [n, num_classes] for images float32 [n, H, W, C] (n >= 1), in padded
        batches."""
        out = []
        for start in range(0, len(images), self.batch_size):
            x = images[start:start + self.batch_size]
            n = len(x)
            x = np.concatenate([x, np.repeat(x[-1:], self.padded_size(n) - n, axis=0)])
            out.append(self._logits(tf.constant(x)).numpy()[:n])
        return np.concatenate(out)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted classes int [n] for images float32 [n, H, W, C], in padded batches."""
        return np.argmax(self.logits(images), -1) if len(images) else np.zeros([0], np.int64)

    def natural(self) -> np.ndarray:
        """bool [N]: classified correctly at x."""
        return self.predict(self.images) == self.labels

    def run(self, attack, indices: Optional[np.ndarray] = None, title: str = "", eps: Optional[float] = None,
            extra: Optional[dict] = None) -> np.ndarray:
        """Attacks the examples `indices` (default all) and returns bool [N]: still classified correctly at
        x' (entries outside `indices` are False). `attack.perturb(images, labels, seed)` may be crafted on
        another model (transfer): x' is always judged by this runner's model. `eps` (default `attack.eps`) is
        the ball x' is checked against. Extra per-attack statistics (Square's queries) are added to `extra`
        if given."""
        indices = np.arange(len(self.labels)) if indices is None else np.asarray(indices, np.int64)
        eps = float(attack.eps if eps is None else eps)
        correct = np.zeros(len(self.labels), bool)
        if len(indices) == 0:
            return correct
        bar = None
        if self.progress:  # a live bar on a terminal, one summary line per attack in a log file
            live = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
            bar = keras.utils.Progbar(len(indices), verbose=1 if live else 2, unit_name="example",
                                      stateful_metrics=["robust_acc"])
        if bar is not None and title:
            self.log(f"{title}: {len(indices)} examples")
        done = robust = 0
        queries = []
        for b, real, padded in self._batches(indices):
            x, y = self.images[padded], self.labels[padded]
            seed = (self.seed * 1000003 + b) % (2 ** 31 - 1)
            x_adv = attack.perturb(tf.constant(x), tf.constant(y), seed=seed).numpy()
            check_perturbation(x_adv, x, eps, title or getattr(attack, "name", "attack"))
            pred = self.predict(x_adv)
            ok = (pred == y)[:len(real)]  # the padded rows are dropped here
            correct[real] = ok
            if getattr(attack, "last_queries", None) is not None:
                queries.append(np.asarray(attack.last_queries)[:len(real)])
            done += len(real)
            robust += int(ok.sum())
            if bar is not None:
                bar.update(done, [("robust_acc", robust / done)], finalize=done == len(indices))
        if extra is not None and queries:
            q = np.concatenate(queries)
            extra.update({"queries_mean": float(q.mean()), "queries_median": float(np.median(q)),
                          "queries_max": int(q.max())})
        return correct
