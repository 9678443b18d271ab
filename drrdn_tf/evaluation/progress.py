"""An evaluation's progress on disk, column by column, so that an interrupted evaluation resumes where it
stopped instead of starting over (a paper preset on 10,000 images takes ~30-60 minutes here).

What it guarantees: a column is taken from the file only if the file was written by an evaluation with the
same identity (model name, data set, preset, eps, seed, batch size, the columns planned, the examples' images
and labels) and the models are the ones that computed it: the natural column, recomputed on every start, must
match the saved one flag for flag, and the logits of the first `PROBE` examples under the model and under each
transfer surrogate must match the saved ones to `PROBE_ATOL` (float noise of another thread count passes; a
model trained further does not). Because every column's random starts depend only on
(seed, batch index) (`runner.Runner.run`), a resumed column is the one the evaluation would have computed.
Anything else starts over, with a line saying why.
"""

from __future__ import annotations

import hashlib
import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from drrdn_tf.files import read_json, write_json

FORMAT = 1
PROBE, PROBE_ATOL = 16, 1e-3


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-1 of the examples (images float32 [N, H, W, C], labels int [N]): which examples were evaluated."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(images, np.float32).tobytes())
    h.update(np.ascontiguousarray(labels, np.int64).tobytes())
    return h.hexdigest()


def _bits(flags: np.ndarray) -> str:
    return "".join("1" if f else "0" for f in np.asarray(flags, bool))


def _flags(bits: str) -> np.ndarray:
    return np.frombuffer(bits.encode("ascii"), np.uint8) == ord("1")


class SavedColumns:
    """The columns an evaluation has finished, mirrored in a JSON file at `path` (None: nothing is saved).

    Args:
      path: the progress file, e.g. ``<output>.progress.json``.
      identity: JSON-able dict of what makes two evaluations the same one (see the module docstring).
      log: where the "resumed" / "starting over" lines go.
    """

    def __init__(self, path: Optional[str], identity: dict, log: Callable[[str], None] = print):
        self.path, self.log = path, log
        self.identity = {**identity, "format": FORMAT}
        self._saved: Dict[str, dict] = {}
        self.probe: Dict[str, list] = {}

    def resume(self, natural: np.ndarray, probes: Dict[str, np.ndarray]) -> None:
        """Loads the file's columns if it is this evaluation's, `natural` (bool [N], the freshly computed
        natural column) equals its natural column and `probes` ({"model" or a surrogate's name: its logits
        float [<= PROBE, num_classes] of the first examples}) its probes; otherwise keeps nothing and says why.
        Remembers `probes` for `save`."""
        self.probe = {k: np.asarray(v, np.float64).tolist() for k, v in probes.items()}
        if self.path is None or not os.path.exists(self.path):
            return
        try:
            saved = read_json(self.path)
            same = saved.get("identity") == self.identity
            columns = saved.get("columns", {}) if same else {}
            old = saved.get("probe") or {}
            if same and (columns.get("natural", {}).get("correct") != _bits(natural) or set(old) != set(self.probe)
                         or any(np.shape(old[k]) != np.shape(v) or not np.allclose(old[k], v, rtol=0, atol=PROBE_ATOL)
                                for k, v in self.probe.items())):
                self.log(f"{self.path}: computed by another model (its outputs differ); starting over")
                return
        except (OSError, ValueError, TypeError, AttributeError) as e:
            self.log(f"{self.path}: unreadable ({type(e).__name__}); starting over")
            return
        if not same:
            self.log(f"{self.path}: progress of a different evaluation (model, data, settings or columns); "
                     "starting over")
            return
        self._saved = {k: v for k, v in columns.items() if k != "natural"}
        if self._saved:
            self.log(f"resuming from {self.path}: {', '.join(self._saved)} already done")

    def get(self, key: str) -> Optional[Tuple[str, np.ndarray, dict, Optional[float]]]:
        """(label, flags bool [N], config, seconds) of a saved column, or None."""
        c = self._saved.get(key)
        if c is None:
            return None
        return c["label"], _flags(c["correct"]), c["config"], c.get("seconds")

    def save(self, record) -> None:
        """Writes every column of `record` (a `protocol.Record`) to the file, atomically."""
        if self.path is None:
            return
        columns = {k: {"label": record.labels[k], "correct": _bits(record.correct[k]), "config": record.configs[k],
                       "seconds": record.seconds.get(k)} for k in record.order}
        write_json(self.path, {"identity": self.identity, "probe": self.probe, "columns": columns})

    def finish(self) -> None:
        """Removes the file: the evaluation is complete and its caller holds the results."""
        if self.path is not None and os.path.exists(self.path):
            os.remove(self.path)
