"""Every test under tests/ runs within a bound (`bound` marker, default DEFAULT_BOUND_S).

A test that waits on something that never comes must fail with a name and a reason, not hold the
whole suite until CI's own limit ends the run and takes the summary with it. The bound is a
SIGALRM raised in the test's (main) thread: the test fails with BoundExceeded, its fixtures tear
down as after any failure (the processes it started are stopped), and the session goes on.
Sleeps and socket waits are interrupted; a call blocked inside a C library returns first.
"""
from __future__ import annotations

import signal

import pytest

DEFAULT_BOUND_S = 900.0


class BoundExceeded(Exception):
    pass


def pytest_configure(config):
    config.addinivalue_line("markers", "bound(seconds): fail the test when its call runs longer than this")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("bound")
    bound = float(marker.args[0]) if marker else DEFAULT_BOUND_S

    def expired(signum, frame):
        raise BoundExceeded(f"{item.nodeid} ran longer than its bound of {bound:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, bound)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
