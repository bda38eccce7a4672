"""How the process gets memory for arrays: freed arrays' memory is kept for the next ones (glibc only).

An edit recomputes every level after the one it changed, and each level is a new array: about 13 MB for the
256×256×8 session of benchmarks/bench_ui.py. By default glibc gives large freed blocks back to the system and
the next array asks for new pages, which the kernel zeroes on first touch: a ReLU over 2 MB took 1.3 ms, of which
1.0 ms was faulting in fresh pages. benchmarks/bench_memory.py measures the whole run each way (2 cores): about
20 ms of CPU (15 ms wall) by default, 13 ms (9 ms wall) with the memory kept (docs/architecture.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Blocks below this come from the heap, whose freed memory is reused: every level of the largest pipeline the
# limits allow (MAX_LEVEL_VALUES float32 = 32 MB in all). glibc's own ceiling for its moving threshold.
MMAP_THRESHOLD = 32 << 20
# Free memory the heap keeps at its top before giving it back: one such pipeline's levels twice over, as an edit
# holds the old levels until the new ones are made.
TRIM_THRESHOLD = 64 << 20


def keep_freed_memory() -> bool:
    """Tune glibc's malloc so that arrays up to MMAP_THRESHOLD reuse freed memory instead of fresh pages. Call
    once, early, in a process that recomputes arrays on every edit or step. Returns whether it applied (False
    off glibc: macOS, Windows and musl keep their own allocators' ways)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        version = libc.gnu_get_libc_version  # glibc's; musl has no such function
    except (OSError, AttributeError):
        return False
    del version
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # setting the mmap threshold also stops glibc moving it (and the trim threshold) on its own
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
