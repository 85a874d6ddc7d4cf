"""The C allocator of a process that frees and reallocates the same large arrays many times.

glibc's malloc hands a block of 32 MiB or more straight back to the operating system when it
is freed (``mmap``/``munmap``), and trims the top of its heap too; the next allocation of the
same size then faults every page in afresh. A learner at N = 1,000 allocates such tensors in
every minibatch (the rollout, each minibatch's copy of it, the activations and their
gradients), and the page faults cost about a tenth of its time. :func:`keep_freed_memory`
asks malloc to keep freed blocks for reuse: the process's resident memory then stays at its
peak instead of shrinking between minibatches. The arithmetic does not change.
"""
from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # mallopt parameters of glibc's malloc.h
MMAP_THRESHOLD = 2 ** 30
"""blocks up to this size come from the heap and are reused (1 GiB)"""
TRIM_THRESHOLD = 2 ** 31 - 1
"""free memory at the top of the heap is kept up to this size (2 GiB, the most a C int holds)"""

_kept = None


def keep_freed_memory() -> bool:
    """Make glibc keep freed blocks up to :data:`MMAP_THRESHOLD` for reuse; once per process.

    Returns whether the setting is in force: False on a C library other than glibc, or where
    glibc refuses the threshold (then nothing is changed: a trim threshold without the mmap
    threshold would send every block over 128 KiB to ``mmap``).
    """
    global _kept
    if _kept is None:
        _kept = sys.platform.startswith("linux") and _set(_glibc_mallopt())
    return _kept


def _glibc_mallopt():
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def _set(mallopt) -> bool:
    """The mmap threshold first, the trim threshold only if glibc took it (1 is success)."""
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        return False
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
