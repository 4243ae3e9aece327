"""Settings shared by every test.

Hypothesis' ``too_slow`` health check and per-example deadline measure wall-clock time, so on a
busy machine they fail tests whose properties hold; the properties, not the speed, are what
these tests check (speed lives in bench/).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "newsstream", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("newsstream")
