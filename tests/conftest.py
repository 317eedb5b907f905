"""Hypothesis profiles for the property-based tests.

Pick one with the environment variable ``HYPOTHESIS_PROFILE``:

- ``ci`` (the default when ``CI`` is set): thousands of stateful steps per run, the
  whole suite within a few minutes on two cores; no example database, so a clean
  checkout needs no ``.hypothesis/`` directory, and a failure prints its reproduction
  blob (``@reproduce_failure``).
- ``dev`` (the default otherwise): quicker, for the edit-test loop.
- ``long``: a local soak, ten times the examples of ``ci`` and longer programs.

A test whose programs are expensive takes a share of the loaded profile's
``max_examples`` (``settings().max_examples * share``), so every profile keeps
the same proportions between cheap and expensive machines.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Shared by every profile: no deadline (CI machines are slow and uneven), and the
# stateful tests' data-dependent draws are allowed to be slow or large.
_BASE = settings(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

settings.register_profile(
    "ci",
    parent=_BASE,
    max_examples=100,
    stateful_step_count=40,
    derandomize=False,
    database=None,
)
settings.register_profile("dev", parent=_BASE, max_examples=30, stateful_step_count=30)
settings.register_profile("long", parent=_BASE, max_examples=1000, stateful_step_count=80)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)
