"""The Meter Master statements of `metersync verify` (src/verify/meter_master_sql.cpp) and its
source-table statements (src/verify/odbc_sides.cpp), parsed by sqlglot in each dialect: T-SQL for SQL Server, whose statements cannot run here; the
PostgreSQL and MariaDB ones also run against real servers (verify_real_servers in ctest) and the
stack (tests/integration/test_verify.py). Syntax only for SQL Server."""
import glob
import json
import os
import subprocess

import pytest
import sqlglot
from sqlglot import exp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READ = {"postgres": "postgres", "mariadb": "mysql", "sqlserver": "tsql"}


def dump():
    path = os.path.join(ROOT, "build", "src", "verify", "metersync_verify_sql_dump")
    if not os.path.exists(path):
        found = sorted(glob.glob(os.path.join(ROOT, "build*", "src", "verify", "metersync_verify_sql_dump")),
                       key=os.path.getmtime, reverse=True)
        if not found:
            pytest.fail("metersync_verify_sql_dump not built: build the project (cmake --build build)")
        path = found[0]
    out = subprocess.run([path], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


STATEMENTS = dump()


def test_every_dialect_has_its_statements():
    assert {s["dialect"] for s in STATEMENTS} == set(READ)
    for dialect in READ:
        assert {s["what"] for s in STATEMENTS if s["dialect"] == dialect} == {
            "live rows", "bucket digests", "bucket rows", "source boundaries", "source range", "source lookup"}


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: f'{s["dialect"]}-{s["what"]}')
def test_parses_in_its_dialect(statement):
    parsed = sqlglot.parse(statement["sql"], read=READ[statement["dialect"]])
    assert len(parsed) == 1
    assert not isinstance(parsed[0], exp.Command), "parsed as an opaque command"
    assert isinstance(parsed[0], exp.Select)
    assert statement["sql"].count("?") == statement["params"]


@pytest.mark.parametrize("statement", [s for s in STATEMENTS if s["dialect"] == "sqlserver"],
                         ids=lambda s: s["what"])
def test_sqlserver_functions_are_tsql(statement):
    """The T-SQL spellings the digest depends on survive the parse as functions, not as names."""
    tree = sqlglot.parse_one(statement["sql"], read="tsql")
    if statement["what"] == "bucket digests":
        names = {f.sql(dialect="tsql").split("(")[0].upper() for f in tree.find_all(exp.Func)}
        assert "HASHBYTES" in " ".join(names) or "MD5" in " ".join(names), names
        assert "SUM" in names
    assert "LIMIT" not in statement["sql"]
