"""Holding a call of the local org until the test lets it go: an event, not a timer.

The org's ``stall`` fault sleeps a fixed time before answering, so a test built on it either
waits that long or races it. :class:`HeldCall` arms a ``stall`` of no duration and holds the
matching call in the org's server thread from the moment it arrives until the test calls
:meth:`HeldCall.release` (the call is then handled normally) or :meth:`HeldCall.drop` (the
connection is reset: the call never reaches the org's logic, as when the client died before
its request got through). Leaving the ``with`` block drops a call still held.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from types import TracebackType
from typing import Any


class HeldCall:
    """Hold the next call matching ``path``/``method`` (as the org's faults match them)."""

    def __init__(
        self, org: Any, *, path: str, method: str | None = None, timeout: float = 600
    ) -> None:
        self.org = org
        self.reached = threading.Event()
        self._go = threading.Event()
        self._drop = False
        self._timeout = timeout
        self.fault = org.faults.add("stall", path=path, method=method, times=1, seconds=0)
        self._original = org.faults.take
        org.faults.take = self._take

    def _take(self, kinds: frozenset[str], method: str, path: str) -> Any:
        fault = self._original(kinds, method, path)
        if fault is not self.fault:
            return fault
        self.reached.set()
        self._go.wait(self._timeout)
        return dataclasses.replace(fault, kind="reset") if self._drop else fault

    def wait_reached(self, proc: subprocess.Popen | None = None, timeout: float = 600) -> None:
        """Wait until the call is held; fail if ``proc`` ends first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not self.reached.wait(0.05):
            assert proc is None or proc.poll() is None, (
                f"the process ended (exit {proc.returncode}) before the held call"
            )
            assert time.monotonic() < deadline, f"no call reached {self.fault.path}"

    def release(self) -> None:
        """Let the held call (and any later one) be handled normally."""
        self._go.set()

    def drop(self) -> None:
        """Reset the held call's connection: the org does not handle it."""
        self._drop = True
        self._go.set()

    def close(self) -> None:
        """Drop a call still held and stop holding."""
        if not self._go.is_set():
            self.drop()
        self.org.faults.take = self._original

    def __enter__(self) -> HeldCall:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
