"""The pages against the real stack, in Debian's Chromium driven by Playwright (as
test_endpoint_pages.py, which feeds its endpoint service by hand):

- a change made in PostgreSQL travels Debezium → Kafka → metersync → the endpoint service and
  appears on that source's page, its changed column marked;
- metersync's operations page (GET / on http.listen) shows each destination in the state /readyz
  gives it, a poison record's dead letters in the browse view with their stage and original
  topic/partition/offset, and replays the endpoint dead letters only with http.replay_token;
  without the token configured the button is off and the page says why;
- with the sink database cut off (its connection goes through a relay the test cuts), the page
  shows that source's Meter Master pipeline stalled, as /readyz does, and running again once the
  sink is back.

One endpoint service (both routes) and one metersync for the module: each metersync reads the
topics from their beginning, which is the slow part. Screenshots:
`UPDATE_SCREENSHOTS=1 .local/venv/bin/python -m pytest tests/integration/test_operations_page.py`
writes docs/pages/operations*.png (docs/operating.md#the-operations-page).
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid

import pytest
import requests

import loadgen
from metersync_harness import CuttableRelay, MeterSync, Names, drop_sink_tables, sink_connect, wait_until
from test_dispatch_endpoint import INGEST_TOKEN, READ_TOKEN, SECRET, EndpointService, _delete_groups
from test_endpoint_pages import Watched, browser, shoot  # noqa: F401 (browser: a fixture)
from test_metersync_poison import PG_TOPIC, _produce

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

REPLAY_TOKEN = "it-replay-token"
# Catching up with the topics' history on a shared 2-core machine, and a change's trip through
# Debezium and metersync: bounds, not measurements (those are printed).
CATCH_UP_S = 600
TRIP_S = 120


@pytest.fixture(scope="module")
def rig(stack, tmp_path_factory):
    directory = tmp_path_factory.mktemp("operations")
    endpoint = EndpointService(directory, "pages")
    endpoint.start()
    names = Names.fresh()
    env = {**stack, "ENDPOINT_URL": endpoint.url, "METERSYNC_ENDPOINT_SECRET": SECRET,
           "METERSYNC_ENDPOINT_AUTH": f"Bearer {INGEST_TOKEN}", "METERSYNC_REPLAY_TOKEN": REPLAY_TOKEN,
           "METERSYNC_STALL_AFTER_MS": "5000"}
    ms = MeterSync(env, names, directory)
    # The sink's connection goes through a relay, so a test can take the sink away.
    relay = CuttableRelay(int(stack["PG_PORT"]))
    ms.env["SINK_ODBC"] = re.sub(r"(?i)\bPort=\d+", f"Port={relay.port}", ms.env["SINK_ODBC"])
    ms.relay = relay
    sink = sink_connect(stack)
    ms.start()
    try:
        # Caught up: every destination ready and the topics' history delivered (ready alone is
        # not enough: a change made while the history still streams in would be pushed off the
        # page's first screen by older changes arriving after it).
        wait_until(lambda: _ready(ms) and _caught_up(ms, names), CATCH_UP_S,
                   "metersync ready and caught up with the topics", interval=2)
        yield endpoint, ms
    finally:
        ms.close()
        relay.close()
        endpoint.close()
        drop_sink_tables(sink, names)
        sink.close()
        _delete_groups(stack, names)


def _caught_up(ms: MeterSync, names: Names) -> bool:
    """Both destinations of both sources at the topics' ends: Meter Master by the status file,
    the endpoints by their groups' committed offsets."""
    from confluent_kafka import Consumer, TopicPartition
    status = ms.status()
    if not status or any(s["lag"] != 0 for s in status["sources"].values()):
        return False
    for source, topic in (("postgres", ms.env["PG_TOPIC"]), ("mysql", ms.env["MARIADB_TOPIC"])):
        reader = Consumer({"bootstrap.servers": ms.env["KAFKA_BOOTSTRAP"], "enable.auto.commit": False,
                           "group.id": f"{names.group(source)}-endpoint"})
        try:
            partitions = [TopicPartition(topic, p) for p in reader.list_topics(topic, timeout=10).topics[topic].partitions]
            for tp in reader.committed(partitions, timeout=10):
                if tp.offset < reader.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]:
                    return False
        finally:
            reader.close()
    return True


def _ready(ms: MeterSync) -> bool:
    if not ms.running():
        raise AssertionError(f"metersync exited; log:\n{ms.log_tail()}")
    status, _ = ms.get("/readyz")
    return status == 200


