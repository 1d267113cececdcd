"""The endpoint service's pages in a real browser: Debian's Chromium (/usr/bin/chromium, installed
by ./install) driven by Playwright for Python, never a browser Playwright downloads.

A metersync-endpoint of its own, fed by posts as the dispatcher sends them, so what each page
must show is known exactly. The assertions are what a person sees: counts, rows, highlighted
columns, the order of a meter's timeline, serial numbers shown as text.

Screenshots: `UPDATE_SCREENSHOTS=1 .local/venv/bin/python -m pytest tests/integration/test_endpoint_pages.py`
writes docs/pages/*.png (docs/endpoints.md#pages).
"""
import itertools
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

playwright_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("METERSYNC_CHROMIUM", "/usr/bin/chromium")
TOKEN = "pages-read-token"
SHOTS = REPO / "docs" / "pages"
# The bound for a change to appear on its source's page.
APPEAR_WITHIN_S = 2.0

_positions = itertools.count(1)


def endpoint_binary() -> Path:
    path = Path(os.environ.get("METERSYNC_ENDPOINT_BIN", REPO / "build" / "src" / "endpoint" / "metersync-endpoint"))
    if not path.exists():
        raise AssertionError(f"metersync-endpoint not found at {path}: build it or set METERSYNC_ENDPOINT_BIN")
    return path


@pytest.fixture
def service(tmp_path):
    log = (tmp_path / "endpoint.log").open("w")
    proc = subprocess.Popen([str(endpoint_binary()), "--port", "0", "--db", str(tmp_path / "endpoint.db")],
                            env={**os.environ, "METERSYNC_ENDPOINT_TOKEN": TOKEN}, stdout=subprocess.PIPE,
                            stderr=log, text=True)
    try:
        # spdlog writes to stdout too: read up to the port line, then keep the pipe drained.
        line = ""
        while not line.startswith("listening "):
            line = proc.stdout.readline()
            assert line, "metersync-endpoint exited before listening"
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: ./install installs Debian's chromium")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page whose console errors, uncaught exceptions and dialogs (an injected alert) are kept."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def sign_in(self, token: str = TOKEN):
        self.page.goto("/")
        self.page.fill("input[name=token]", token)
        self.page.click("form.login button")


def meter_row(meter_id: str, serial: str, status: str, deleted: bool = False, reading: str = "12.500") -> dict:
    return {"sourceSystem": "postgres", "sourceMeterId": meter_id, "serialNumber": serial, "meterType": "water",
            "manufacturer": "Kamstrup", "status": status, "multiplier": "1.0000", "lastReadingValue": reading,
            "isDeleted": deleted}


def change(op: str, meter: dict) -> dict:
    position = f"W/00000000/{next(_positions):08X}"
    committed = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return {"id": f"postgres:{position}:{meter['sourceMeterId']}", "op": op, "committed_at": committed,
            "position": position,
            "meter": {**meter, "sourceCommittedAt": committed, "sourcePosition": position},
            "before": None, "after": None}


def post(base: str, source: str, events: list[dict], batch_id: str | None = None) -> dict:
    for e in events:
        e["meter"]["sourceSystem"] = source
    body = {"source": source, "batch_id": batch_id or f"{source}-{uuid.uuid4()}", "events": events}
    res = requests.post(f"{base}/v1/sources/{source}/changes", json=body, timeout=30)
    assert res.status_code == 200, res.text
    return res.json()


