"""An advisory file lock under ``ARTICLEBOT_HOME``: two ingests on one store take turns."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.errors import BusyError

log = logging.getLogger(__name__)


@contextmanager
def exclusive(path: Path, wait_s: float = 600.0, on_wait: object = None) -> Iterator[None]:
    """Hold the lock; wait up to ``wait_s`` for another holder, telling the user once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    log.warning("another articlebot process is ingesting into %s; waiting for it", path.parent)
                    if callable(on_wait):
                        on_wait()
                    told = True
                if time.monotonic() > deadline:
                    raise BusyError(
                        f"another articlebot process has been ingesting for over {wait_s:.0f} s; try later"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process is killed
