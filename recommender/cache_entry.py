"""Entries of the on-disk cache shared by the source GPs and the zero-shot test.

Both write ``<32 hex>.<ext>`` files into the same directory (`recommender.gp_cache` prunes
them by age); this module holds the two rules they share: a write is atomic (a temporary
``<32 hex>.<pid>.tmp`` then ``os.replace``, so a reader never sees a torn entry), and a hit
refreshes the entry's modification time, at most once a day, so that pruning keeps what
is used while back-to-back runs leave the cache exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CACHE_TOUCH_AFTER_S", "mark_used", "write_atomic"]

CACHE_TOUCH_AFTER_S = 86400.0
"""A cache hit refreshes its entry's modification time once it is older than this."""


def mark_used(path: Path) -> None:
    """Record a cache hit on ``path`` for pruning (best effort: errors are ignored)."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > CACHE_TOUCH_AFTER_S:
            os.utime(path)


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Create ``path`` through ``write(temporary)`` and an atomic rename.

    Raises:
        OSError: the directory or the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    write(partial)
    os.replace(partial, path)
