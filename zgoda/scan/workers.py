"""Browsers in threads of their own, so that the three states of a page load at once.

Playwright's sync API belongs to the thread that started it: each worker thread starts its
own driver and Chromium, takes jobs (a function of its browser) from its queue one at a time,
and hands back each result or exception through a Future. Most of a page state's time is
spent waiting (loads, the banner, the network going quiet), so three at once take little
longer than one, even on two cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from playwright.sync_api import Browser, sync_playwright

from zgoda.scan.browser import launch

T = TypeVar("T")
STOP_WAIT = 30.0  # seconds a worker may take to close its browser


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[Callable[[Browser], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self.ready: Future[None] = Future()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with sync_playwright() as driver:
                browser = launch(driver.chromium)
                self.ready.set_result(None)
                while (job := self.jobs.get()) is not None:
                    work, result = job
                    try:
                        result.set_result(work(browser))
                    except BaseException as error:  # handed to the caller, raised there
                        result.set_exception(error)
                browser.close()
        except BaseException as error:
            if not self.ready.done():
                self.ready.set_exception(error)


class BrowserPool:
    """`size` worker threads, each with its own Chromium, until the block ends."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.workers: list[_Worker] = []

    def __enter__(self) -> BrowserPool:
        self.workers = [_Worker() for _ in range(self.size)]
        for worker in self.workers:
            worker.ready.result()  # a browser that cannot start fails the scan here
        return self

    def submit(self, index: int, work: Callable[[Browser], T]) -> Future[T]:
        """Run `work(browser)` on worker `index`'s thread; its result, or its exception."""
        result: Future[T] = Future()
        self.workers[index].jobs.put((work, result))
        return result

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for worker in self.workers:
            worker.jobs.put(None)
        for worker in self.workers:
            worker.thread.join(STOP_WAIT)
