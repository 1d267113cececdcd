"""tests/faults: the fault suite against the real stack (tests/faults/faultsuite.py, docs/reliability.md).

The `stack` fixture is tests/integration's (it starts the stack when down and stops it again only
if it started it); every test here is marked `integration` as well.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for _p in (HERE, REPO / "cdcstack", REPO / "tests" / "integration"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

_spec = importlib.util.spec_from_file_location("integration_conftest_for_faults",
                                               REPO / "tests" / "integration" / "conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
stack = _integration.stack  # the same session fixture, registered for this directory too


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs the real local stack (./stack up)")


def pytest_collection_modifyitems(config, items):
    """Marks the suite `integration` and moves it to the end of the session: its load adds tens of
    thousands of changes to the shared topics, which every later test's fresh consumer group would
    read again from the beginning."""
    mine = [item for item in items if HERE in Path(str(item.fspath)).resolve().parents]
    for item in mine:
        item.add_marker(pytest.mark.integration)
    items[:] = [item for item in items if item not in mine] + mine


def pytest_terminal_summary(terminalreporter):
    import faultsuite
    if faultsuite.LAST.get("results"):
        terminalreporter.section(f"fault suite ({faultsuite.LAST['profile']['name']})")
        terminalreporter.write_line(faultsuite.table(faultsuite.LAST["results"]))
