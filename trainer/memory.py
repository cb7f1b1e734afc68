"""Keeping the training process's resident memory bounded by the batch (docs/datasets.md,
"Memory").

glibc's malloc keeps freed memory in its heaps: after the first large tensor is freed its
dynamic mmap threshold rises (up to 32 MiB), so later activation tensors come from the heap, and
the holes they leave are not returned to the kernel. Measured on the benchmark's network
(benchmarks/train_memory.py), the heap kept ~0.9 GiB after a training phase that a following
no-grad pass at another batch size could not reuse, so phases added up instead of taking turns.
`release_heap()` (``malloc_trim(0)``: every whole free page of every arena goes back to the
kernel) is called where a phase ends, which costs milliseconds. Fixing the mmap threshold instead
(``MALLOC_MMAP_THRESHOLD_``) bounds the heap within a phase too, but was measured to cost ~40 %
more CPU per training step (every step faults its 2.5 GB of activations in afresh), so it is not
done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_TRIM = None


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        fn = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                fn = getattr(libc, "malloc_trim", False)  # glibc only (not musl)
                if fn:
                    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
            except OSError:
                fn = False
        _TRIM = fn
    return _TRIM


def release_heap() -> bool:
    """Return the C heap's free pages to the kernel (glibc ``malloc_trim(0)``); False where
    the C library has no such call. Changes no value, only the resident set."""
    fn = _malloc_trim()
    if not fn:
        return False
    fn(0)
    return True
