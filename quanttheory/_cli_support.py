"""Support of the command line: interrupts, the first-compile notice, closed pipes, output checks.

Kept apart from :mod:`quanttheory.cli` so that the command definitions stay readable.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .cache import npz_bytes, save_npz

INTERRUPTED = "interrupted: finished points are cached; the same command resumes"
NOTICE_TEXT = "note: compiling numba kernels (first run only, cached afterwards; this can take a minute)"


def writable(path: Path, what: str) -> Path:
    """Create ``path`` and check a file can be written in it, before any compute; else OSError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise OSError(f"{what} {str(path)!r} is not writable ({err.strerror or err})") from None
    return path


def interrupted(err: BaseException) -> bool:
    """Whether a KeyboardInterrupt is ``err`` or in its ``__cause__``/``__context__`` chain
    (numba, for one, turns Ctrl-C inside compiled code into a SystemError)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return True
        stack += [e.__cause__, e.__context__]
    return False


class _Notice:
    """Print one line on stderr when numba compiles for the first time in this process."""

    def __init__(self) -> None:
        self.shown = self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        try:
            from numba.core import event
        except ImportError:  # pragma: no cover - numba is a dependency
            return
        notice = self

        class Listener(event.Listener):
            def on_start(self, ev: Any) -> None:
                if not notice.shown:
                    notice.shown = True
                    print(NOTICE_TEXT, file=sys.stderr, flush=True)

            def on_end(self, ev: Any) -> None:
                pass

        event.register("numba:compile", Listener())


NUMBA_NOTICE = _Notice()
_PACKAGE_DIR = Path(__file__).resolve().parent


def numba_cached() -> bool:
    """Whether numba's on-disk cache holds compiled quanttheory kernels (``*.nbi`` index files
    beside the sources, or under ``$NUMBA_CACHE_DIR``)."""
    roots = [_PACKAGE_DIR] + ([Path(os.environ["NUMBA_CACHE_DIR"])] if os.environ.get("NUMBA_CACHE_DIR") else [])
    return any(next(root.rglob("*.nbi"), None) is not None for root in roots if root.is_dir())


def first_compile_notice() -> None:
    """Workers compile out of sight of the listener: say so once, here, when nothing is cached."""
    if not NUMBA_NOTICE.shown and not numba_cached():
        NUMBA_NOTICE.shown = True
        print(NOTICE_TEXT, file=sys.stderr, flush=True)


def deterministic_npz(path: Path) -> None:
    """Rewrite an ``np.savez`` file without per-run zip timestamps (:func:`cache.save_npz`), so
    that unchanged results leave ``git status`` clean. numpy >= 2 already writes fixed
    timestamps; numpy 1.x (still allowed by the dependencies) stamps the current time."""
    if path.suffix != ".npz" or not path.is_file():
        return
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if npz_bytes(arrays) != path.read_bytes():
        save_npz(path, arrays)


def silence_stdout() -> None:
    """After a closed pipe (``quanttheory list | head -1``): no traceback, no flush error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
