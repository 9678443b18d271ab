"""What the command-line tools share: one-line errors with exit status 2, and absl start-up."""

from __future__ import annotations

import sys
from typing import Callable

from absl import app, flags


def fail(message: str, status: int = 2) -> None:
    """One line on stderr (`error: ...`) and exit: the CLIs' answer to bad input."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    sys.exit(status)


def _parse_flags(argv):
    """absl's parser, but an unknown or malformed flag is one line and exit status 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(f"{e} (see --helpshort)")


def run_app(main: Callable, interrupted: str = "interrupted") -> None:
    """Runs an absl `main(argv)`; Ctrl-C prints `interrupted` and exits with status 130."""
    try:
        app.run(main, flags_parser=_parse_flags)
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr, flush=True)
        sys.exit(130)
