"""Standard Webhooks interoperability, judged by the specification's reference library for Python
(PyPI `standardwebhooks`), not by project code.

- A receiver written only with that library verifies every post metersync's dispatcher sends under
  load, and the library refuses those real requests once their body, timestamp or signature is
  altered, or when one is replayed after the tolerance.
- The endpoint service accepts posts the library signs, refuses forgeries with 401 and the reason,
  answers an exact replay within the tolerance idempotently (nothing stored twice), and refuses a
  batch id it accepted before when it comes with another body (409).

The second part needs only the endpoint binary; the first runs metersync against the real stack.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError
import standardwebhooks.webhooks as library

from metersync_harness import MeterSync, Names, drop_sink_tables, sink_connect, wait_until
from test_dispatch_endpoint import (CATCH_UP_S, INGEST_TOKEN, OPERATIONS, TOPICS, EndpointService,
                                    TopicRecorder, _delete_groups, delivery_problems, load)

# Secrets as Standard Webhooks writes them: whsec_ and the base64 key.
SECRET = "whsec_" + base64.b64encode(b"metersync-interop-key-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"metersync-retired-key-9876543210").decode()


class LibraryReceiver:
    """An endpoint written with the library alone: verifies each post, keeps what it accepted
    (headers, body, events by id in arrival order) and what it refused, answers 200 or 401."""

    def __init__(self, secret: str):
        self.webhook = Webhook(secret)
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.refused: list[str] = []
        self.events: dict[str, dict] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                try:
                    batch = receiver.webhook.verify(body, headers)
                except WebhookVerificationError as e:
                    with receiver.lock:
                        receiver.refused.append(str(e))
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.accepted.append((headers, body))
                    for event in batch["events"]:
                        receiver.events.setdefault(event["id"], event)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def history(self, source: str) -> list[dict]:
        """delivery_problems() reads a receiver like the endpoint service."""
        with self.lock:
            return [e for e in self.events.values() if e["meter"] is None or e["meter"]["sourceSystem"] == source]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _later_clock(seconds: int):
    """The library's clock, `seconds` later: a request replayed that long after it was sent."""
    real = library.datetime

    class Later(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + timedelta(seconds=seconds)

    return Later


@pytest.fixture
def library_rig(stack, tmp_path):
    """metersync signing with SECRET (current) and OLD_SECRET (previous, a rotation in progress):
    postgres posts go to the library's receiver, which knows only OLD_SECRET, mysql posts to the
    endpoint service, which knows only SECRET."""
    receiver = LibraryReceiver(OLD_SECRET)
    service = EndpointService(tmp_path, "mysql", secret=SECRET)
    service.start()
    names = Names.fresh()
    env = {**stack, "METERSYNC_ENDPOINT_SECRET": SECRET, "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}"}
    ms = MeterSync(env, names, tmp_path)
    text = ms.config.read_text()
    for source, url in (("postgres", receiver.url), ("mysql", service.url)):
        text, n = re.subn(r"\$\{ENDPOINT_URL:-[^}]*\}(/v1/sources/" + source + "/changes)", url + r"\1", text)
        assert n == 1, "config/metersync.yaml changed shape (endpoint url)"
    text, n = re.subn(r"^(\s+)(signing_secret:.*)$",
                      r"\1\2\n\1signing_secret_previous: " + OLD_SECRET + r"\n\1linger_ms: 20"
                      r"\n\1retry_initial_ms: 100\n\1retry_max_ms: 2000\n\1max_attempts: 1000",
                      text, flags=re.MULTILINE)
    assert n >= 2, "config/metersync.yaml changed shape (signing_secret)"
    ms.config.write_text(text)
    sink = sink_connect(stack)
    recorders = {s: TopicRecorder(stack, s) for s in TOPICS}
    OPERATIONS.clear()
    yield receiver, service, ms, recorders
    for r in recorders.values():
        r.close()
    ms.close()
    receiver.close()
    service.close()
    drop_sink_tables(sink, names)
    sink.close()
    _delete_groups(stack, names)


def test_a_receiver_built_on_the_library_verifies_every_post(stack, library_rig):
    receiver, service, ms, recorders = library_rig
    ms.start()
    keys = load(stack, 80, seed=61)
    problems: list[list[str]] = [[]]

    def delivered(source, endpoint):
        if not ms.running():
            raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
        problems[0] = delivery_problems(source, endpoint, recorders[source].of(keys[source]))
        return len(recorders[source].of(keys[source])) >= 80 and not problems[0]

    for source, endpoint in (("postgres", receiver), ("mysql", service)):
        try:
            wait_until(lambda: delivered(source, endpoint), CATCH_UP_S, f"every {source} change verified")
        except AssertionError as e:
            raise AssertionError(f"{e}\n" + "\n".join(problems[0][:20]) + f"\n{ms.log_tail()}") from None
    assert ms.stop() == 0

    assert receiver.refused == [], receiver.refused[:5]
    assert receiver.accepted
    for headers, body in receiver.accepted:
        h = {k.lower(): v for k, v in headers.items()}
        batch_id = json.loads(body)["batch_id"]
        # webhook-id is the batch id and the Idempotency-Key; one v1 entry per secret in force.
        assert h["webhook-id"] == batch_id == h["idempotency-key"]
        entries = h["webhook-signature"].split(" ")
        assert len(entries) == 2 and all(e.startswith("v1,") for e in entries), entries
        # signature_scheme's default, both: the contract's header too, under signing_secret's key.
        key = base64.b64decode(SECRET[len("whsec_"):])
        assert h["x-metersync-signature"] == "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    # The same real requests, altered, fail the library's check.
    headers, body = receiver.accepted[-1]
    verifier = Webhook(OLD_SECRET)
    verifier.verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace(b'"events":[', b'"events":[ ', 1), headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)})
    signature = headers["webhook-signature"]
    flipped = signature[:-3] + ("A" if signature[-3] != "A" else "B") + signature[-2:]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, {**headers, "webhook-signature": flipped})
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(b"some-other-key").decode()).verify(body, headers)
    # Replayed after the tolerance: the library's clock five minutes and a bit later.
    real = library.datetime
    library.datetime = _later_clock(301)
    try:
        with pytest.raises(WebhookVerificationError, match="too old"):
            verifier.verify(body, headers)
    finally:
        library.datetime = real


