"""One pipeline stage: an iterator run ahead on a background thread, through a bounded queue."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


def in_background(
    produce: Callable[[], Iterator[T]],
    *,
    ahead: int,
    name: str,
    discard: Callable[[T], None] | None = None,
) -> Iterator[T]:
    """Yield the items of ``produce()``, which runs on a daemon thread up to ``ahead`` items
    in front of the caller.

    The producer's exception is raised to the caller. Closing this generator (or an
    exception in the caller) stops the producer; items it made that were never yielded go
    to ``discard`` (to close files, say).
    """
    items: queue.Queue = queue.Queue(maxsize=max(1, ahead))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        source = produce()
        try:
            for item in source:
                if not put(item):
                    if discard is not None:
                        discard(item)
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        _drain(items, discard)
        thread.join(timeout=5)
        _drain(items, discard)  # an item the producer put while stopping


def _drain(items: queue.Queue, discard: Callable[[Any], None] | None) -> None:
    while True:
        try:
            left = items.get_nowait()
        except queue.Empty:
            return
        if discard is not None and left is not _DONE and not isinstance(left, BaseException):
            discard(left)