def test_a_postgres_change_reaches_its_page_through_the_whole_pipeline(rig, browser, pg_conn):
    endpoint, _ = rig
    w = Watched(browser, endpoint.url)
    w.sign_in(READ_TOKEN)
    w.problems.clear()  # Chromium logs the sign-in page's own 401 as a failed load
    w.page.goto("/sources/postgres")
    expect(w.page.locator("#live")).to_have_text("live")

    meter_id = str(uuid.uuid4())
    started = time.monotonic()
    pg_conn.execute("INSERT INTO public.meter (meter_id, serial_number, kind, multiplier) VALUES (%s, %s, 'gas', 1.5)",
                    (meter_id, f"IT-PAGE-{meter_id[:8]}"))
    row = w.page.locator(f"tbody tr.change[data-meter='{meter_id}']")
    expect(row).to_have_count(1, timeout=TRIP_S * 1000)
    print(f"\nan insert in PostgreSQL appeared on the postgres page {time.monotonic() - started:.1f} s after its commit")
    expect(row).to_have_attribute("data-op", "create")

    started = time.monotonic()
    pg_conn.execute("UPDATE public.meter SET serial_number = %s WHERE meter_id = %s", (f"IT-PAGE-NEW-{meter_id[:8]}", meter_id))
    update = w.page.locator(f"tbody tr.change[data-meter='{meter_id}'][data-op=update]")
    expect(update).to_have_count(1, timeout=TRIP_S * 1000)
    print(f"an update in PostgreSQL appeared {time.monotonic() - started:.1f} s after its commit")
    expect(update.locator(".col.changed[data-column=serialNumber] .value")).to_have_text(f"IT-PAGE-NEW-{meter_id[:8]}")
    assert w.page.locator("tbody tr.change").first.get_attribute("data-meter") == meter_id, "newest first"

    # The time range: the two changes were received in the last hour and not before it.
    hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 3600))
    w.page.fill("input[name=meter_id]", meter_id)
    w.page.fill("input[name=from]", hour_ago)
    w.page.click("form.toolbar button[type=submit]")
    expect(w.page.locator("tbody tr.change")).to_have_count(2)
    w.page.fill("input[name=from]", "")
    w.page.fill("input[name=to]", hour_ago)
    w.page.click("form.toolbar button[type=submit]")
    expect(w.page.locator("tbody tr.change")).to_have_count(0)
    assert w.problems == [], w.problems
    w.context.close()


def _readyz_states(ms: MeterSync) -> dict[tuple[str, str], str]:
    _, body = ms.get("/readyz")
    return {(d["source"], d["destination"]): d["state"] for d in json.loads(body)["destinations"]}


