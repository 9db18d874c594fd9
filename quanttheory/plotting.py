"""The house plot style and one way to write a figure: PNG plus vector SVG, atomically.

Every experiment draws inside :func:`style` and saves with :func:`save_figure`, so figures share
fonts (legends ≥ 8 pt), grids and error-bar caps, and every PNG has an SVG beside it. Files are
written to a temporary name and renamed, so an interrupted run never leaves a half-written file,
and metadata that changes between runs (creation date, software version) is left out, so that
unchanged results give byte-identical files and ``git status`` stays clean.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import matplotlib.style
from matplotlib.figure import Figure

STYLE_FILE = Path(__file__).with_name("quanttheory.mplstyle")

#: Metadata with the run-dependent keys blanked (matplotlib writes a date and its version).
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures are created and drawn in the house style."""
    with matplotlib.style.context(STYLE_FILE):
        yield


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig: Figure, png: Path, *, dpi: int | None = None, vector: bool = True) -> list[Path]:
    """Save ``fig`` as ``png`` and (with ``vector``) as an SVG beside it; returns the paths.

    Both writes are atomic and carry no date or version metadata.
    """
    import io

    png = Path(png)
    if png.suffix != ".png":
        raise ValueError(f"png={str(png)!r} must end in .png")
    out = []
    for fmt, path in (("png", png), ("svg", png.with_suffix(".svg")))[: 2 if vector else 1]:
        buf = io.BytesIO()
        with style():
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
        out.append(atomic_write_bytes(path, buf.getvalue()))
    return out
