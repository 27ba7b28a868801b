"""Give memory freed by a cycle back to the system.

A cycle builds and drops tens of MiB of short-lived objects (2,000 snapshots, decisions, the
channel list's messages). CPython frees them, but glibc keeps freed heap for reuse, so the
service's resident memory would stay at the cycle's peak for the six hours until the next
one. :func:`release_freed_memory` collects garbage and asks glibc to return what it can
(``malloc_trim``); elsewhere (another C library) it only collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_libc: ctypes.CDLL | None = None


def release_freed_memory() -> None:
    global _libc
    gc.collect()
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
