"""`metersync check` on the real stack: every line ok when all is well, and each broken part
named with its fix: a wrong sink password, a topic that does not exist, a paused connector,
MariaDB with binlog_format=STATEMENT, a PostgreSQL database without the publication, an
endpoint that refuses the credentials."""
from __future__ import annotations

import re
import subprocess

import pymysql
import pytest
import requests

from metersync_harness import REPO, Names, binary, wait_until, write_config
from test_dispatch_endpoint import INGEST_TOKEN, SECRET, EndpointService

CONNECTOR = "postgres-meter-source"


@pytest.fixture
def rig(stack, tmp_path):
    """One endpoint service for both sources and the shipped configuration pointed at it."""
    endpoint = EndpointService(tmp_path, "check")
    endpoint.start()
    config = write_config(Names.fresh(), tmp_path)
    env = {**stack, "ENDPOINT_URL": endpoint.url, "METERSYNC_ENDPOINT_SECRET": SECRET,
           "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}"}
    yield config, env
    endpoint.close()


def check(config, env, **overrides) -> tuple[int, list[str]]:
    result = subprocess.run([str(binary()), "--config", str(config), "check"], cwd=REPO,
                            env={**env, **overrides}, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout.splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_every_check_passes_on_the_healthy_stack(rig):
    config, env = rig
    code, lines = check(config, env)
    assert code == 0 and not failures(lines), "\n".join(lines)
    text = "\n".join(lines)
    for expected in ["ok    topic postgres.public.meter: ", "ok    topic mysql.meterdb.meters: ",
                     f"ok    connector {CONNECTOR}: RUNNING", "ok    connector mariadb-meter-source: RUNNING",
                     "ok    endpoint of postgres: ", "ok    endpoint of mysql: ",
                     "ok    source postgres wal_level", "ok    source postgres publication metersync_pub",
                     "ok    source mysql binlog_format", "ok    source mysql replication grants"]:
        assert expected in text, text
    assert lines[-1].startswith("all ") and lines[-1].endswith(" checks passed")


def test_a_wrong_sink_password(rig):
    config, env = rig
    code, lines = check(config, env, SINK_ODBC=re.sub(r"Pwd=[^;]*", "Pwd=wrong", env["SINK_ODBC"]))
    assert code == 1
    [sink] = [line for line in failures(lines) if line.startswith("FAIL  sink (postgres): ")]
    assert "password authentication failed" in sink and "fix: check sink.connection" in sink, sink


def test_a_topic_that_does_not_exist(rig):
    config, env = rig
    config.write_text(config.read_text().replace("topic: postgres.public.meter", "topic: postgres.public.nothing"))
    code, lines = check(config, env)
    assert code == 1
    fails = failures(lines)
    assert "FAIL  topic postgres.public.nothing: does not exist; fix: check sources.postgres.topic, " \
           "and that its connector has run (Debezium creates the topic with its first change)" in fails, fails
    # The source check reads the table from the topic too, and finds it unpublished.
    assert all("nothing" in f for f in fails), fails


def test_a_paused_connector(rig):
    config, env = rig
    url = env["CONNECT_URL"]

    def state():
        return requests.get(f"{url}/connectors/{CONNECTOR}/status", timeout=10).json()["connector"]["state"]
    requests.put(f"{url}/connectors/{CONNECTOR}/pause", timeout=10).raise_for_status()
    try:
        wait_until(lambda: state() == "PAUSED", 60, "the connector to pause", interval=0.5)
        code, lines = check(config, env)
        assert code == 1
        assert failures(lines) == [f"FAIL  connector {CONNECTOR}: is PAUSED; fix: curl -X PUT {url}/connectors/"
                                   f"{CONNECTOR}/resume"]
    finally:
        requests.put(f"{url}/connectors/{CONNECTOR}/resume", timeout=10).raise_for_status()
        wait_until(lambda: state() == "RUNNING", 60, "the connector to resume", interval=0.5)


def test_mariadb_with_statement_binlogs(rig):
    config, env = rig
    from stackctl.mariadb import mariadb_socket
    root = pymysql.connect(unix_socket=str(mariadb_socket()), user="root", password="", autocommit=True)
    try:
        root.cursor().execute("SET GLOBAL binlog_format = 'STATEMENT'")
        code, lines = check(config, env)
        assert code == 1
        assert failures(lines) == [
            "FAIL  source mysql binlog_format: binlog_format is STATEMENT, Debezium needs ROW; fix: SET GLOBAL "
            "binlog_format = 'ROW' and binlog_format=ROW in the server's configuration"]
    finally:
        root.cursor().execute("SET GLOBAL binlog_format = 'ROW'")
        root.close()


def test_a_postgres_database_without_the_publication(rig):
    config, env = rig
    # The sink's database: same server (wal_level and rights hold), no publication there.
    code, lines = check(config, env, PG_SOURCE_ODBC=env["PG_SOURCE_ODBC"].replace("Database=meterdb", "Database=metermaster"))
    assert code == 1
    fails = failures(lines)
    assert "FAIL  source postgres publication metersync_pub: no publication metersync_pub; fix: CREATE PUBLICATION " \
           "metersync_pub FOR TABLE public.meter (or let the connector create it: publication.autocreate.mode)" in fails, fails
    assert not [f for f in fails if "wal_level" in f or "replication right" in f], fails


def test_an_endpoint_that_refuses_the_credentials(rig):
    config, env = rig
    code, lines = check(config, env, METERSYNC_ENDPOINT_AUTH="Bearer wrong")
    assert code == 1
    fails = failures(lines)
    assert len(fails) == 2, fails
    for source in ("postgres", "mysql"):
        assert any(f.startswith(f"FAIL  endpoint of {source}: ") and "refused the credentials (HTTP 401)" in f
                   and f"fix: check sources.{source}.endpoint.auth_header" in f for f in fails), fails


def test_an_endpoint_that_refuses_the_signature_says_why(rig):
    """The endpoint check's empty batch is signed as every post (Standard Webhooks by default):
    a secret the endpoint does not know fails with the endpoint's reason."""
    config, env = rig
    code, lines = check(config, env, METERSYNC_ENDPOINT_SECRET="whsec_bm90LXRoZS1lbmRwb2ludHMta2V5")
    assert code == 1
    fails = failures(lines)
    assert len(fails) == 2, fails
    for source in ("postgres", "mysql"):
        assert any(f.startswith(f"FAIL  endpoint of {source}: ") and "refused the credentials (HTTP 401): " in f
                   and "webhook-signature: no entry matches" in f
                   and f"endpoint.auth_header, signing_secret and signature_scheme" in f for f in fails), fails
