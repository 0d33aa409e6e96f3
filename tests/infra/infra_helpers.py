"""Helpers the tests of the local suite share (imported as ``infra_helpers``: pytest puts
tests/infra on the import path of its test modules)."""

from __future__ import annotations

import threading
import time


def wait_for(condition, timeout: float = 20, what: str = "condition", interval: float = 0.05):
    """Calls ``condition`` every ``interval`` seconds until it returns something true, and returns
    that; fails once ``timeout`` has passed. Waits poll a condition until a deadline: nothing
    relies on a sleep being long enough."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class RecordingFunction:
    """Stands in for a Lambda function as an event source's ``invoke``: records every event
    (``recorded(event)`` decides in what form); ``answer(event)`` decides the response (or
    raises). A subclass names its ``function`` and adds the views its tests need."""

    function = "fake-function"

    def __init__(self, answer=lambda event: {"batchItemFailures": []}):
        self.answer = answer
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def recorded(self, event: dict) -> dict:
        return event

    def __call__(self, event: dict):
        with self.lock:
            self.events.append(self.recorded(event))
        return self.answer(event)