def _page_states(page) -> dict[tuple[str, str], str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.card[data-source] .destination')]
        .map((d) => [d.closest('.card').dataset.source + '|' + d.dataset.destination, d.dataset.state]))""")


def test_the_operations_page_shows_readiness_dead_letters_and_replays_with_the_token(rig, browser, mariadb_conn):
    endpoint, ms = rig
    base = f"http://127.0.0.1:{ms.http_port}"
    w = Watched(browser, base)
    w.page.goto("/")
    expect(w.page.locator(".card[data-source=postgres] .destination")).to_have_count(2)

    # The state of each destination is /readyz's own, name for name.
    last = {}

    def same_as_readyz():
        readyz = _readyz_states(ms)
        shown = {tuple(k.split("|")): v for k, v in _page_states(w.page).items()}
        last.update(readyz=readyz, shown=shown)
        return readyz and shown == readyz
    wait_until(same_as_readyz, 30, "the page's states to be /readyz's", interval=0.5)
    assert set(last["shown"].values()) == {"running"}, last
    for kind in ("throughput", "lag"):
        expect(w.page.locator(f".destination[data-destination=endpoint] figure[data-chart={kind}]")).to_have_count(2)

    # A poison record: both destinations of postgres dead-letter it (stage decode), and the browse
    # view names where it came from.
    partition, offset = _produce(ms.env["KAFKA_BOOTSTRAP"], PG_TOPIC, b'{"poison": true}',
                                 b'{"payload": not JSON ' + uuid.uuid4().hex.encode())
    for destination in ("meter_master", "endpoint"):
        letter = w.page.locator(f"tr.dead-letter[data-source=postgres][data-destination={destination}]"
                                f"[data-stage=decode][data-topic='{PG_TOPIC}'][data-partition='{partition}']"
                                f"[data-offset='{offset}']")
        expect(letter).to_have_count(1, timeout=TRIP_S * 1000)
        expect(letter.locator("td.original")).to_have_text(f"{PG_TOPIC} / {partition} / {offset}")
    expect(w.page.locator(".card[data-source=postgres] .destination[data-destination=endpoint] dd.dead-letters")) \
        .not_to_have_text("0")

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        # Charts worth looking at: two minutes of load, with a burst, before the picture (taken below).
        for rate, seconds in ((20, 60), (0, 0), (20, 60)):
            loadgen.run_many(["postgres", "mariadb"], ms.env, rate=rate, count=rate * seconds or 3000,
                             seed=uuid.uuid4().int % (1 << 30))
        w.page.wait_for_timeout(6000)

    # An endpoint dead letter: the mysql route refuses (400), a MariaDB change is dead-lettered.
    endpoint.fault("mysql", "status:400")
    with mariadb_conn.cursor() as cur:
        cur.execute("INSERT INTO meters (serial, type, multiplier) VALUES (%s, 'water', 2.0)",
                    (f"IT-REPLAY-{uuid.uuid4().hex[:8]}",))
        refused_id = str(cur.lastrowid)
    refused = w.page.locator("tr.dead-letter[data-source=mysql][data-stage=endpoint]").first
    expect(refused).to_be_visible(timeout=TRIP_S * 1000)
    expect(refused.locator("td.reason")).to_contain_text("HTTP 400")
    shoot(w.page, "operations")
    w.page.locator("table.dead-letters").scroll_into_view_if_needed()
    shoot(w.page, "operations-dead-letters")
    w.page.evaluate("window.scrollTo(0, 0)")

    # Replay: refused with a wrong token (nothing posted), done with the right one.
    endpoint.fault("mysql", None)
    button = w.page.locator("button.replay[data-source=mysql]")
    expect(button).to_be_enabled()
    w.page.fill("input[name=replay_token]", "not-the-token")
    button.click()
    expect(w.page.locator("#replay-message")).to_contain_text("refused (HTTP 401): wrong replay token")
    assert endpoint.session.get(f"{endpoint.url}/v1/sources/mysql/meters/{refused_id}", timeout=10).status_code == 404
    assert REPLAY_TOKEN not in w.page.url
    w.page.fill("input[name=replay_token]", REPLAY_TOKEN)
    button.click()
    expect(w.page.locator("#replay-message")).to_have_text("replay of mysql started")
    status = w.page.locator(".replay-status[data-source=mysql]")
    expect(status).to_have_attribute("data-state", "finished", timeout=TRIP_S * 1000)
    expect(status).to_contain_text("done at")
    wait_until(lambda: endpoint.session.get(f"{endpoint.url}/v1/sources/mysql/meters/{refused_id}",
                                            timeout=10).status_code == 200,
               30, "the replayed change at the mysql endpoint", interval=0.5)
    # The page itself asked for nothing it was refused, and ran no script it did not ship.
    assert [p for p in w.problems if "401" not in p] == [], w.problems
    w.context.close()


def test_the_operations_page_shows_a_pipeline_stalled_while_its_sink_is_away_and_running_after(rig, browser):
    _, ms = rig
    w = Watched(browser, f"http://127.0.0.1:{ms.http_port}")
    w.page.goto("/")
    states = {}

    def shown(want) -> bool:
        states.update(page={tuple(k.split("|")): v for k, v in _page_states(w.page).items()}, readyz=_readyz_states(ms))
        return want(states["page"]) and states["page"] == states["readyz"]

    all_running = lambda page: bool(page) and set(page.values()) == {"running"}  # noqa: E731
    wait_until(lambda: shown(all_running), 60, "every destination running on the page", interval=0.5)

    ms.relay.cut()
    try:
        # Work waiting for the sink: Meter Master cannot commit it, and after http.stall_after_ms
        # (5 s here) the pipeline is stalled. The endpoints do not wait for the sink.
        loadgen.run_many(["postgres", "mariadb"], ms.env, rate=20, count=60, seed=uuid.uuid4().int % (1 << 30))
        stalled = lambda page: any(page.get((s, "meter_master")) == "stalled" for s in ("postgres", "mysql"))  # noqa: E731
        wait_until(lambda: shown(stalled), 60, "a Meter Master pipeline stalled on the page", interval=0.5)
        for source in ("postgres", "mysql"):
            assert states["page"][(source, "endpoint")] == "running", states
        card = w.page.locator(".card[data-source] .destination[data-destination=meter_master][data-state=stalled]").first
        expect(card).to_be_visible()
    finally:
        ms.relay.restore()
    wait_until(lambda: shown(all_running), 120, "every destination running again on the page", interval=0.5)
    assert w.problems == [], w.problems
    w.context.close()


def test_without_a_replay_token_the_button_is_off_and_the_page_says_why(stack, browser, tmp_path):
    names = Names.fresh()
    # Only its page is looked at: its endpoints point at a port nothing listens on.
    env = {**stack, "ENDPOINT_URL": "http://127.0.0.1:9", "METERSYNC_REPLAY_TOKEN": ""}
    ms = MeterSync(env, names, tmp_path)
    sink = sink_connect(stack)
    ms.start("--source", "mysql")
    try:
        wait_until(lambda: ms.get("/v1/operations")[0] == 200, 60, "the operations page", interval=0.5)
        w = Watched(browser, f"http://127.0.0.1:{ms.http_port}")
        w.page.goto("/")
        expect(w.page.locator("#replay-off")).to_contain_text("http.replay_token is not set")
        expect(w.page.locator("button.replay[data-source=mysql]")).to_be_disabled()
        expect(w.page.locator("input[name=replay_token]")).to_be_disabled()
        res = requests.post(f"http://127.0.0.1:{ms.http_port}/v1/replay", json={"source": "mysql", "token": ""},
                            timeout=10)
        assert res.status_code == 403 and "http.replay_token is not set" in res.json()["error"], res.text
        assert w.problems == [], w.problems
        w.context.close()
    finally:
        ms.close()
        drop_sink_tables(sink, names)
        sink.close()
        _delete_groups(stack, names)
