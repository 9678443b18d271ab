"""Files the package writes: atomic writes (a reader, or a run killed mid-write, never sees half a file) and
the form in which paths are recorded in them."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Callable


def write_atomically(path: str, write: Callable[[str], None], suffix: str = "") -> str:
    """Calls `write(tmp)` to fill a temporary file in `path`'s folder (created if needed), then renames it to
    `path`; the temporary file is removed if `write` fails. Returns `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def recorded_path(path: str) -> str:
    """`path` as results record it: relative to the working directory (the repository root for every committed
    result, so a JSON reads the same on any machine), e.g. ``runs/demo_drrdn/savedmodel`` or
    ``../shared/data/mnist.npz``."""
    return os.path.relpath(os.path.abspath(path))


def write_json(path: str, obj) -> None:
    """Writes `obj` as indented, key-sorted JSON, atomically."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    write_atomically(path, write, suffix=".json")


def read_json(path: str):
    """The JSON value stored at `path`."""
    with open(path) as f:
        return json.load(f)
