"""When to poll a feed next, and what a failure means: pure functions, no I/O.

Why adaptive: polling every feed every few minutes wastes requests on feeds that publish once a
week and misses items on feeds that publish every minute. Each feed's publishing rate (new items
per hour) is observed at every poll and smoothed; the next poll is when about
``target_items`` new items are expected, kept within ``[min_interval, max_interval]``. Publisher
hints (``Cache-Control``/``Expires``, RSS ``ttl``, ``sy:updatePeriod``) and ``Retry-After`` only
ever push the next poll later. Errors back off exponentially; a failure score (permanent
failures weigh more) disables a feed after a configurable streak.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

PERMANENT = "permanent"
TEMPORARY = "temporary"

# HTTP statuses worth retrying soon: the server is there but busy or broken for now.
_TEMPORARY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523,
                               524})


@dataclass(frozen=True)
class Policy:
    """The scheduling knobs (from settings)."""

    default_interval: float = 900.0
    min_interval: float = 300.0
    max_interval: float = 86400.0
    max_backoff: float = 86400.0
    target_items: float = 1.0
    rate_alpha: float = 0.3
    disable_score: float = 10.0
    permanent_weight: float = 2.5
    quiet_factor: float = 8.0
    quiet_min: float = 86400.0
    jitter: float = 0.1


def classify(status: int, error_kind: str | None, not_a_feed: bool = False) -> str | None:
    """None for success (200 or 304), else ``permanent`` or ``temporary``.

    Permanent: 404/410 and other client errors, an HTML page or garbage instead of a feed, a
    blocked address, an oversize body, a redirect loop. Temporary: timeouts, connection errors,
    5xx, 429 and 408. A permanent failure is still retried (with back-off): sites come back.
    """
    if not_a_feed:
        return PERMANENT
    if error_kind is None and status in (200, 304):
        return None
    if error_kind in ("blocked", "too_large", "redirects"):
        return PERMANENT
    if error_kind in ("timeout", "network", "publish") or status == 0:
        return TEMPORARY
    if status in _TEMPORARY_STATUS or status >= 500:
        return TEMPORARY
    if 300 <= status < 500:
        return PERMANENT
    return TEMPORARY


def next_score(score: float, failure: str | None, policy: Policy) -> float:
    """Failure score after one poll: reset by a success, +1 temporary, +weight permanent."""
    if failure is None:
        return 0.0
    return score + (policy.permanent_weight if failure == PERMANENT else 1.0)


def should_disable(score: float, policy: Policy) -> bool:
    return policy.disable_score > 0 and score >= policy.disable_score


def observe_rate(rate: float | None, new_items: int, elapsed: float, alpha: float) -> float | None:
    """Smoothed new items per hour after a successful poll ``elapsed`` seconds after the last."""
    if elapsed <= 0:
        return rate
    sample = new_items * 3600.0 / elapsed
    return sample if rate is None else alpha * sample + (1 - alpha) * rate


def observe_baseline(baseline: float | None, new_items: int, since_last_new: float | None,
                     alpha: float) -> float | None:
    """The usual rate (items/hour), learnt only when items arrive, so silence cannot erode it.

    It is what "quiet" is measured against: the scheduling rate decays during a silence and
    would soon call the silence normal.
    """
    if new_items <= 0 or not since_last_new or since_last_new <= 0:
        return baseline
    sample = new_items * 3600.0 / since_last_new
    return sample if baseline is None else alpha * sample + (1 - alpha) * baseline


def adaptive_interval(rate: float | None, policy: Policy) -> float:
    """Seconds until about ``target_items`` new items are expected, within the bounds."""
    if rate is None:
        interval = policy.default_interval
    elif rate <= 0:
        interval = policy.max_interval
    else:
        interval = policy.target_items * 3600.0 / rate
    return min(max(interval, policy.min_interval), policy.max_interval)


def next_delay(policy: Policy, *, rate: float | None, fixed_interval: float | None = None,
               failure: str | None = None, streak: int = 0, retry_after: float | None = None,
               cache_seconds: float | None = None, hint_seconds: float | None = None,
               rand: Callable[[], float] = random.random) -> float:
    """Seconds until the next poll of one feed.

    ``fixed_interval`` (given in the feed list) replaces the adaptive interval; hints and
    ``Retry-After`` can only make the delay longer, and never beyond ``max_interval`` /
    ``max_backoff``. Jitter (±``policy.jitter``) spreads feeds added together.
    """
    base = fixed_interval if fixed_interval else adaptive_interval(rate, policy)
    if failure is not None and streak > 0:
        cap = max(policy.max_backoff, base)
        delay = min(base * 2 ** min(streak - 1, 30), cap)
    else:
        delay = base
        for hint in (cache_seconds, hint_seconds):
            if hint:
                delay = max(delay, min(hint, policy.max_interval))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_backoff))
    return delay * (1 + policy.jitter * (2 * rand() - 1))


def quiet_for(now: float, last_new: float | None, baseline: float | None, policy: Policy
              ) -> float | None:
    """Seconds a feed has been silent beyond its usual gap, or None when it is not quiet."""
    if last_new is None or not baseline or baseline <= 0:
        return None
    usual_gap = 3600.0 / baseline
    threshold = max(policy.quiet_factor * usual_gap, policy.quiet_min)
    silent = now - last_new
    return silent - threshold if silent > threshold else None


def volume_drop(last_week: int, previous_week: int, fraction: float, min_items: int = 7
                ) -> bool:
    """True when a source published less than ``fraction`` of its previous week's volume."""
    return previous_week >= min_items and last_week < fraction * previous_week
