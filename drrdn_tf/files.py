"""Files the package writes: atomic writes (a reader, or a run killed mid-write, never sees half a file) and
the form in which paths are recorded in them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Callable


def write_atomically(path: str, write: Callable[[str], None], suffix: str = "", directory: bool = False) -> str:
    """Calls `write(tmp)` to fill a temporary file (or, with `directory`, an empty temporary folder) next to
    `path` (its parent is created if needed), then renames it to `path`; the temporary is removed if `write`
    fails. A folder already at `path` is replaced only once the new one is complete (it is renamed aside,
    the new one renamed in, the old one deleted). Returns `path`."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if directory:
        tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=parent)
    else:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=parent)
        os.close(fd)
    try:
        write(tmp)
        old = None
        if directory and os.path.exists(path):
            old = path.rstrip(os.sep) + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
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


def write_text(path: str, text: str) -> str:
    """Writes `text` (UTF-8) to `path`, atomically."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return write_atomically(path, write, suffix=os.path.splitext(path)[1])
