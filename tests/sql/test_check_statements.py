"""The source-prerequisite statements of `metersync check` (src/check/source_prerequisites.cpp),
parsed by sqlglot: T-SQL for SQL Server and Oracle SQL for Oracle, which cannot run here;
PostgreSQL and MariaDB ones, which ran against the stack (tests/integration/test_check.py), too.
Syntax only: none of the SQL Server or Oracle statements ran against those servers."""
import glob
import json
import os
import subprocess

import pytest
import sqlglot
from sqlglot import exp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READ = {"postgres": "postgres", "mariadb": "mysql", "sqlserver": "tsql", "oracle": "oracle"}


def dump():
    path = os.path.join(ROOT, "build", "src", "check", "metersync_check_sql_dump")
    if not os.path.exists(path):
        found = sorted(glob.glob(os.path.join(ROOT, "build*", "src", "check", "metersync_check_sql_dump")),
                       key=os.path.getmtime, reverse=True)
        if not found:
            pytest.fail("metersync_check_sql_dump not built: build the project (cmake --build build)")
        path = found[0]
    out = subprocess.run([path], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


STATEMENTS = dump()


def test_every_connector_has_its_checks():
    assert {s["connector"] for s in STATEMENTS} == set(READ)


@pytest.mark.parametrize("statement", [s for s in STATEMENTS if s["sql"] != "SHOW GRANTS"],
                         ids=lambda s: f'{s["connector"]}-{s["what"]}')
def test_parses_in_its_dialect(statement):
    parsed = sqlglot.parse(statement["sql"], read=READ[statement["connector"]])
    assert len(parsed) == 1
    assert not isinstance(parsed[0], exp.Command), "parsed as an opaque command"
    assert isinstance(parsed[0], exp.Select)
    # Every bound value is a `?` the statement declares.
    assert statement["sql"].count("?") == statement["params"]
