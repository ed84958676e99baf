"""Keeping the gateway responsive: engine work runs in worker threads, a few at a time, and each
user gets a fair share through a per-user rate limit."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class EngineRunner:
    """Runs blocking engine calls off the event loop, with at most ``concurrency`` at once."""

    def __init__(self, concurrency: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="articlebot-engine")
        self._semaphore = asyncio.Semaphore(max(1, concurrency))

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, lambda: func(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class RateLimiter:
    """At most ``per_minute`` questions per user in any sliding minute."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and counts the question); else seconds to wait."""
        now = time.monotonic()
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        if len(times) >= self.per_minute:
            return self.window_s - (now - times[0])
        times.append(now)
        return 0.0
