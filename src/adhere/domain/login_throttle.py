"""Slowing down password guessing: after a few failed logins for one username, or from one
address, each further attempt must wait, twice as long after every failure (up to a limit).

Held in memory by the server: a restart forgets it, which costs a guesser only a restart's
worth of attempts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

FREE_FAILURES = 5  # failures allowed for a username ("user:…" keys) before any wait
# ... and from one address ("from:…" keys): many people may share one (a proxy, an office),
# so a handful of someone's typos there must not make everyone wait.
FREE_FAILURES_PER_ADDRESS = 50
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 900.0
FORGET_AFTER_SECONDS = 3600.0  # a key with no failure for this long starts afresh
MAX_KEYS = 100_000  # a flood of invented usernames cannot grow memory without bound


@dataclass(slots=True)
class _Failures:
    count: int
    last: float  # when the latest failure happened


class LoginThrottle:
    def __init__(self) -> None:
        self._failures: OrderedDict[str, _Failures] = OrderedDict()

    def wait_seconds(self, keys: Iterable[str], now: float) -> float:
        """How long these keys must still wait before another attempt (0: try now)."""
        return max((self._wait(key, now) for key in keys), default=0.0)

    def failed(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            known = self._failures.pop(key, None)
            if known is None or now - known.last > FORGET_AFTER_SECONDS:
                known = _Failures(0, now)
            known.count += 1
            known.last = now
            self._failures[key] = known  # the most recent last: the oldest go first
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """The right password for this username: its count starts afresh (not its address's)."""
        self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        known = self._failures.get(key)
        free = FREE_FAILURES_PER_ADDRESS if key.startswith("from:") else FREE_FAILURES
        if known is None or known.count < free:
            return 0.0
        doubled: float = FIRST_WAIT_SECONDS * 2.0 ** (known.count - free)
        penalty = min(doubled, MAX_WAIT_SECONDS)
        return max(0.0, known.last + penalty - now)
