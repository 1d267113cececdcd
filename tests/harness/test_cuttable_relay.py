"""The test relay (metersync_harness.CuttableRelay) on its own, with no stack: what the outage tests
and the fault suite rely on it for."""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from metersync_harness import CuttableRelay  # noqa: E402


@pytest.fixture
def server():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(5)
    yield listener
    listener.close()


@pytest.fixture
def relay(server):
    r = CuttableRelay(server.getsockname()[1])
    yield r
    r.close()


def _through(relay: CuttableRelay, server: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    upstream, _ = server.accept()
    upstream.settimeout(5)
    client.sendall(b"ping")
    assert upstream.recv(16) == b"ping"
    return client, upstream


def test_a_client_that_goes_away_ends_its_server_session(server, relay):
    # A SIGKILLed client's kernel closes its socket: the server must see its session end (a
    # PostgreSQL session left open would keep the writer lock of a process that is gone).
    client, upstream = _through(relay, server)
    client.close()
    assert upstream.recv(16) == b"", "the server side stayed open after the client closed"
    upstream.close()


def test_an_idle_connection_stays_open(server, relay):
    client, upstream = _through(relay, server)
    client.settimeout(6.5)
    with pytest.raises(socket.timeout):  # nothing arrives, and nothing closes, for 6.5 s
        client.recv(16)
    upstream.sendall(b"pong")
    assert client.recv(16) == b"pong"
    client.close()
    upstream.close()


def test_cut_drops_open_connections_and_refuses_new_ones_until_restore(server, relay):
    client, upstream = _through(relay, server)
    relay.cut()
    client.settimeout(5)
    assert client.recv(16) == b""
    refused = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    refused.settimeout(5)
    assert refused.recv(16) == b""
    relay.restore()
    again, upstream2 = _through(relay, server)
    for s in (client, upstream, refused, again, upstream2):
        s.close()
