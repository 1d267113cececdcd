"""The Kafka Connect worker (distributed mode, one worker) and its REST API."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from .kafka import java_argv
from .process import spawn
from .settings import HOST, PLUGINS, STATE


def connect_properties(ports: dict) -> str:
    return "\n".join([
        f"bootstrap.servers={HOST}:{ports['kafka']}",
        "group.id=metersync-connect",
        "key.converter=org.apache.kafka.connect.json.JsonConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable=true",
        "value.converter.schemas.enable=true",
        "config.storage.topic=connect-configs",
        "config.storage.replication.factor=1",
        "offset.storage.topic=connect-offsets",
        "offset.storage.replication.factor=1",
        "offset.storage.partitions=5",
        "status.storage.topic=connect-status",
        "status.storage.replication.factor=1",
        "status.storage.partitions=5",
        # Source offsets reach Kafka within 5 s, so a restart replays little. The interval bounds
        # duplicates, not loss: Connect stores a source offset only once every record up to it is
        # acknowledged by the broker, and the PostgreSQL connector confirms its slot position from
        # those stored offsets; so a crash at any moment resumes at or before the first change not
        # yet on Kafka (tests/integration/test_stack_restart.py checks this against the binlog and WAL).
        "offset.flush.interval.ms=5000",
        f"listeners=http://{HOST}:{ports['connect']}",
        f"rest.advertised.host.name={HOST}",
        f"rest.advertised.port={ports['connect']}",
        f"plugin.path={PLUGINS}",
        # Every Debezium plugin ships ServiceLoader manifests: 3 s to start instead of 15 s of scanning.
        "plugin.discovery=service_load",
        "topic.creation.enable=true",
        # One worker: after its restart, reassign at once instead of waiting for it to come back.
        "scheduled.rebalance.max.delay.ms=0",
        "task.shutdown.graceful.timeout.ms=10000",
        "",
    ])


def connect_start(ports: dict) -> None:
    d = STATE / "connect"
    d.mkdir(parents=True, exist_ok=True)
    props = d / "worker.properties"
    props.write_text(connect_properties(ports))
    spawn("connect", java_argv("connect", "org.apache.kafka.connect.cli.ConnectDistributed", str(props)))


def http(method: str, url: str, body: dict | None = None, timeout: float = 10.0):
    """Returns (status, parsed JSON or text). Connection failures raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read().decode(errors="replace")
        status = e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def connect_url(ports: dict) -> str:
    return f"http://{HOST}:{ports['connect']}"


def connect_ready(ports: dict) -> bool:
    status, plugins = http("GET", connect_url(ports) + "/connector-plugins")
    if status != 200:
        return False
    classes = {p["class"] for p in plugins}
    return "io.debezium.connector.postgresql.PostgresConnector" in classes
