"""What the command-line tools share: a quiet TensorFlow start-up, one-line errors with exit status 2, and
absl start-up."""

from __future__ import annotations

import os
import sys
from typing import Callable

from absl import app, flags


def quiet_tensorflow() -> None:
    """Imports TensorFlow and Keras with file descriptor 2 pointed at /dev/null and TF_CPP_MIN_LOG_LEVEL=2 (a
    user's own setting wins): TF 2.21's C++ start-up notices (oneDNN, CPU features), which no environment
    variable silences, would drown the progress bars and make a one-line error several lines long. Errors
    still surface, as Python exceptions after stderr is restored. DRRDN_SHOW_TF_STARTUP=1 shows the notices.
    For the command lines only: importing the library changes neither stderr nor the environment."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ.get("DRRDN_SHOW_TF_STARTUP"):
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import tensorflow  # noqa: F401 - imported for its side effect: TF starts here, quietly
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def fail(message: str, status: int = 2) -> None:
    """One line on stderr (`error: ...`) and exit: the CLIs' answer to bad input."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    sys.exit(status)


def on_dataset(dataset: str, data_dir: str | None, work: Callable, errors: tuple = ()):
    """The analysis commands' shared tail: loads `dataset` from `data_dir` (never downloads) and returns
    `work(raw)`; a ValueError or OSError (or one of `errors`) on the way becomes a one-line error, exit status 2."""
    from drrdn_tf import data
    try:
        return work(data.load_raw(dataset, data_dir, download=False))
    except (ValueError, OSError, *errors) as e:
        fail(str(e))


def _parse_flags(argv):
    """absl's parser, but an unknown or malformed flag is one line and exit status 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(f"{e} (see --helpshort)")


def run_app(main: Callable, interrupted: str = "interrupted") -> None:
    """Runs an absl `main(argv)` after a quiet TensorFlow start-up; Ctrl-C prints `interrupted` and exits with
    status 130."""
    quiet_tensorflow()
    try:
        app.run(main, flags_parser=_parse_flags)
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr, flush=True)
        sys.exit(130)
