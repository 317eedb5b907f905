"""Hypothesis profiles for the property-based tests.

Pick one with the environment variable ``HYPOTHESIS_PROFILE``:

- ``ci`` (the default when ``CI`` is set): thousands of stateful steps per run, the
  whole suite within a few minutes on two cores; no example database, so a clean
  checkout needs no ``.hypothesis/`` directory, and a failure prints its reproduction
  blob (``@reproduce_failure``).
- ``dev`` (the default otherwise): quicker, for the edit-test loop.
- ``long``: a local soak, ten times the examples of ``ci`` and longer programs.

A test whose programs are expensive takes a share of the loaded profile's
``max_examples`` (``settings.default.max_examples * share``), so every profile keeps
the same proportions between cheap and expensive machines.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile(
    "ci",
    max_examples=100,
    stateful_step_count=40,
    derandomize=False,
    print_blob=True,
    database=None,
    **_COMMON,
)
settings.register_profile(
    "dev",
    max_examples=30,
    stateful_step_count=30,
    print_blob=True,
    **_COMMON,
)
settings.register_profile(
    "long",
    max_examples=1000,
    stateful_step_count=80,
    print_blob=True,
    **_COMMON,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)
