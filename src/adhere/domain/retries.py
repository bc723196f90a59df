"""When to try a webhook delivery again: the Standard Webhooks schedule, with jitter.

Attempts go out at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the previous
one, each wait ±20 % at random so that endpoints coming back are not hit by everyone at once.
A `Retry-After` from the endpoint is honoured when it asks for longer, up to the next wait's
double; after the last wait the delivery is a dead letter.
"""

from __future__ import annotations

import random

from adhere.domain.instants import MICROS_PER_SECOND, Instant

WAITS_SECONDS: tuple[float, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.20


def next_attempt(
    attempts_made: int,
    now: Instant,
    retry_after_seconds: float | None = None,
    rng: random.Random | None = None,
) -> Instant | None:
    """When to try again after `attempts_made` failed attempts; None: no more (dead letter)."""
    if attempts_made < 1:
        raise ValueError("a delivery is retried only after an attempt")
    if attempts_made > len(WAITS_SECONDS):
        return None
    wait = WAITS_SECONDS[attempts_made - 1]
    jittered = wait * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after_seconds is not None and retry_after_seconds > jittered:
        jittered = min(retry_after_seconds, 2 * wait)
    return now + round(jittered * MICROS_PER_SECOND)
