"""The fault suite (faultsuite.py): the short version by default (./test runs it), the long one
with METERSYNC_FAULTS=long (`tests/faults/run --long`, `bench/run --parts faults`)."""
from __future__ import annotations

import pytest

import faultsuite


@pytest.mark.bound(faultsuite.profile_from_env().bound_s)
def test_faults_lose_nothing_and_keep_order(stack, tmp_path):
    profile = faultsuite.profile_from_env()
    results, exits = faultsuite.run_suite(stack, tmp_path, profile)
    assert [r["fault"] for r in results] == list(profile.faults)
    for r in results:
        assert r["changes"] > 0, f"{r['fault']}: no change reached the topics during the fault: {r}"
        assert r["rows_compared"] > 0
    problems = faultsuite.failures(results, exits)
    assert not problems, "\n".join(problems) + "\n" + faultsuite.table(results)
