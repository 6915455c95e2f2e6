"""A small memo of the statistics' work, per process, under keys that hold what the work was
made from.

Two kinds of entries, neither of which can go stale:
- Published counts (`stat_published`) are frozen when their month is published and never change
  after that: they are kept under the months asked for and the state of the publications (how
  many months, the last one, when it was published), so a new publication is a new key.
- A built page of figures is kept under all of its raw inputs (the counts read, the
  conversations, the alarms, the units, the period, the language, k): the same inputs give the
  same figures, so only the disclosure release and the rendering are saved, never a query that
  could have changed.

A database restored or emptied behind a running process must come with a restart (or `clear`,
as the tests do after emptying the tables), like any other process-level cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")
SIZE = 64  # entries per process: a page of figures is some tens of kilobytes


class Memo:
    """At most `size` values, the least recently used dropped first; safe across threads."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two threads may both make it, the same value
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def memo() -> Memo:
    """The memo of the current app."""
    found: Memo | None = current_app.extensions.get("incidents.stats.memo")
    if found is None:
        found = current_app.extensions.setdefault("incidents.stats.memo", Memo())
    return found