def shoot(page, name: str):
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_a_wrong_token_is_refused_and_no_cookie_is_set(service, browser):
    w = Watched(browser, service)
    w.sign_in("not-the-token")
    expect = playwright_api.expect
    expect(w.page.locator(".notice.error")).to_have_text("Wrong token.")
    assert w.context.cookies() == []
    assert requests.get(f"{service}/v1/overview", cookies={"metersync_read": "00"}, timeout=5).status_code == 401
    w.sign_in()
    expect(w.page.locator(".card[data-source=postgres]")).to_be_visible()
    cookie = w.context.cookies()[0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in w.page.url
    w.context.close()


def test_pages_show_counts_changes_timeline_and_serials_as_text(service, browser):
    expect = playwright_api.expect
    meter, other = str(uuid.uuid4()), str(uuid.uuid4())
    post(service, "postgres", [change("create", meter_row(meter, "SN-1001", "active")),
                               change("create", meter_row(other, "SN-1002", "active"))])
    w = Watched(browser, service)
    w.sign_in()
    w.problems.clear()  # Chromium logs the sign-in page's own 401 as a failed load

    # The overview's count moves when changes arrive (it refreshes every 2 s).
    events = w.page.locator(".card[data-source=postgres] dd.events")
    expect(events).to_have_text("2")
    batch = [change("update", meter_row(other, "SN-1002", "active", reading=f"{13 + i}.000")) for i in range(5)]
    duplicate_id = f"postgres-{uuid.uuid4()}"
    post(service, "postgres", batch, duplicate_id)
    post(service, "postgres", batch, duplicate_id)  # the retry of a lost answer
    expect(events).to_have_text("7", timeout=5000)
    expect(w.page.locator(".card[data-source=postgres] dd.duplicates")).to_have_text("5")
    expect(w.page.locator(".card[data-source=postgres] dd.signature")).to_have_text("not checked")
    shoot(w.page, "overview")

    # A change appears on its source's page, newest first, with the column it changed marked.
    w.page.click(".card[data-source=postgres] h2 a")
    expect(w.page.locator("#live")).to_have_text("live")
    started = time.monotonic()
    post(service, "postgres", [change("update", meter_row(meter, "SN-1001", "retired"))])
    first = w.page.locator("tbody tr.change").first
    expect(first).to_have_attribute("data-meter", meter, timeout=APPEAR_WITHIN_S * 1000)
    seen_after = time.monotonic() - started
    print(f"\na change appeared on the postgres page {seen_after * 1000:.0f} ms after its post")
    expect(first.locator(".col.changed")).to_have_count(1)
    expect(first.locator(".col.changed[data-column=status] .value")).to_have_text("retired")

    # Paused, the page holds still; resumed, it catches up.
    w.page.click("#pause")
    post(service, "postgres", [change("update", meter_row(meter, "SN-1001", "active"))])
    expect(w.page.locator("#live")).to_contain_text("1 new change(s) waiting")
    assert first.get_attribute("data-op") == "update"
    rows_before = w.page.locator("tbody tr.change").count()
    w.page.click("#pause")
    expect(w.page.locator("tbody tr.change")).to_have_count(rows_before + 1)

    # Filters: one meter, one op.
    w.page.fill("input[name=meter_id]", other)
    w.page.select_option("select[name=op]", "create")
    w.page.click("form.toolbar button[type=submit]")
    expect(w.page.locator("tbody tr.change")).to_have_count(1)
    # Time range (the browser's local time): everything was received within the last hour.
    hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 3600))
    w.page.select_option("select[name=op]", "")
    w.page.fill("input[name=from]", hour_ago)
    w.page.click("form.toolbar button[type=submit]")
    expect(w.page.locator("tbody tr.change")).to_have_count(6)  # other's create and its 5 updates
    w.page.fill("input[name=from]", "")
    w.page.fill("input[name=to]", hour_ago)
    w.page.click("form.toolbar button[type=submit]")
    expect(w.page.locator("tbody tr.change")).to_have_count(0)
    w.page.fill("input[name=to]", "")
    w.page.fill("input[name=meter_id]", "")
    w.page.click("form.toolbar button[type=submit]")

    # Serial numbers that are markup are shown as text and run nothing.
    hostile = ["<script>alert('serial')</script>", '"><img src=x onerror=alert(1)>', "Zähler ⚡ 🔌"]
    hostile_ids = [str(uuid.uuid4()) for _ in hostile]
    post(service, "postgres", [change("create", meter_row(i, s, "active")) for i, s in zip(hostile_ids, hostile)])
    for meter_id, serial in zip(hostile_ids, hostile):
        expect(w.page.locator(f"tr[data-meter='{meter_id}'] .col[data-column=serialNumber] .value")).to_have_text(serial)
    assert w.page.locator("main img").count() == 0
    assert w.page.locator("main script").count() == 0
    shoot(w.page, "source")

    # A meter's timeline: insert, updates, delete, in order.
    post(service, "postgres", [change("delete", meter_row(meter, "SN-1001", "active", deleted=True))])
    w.page.goto(f"/sources/postgres/meters/{meter}")
    steps = w.page.locator("ol.timeline li.step")
    expect(steps).to_have_count(4)
    assert [steps.nth(i).get_attribute("data-op") for i in range(4)] == ["create", "update", "update", "delete"]
    expect(w.page.locator("td.deleted")).to_have_text("deleted")
    expect(steps.nth(1).locator(".col.changed[data-column=status] .old")).to_have_text("active")
    shoot(w.page, "meter")

    w.page.goto(f"/sources/postgres/meters/{hostile_ids[1]}")
    expect(w.page.locator("tr[data-column=serialNumber] td")).to_have_text(hostile[1])
    assert w.page.locator("main img").count() == 0

    assert w.problems == [], w.problems  # the console stayed clean

    # Unknown sources and meters: a readable 404 page (Chromium logs the 404 itself).
    res = w.page.goto("/sources/nowhere")
    assert res.status == 404
    expect(w.page.locator("main .notice")).to_have_text('No route for source "nowhere".')
    res = w.page.goto("/sources/postgres/meters/%3Cscript%3Enope")
    assert res.status == 404
    expect(w.page.locator("main .notice")).to_have_text('No meter "<script>nope" at source "postgres".')
    assert [p for p in w.problems if "404" not in p] == [], w.problems
    w.context.close()


def test_a_source_with_100k_events_loads_its_pages(service, browser):
    """Pagination keeps the pages usable; the load times are printed, not asserted."""
    started = time.monotonic()
    meters = [str(uuid.uuid4()) for _ in range(1000)]
    for b in range(100):
        post(service, "mysql", [change("update" if b else "create", meter_row(m, f"SN-{m[:8]}", "active",
                                                                           reading=f"{b}.000")) for m in meters])
    print(f"\n100,000 events posted in {time.monotonic() - started:.1f} s")
    w = Watched(browser, service)
    w.sign_in()
    w.problems.clear()
    expect = playwright_api.expect
    for path, ready in [("/", ".card[data-source=mysql] dd.events"), ("/sources/mysql", "tbody tr.change"),
                        (f"/sources/mysql/meters/{meters[0]}", "ol.timeline li.step")]:
        t0 = time.monotonic()
        w.page.goto(path)
        expect(w.page.locator(ready).first).to_be_visible(timeout=30000)
        print(f"{path}: ready in {(time.monotonic() - t0) * 1000:.0f} ms with 100,000 events stored")
    expect(w.page.locator("ol.timeline li.step")).to_have_count(100)
    w.page.goto("/")
    expect(w.page.locator(".card[data-source=mysql] dd.events")).to_have_text("100000")
    assert w.problems == [], w.problems
    w.context.close()
