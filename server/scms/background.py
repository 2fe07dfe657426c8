"""Background threads' manners (a leaf: it imports nothing from scms): a lower CPU priority than the thread
answering hovers, and memory handed back to the system after heavy work."""

from __future__ import annotations

import os
import threading

BACKGROUND_NICE = 10  # the embedding, model-loading and learning threads yield the CPU to hovers


def background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: threads are scheduled on their own), so that on a busy
    machine the thread answering hovers runs first; a no-op where that is not possible."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):
        pass


def release_freed_memory() -> None:
    """Hand memory freed by torch back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
