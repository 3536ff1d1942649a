"""Keep freed memory in the process: glibc's allocator tuned for training loops.

A training step allocates and frees the same activation-sized blocks every step. With glibc's
defaults, blocks above the mmap threshold (128 KiB at first) are mapped and unmapped on every
allocation, and freed heap memory is trimmed back to the system, so each step page-faults its
activations in again: measured here, 16 stacked pendulum members (8 MiB of activations per
layer) trained ~20 % faster with freed memory kept (``benchmarks/README.md``). Freed memory is
reused by the next step; the process's peak memory is unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest (64-bit): bigger blocks are still mapped
TRIM_THRESHOLD = 1024 * 1024 * 1024  # keep up to 1 GiB of freed heap

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's ``malloc`` once per process; True where it applied (Linux with glibc)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