# ---------------------------------------------------------------------------------------------
# The endpoint service against posts the library signs (no stack needed)

def _batch(batch_id: str, *event_ids: str) -> bytes:
    events = [{"id": f"postgres:{i}:m-{i}", "op": "update", "committed_at": "2026-11-24T19:43:00.123Z",
               "position": f"0000000{n}", "meter": {"sourceSystem": "postgres", "sourceMeterId": f"m-{i}"},
               "before": None, "after": {"multiplier": "1.0000"}} for n, i in enumerate(event_ids)]
    return json.dumps({"source": "postgres", "batch_id": batch_id, "events": events}).encode()


def _signed(body: bytes, secret: str = SECRET, seconds_ago: int = 0, msg_id: str | None = None) -> dict:
    when = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    msg_id = msg_id or json.loads(body)["batch_id"]
    return {"Content-Type": "application/json", "Authorization": f"Bearer {INGEST_TOKEN}",
            "webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body)}


@pytest.fixture
def service(tmp_path):
    endpoint = EndpointService(tmp_path, "library", secret=SECRET,
                               args=("--timestamp-tolerance", "300"))
    endpoint.start()
    yield endpoint
    endpoint.close()


def _post(endpoint: EndpointService, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{endpoint.url}/v1/sources/postgres/changes", data=body, headers=headers, timeout=10)


def test_the_endpoint_service_accepts_library_signed_posts_and_refuses_forgeries(service):
    body = _batch("postgres-0-10-11", "a", "b")
    first = _signed(body)
    r = _post(service, body, first)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2

    def refused(status: int, body: bytes, headers: dict, reason: str) -> None:
        r = _post(service, body, headers)
        assert r.status_code == status, r.text
        assert reason in r.json()["error"], r.json()

    other = _batch("postgres-0-12-12", "c")
    refused(401, other.replace(b"1.0000", b"9.0000"), _signed(other), "no entry matches")
    refused(401, other, _signed(other, seconds_ago=301), "s old; the tolerance is 300 s")
    refused(401, other, _signed(other, seconds_ago=-301), "in the future")
    refused(401, other, _signed(other, secret=OLD_SECRET), "no entry matches")
    refused(401, other, {k: v for k, v in _signed(other).items() if k != "webhook-signature"},
            "missing webhook-signature")
    refused(401, other, {**_signed(other), "webhook-signature": "v1,not*base64"}, "no v1,<base64")
    refused(400, other, _signed(other, msg_id="postgres-0-99-99"), "differs from batch_id")
    assert service.total("postgres") == 2

    # An exact replay within the tolerance is answered as the first time was: nothing stored twice.
    r = _post(service, body, first)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 0 and r.json()["duplicates"] == 2 and r.json()["batch_seen_before"]
    # The same request replayed after the tolerance is refused.
    refused(401, body, _signed(body, seconds_ago=400), "s old")
    # The accepted batch id with another body, even validly signed, is refused.
    refused(409, _batch("postgres-0-10-11", "a", "forged"), _signed(_batch("postgres-0-10-11", "a", "forged")),
            "accepted before with another body")
    assert service.total("postgres") == 2


def test_rotation_and_the_legacy_switch(tmp_path):
    rotating = EndpointService(tmp_path, "rotating", secret=SECRET,
                               args=("--secret-previous", OLD_SECRET))
    legacy = EndpointService(tmp_path, "legacy", secret="plain-legacy-secret",
                             args=("--signature-scheme", "legacy"))
    try:
        rotating.start()
        legacy.start()
        for n, secret in enumerate((SECRET, OLD_SECRET)):
            body = _batch(f"postgres-0-{n}-{n}", f"r{n}")
            assert _post(rotating, body, _signed(body, secret=secret)).status_code == 200
        body = _batch("postgres-0-5-5", "l")
        import hashlib
        import hmac
        legacy_header = "sha256=" + hmac.new(b"plain-legacy-secret", body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INGEST_TOKEN}",
                   "X-MeterSync-Signature": legacy_header}
        assert _post(legacy, body, headers).status_code == 200
        r = _post(legacy, body, _signed(body, secret="whsec_" + base64.b64encode(b"plain-legacy-secret").decode()))
        assert r.status_code == 401 and "X-MeterSync-Signature" in r.json()["error"]
    finally:
        rotating.close()
        legacy.close()
