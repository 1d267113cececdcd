"""Meter rows for the two local sources: realistic random rows and hand-picked edge rows.

Shared by the seed (seed.py) and the load generator (loadgen.py). Every function takes a
random.Random, so the same seed yields the same rows. All values map into the Meter Master
(shared/spec/meter-master.md): serials fit NVARCHAR(64), readings fit DECIMAL(18,3) after
rounding, coordinates fit DECIMAL(9,6), so no seed row is meant for the dead-letter topic.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal

UTC = dt.timezone.utc

PG_COLUMNS = ("meter_id", "serial_number", "kind", "manufacturer", "active", "removed_at",
              "installed_on", "multiplier", "last_reading", "last_reading_at", "location")
MARIADB_COLUMNS = ("serial", "type", "manufacturer", "status", "installed_at", "multiplier",
                   "last_reading", "last_reading_at", "latitude", "longitude")

KINDS = ("electric", "water", "gas")
STATUSES = ("active", "inactive", "removed")
MANUFACTURERS = ("Landis+Gyr", "Itron", "Kamstrup", "Elster", "Sensus", "Diehl Metering",
                 "Zenner", "Siemens", "Iskraemeco", "Apator", "Honeywell")
MULTIPLIERS = (Decimal("1.0000"), Decimal("1.0000"), Decimal("1.0000"), Decimal("10.0000"),
               Decimal("40.0000"), Decimal("0.5000"), Decimal("2.5000"), Decimal("120.0000"))
UNICODE_SERIALS = ("Zähler-Ω-0001", "电表-000123", "Счётчик-77", "⚡-E-0042", "μ-meter-ÅÄÖ",
                   "メーター-9", "عداد-12", "🔌💧🔥-3")


def _serial(rng: random.Random, kind: str) -> str:
    return f"{kind[0].upper()}-{rng.randint(2000, 2026)}-{rng.randint(0, 99_999_999):08d}"


def _reading_time(rng: random.Random) -> dt.datetime:
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    return start + dt.timedelta(seconds=rng.randint(0, 3 * 365 * 86400),
                                microseconds=rng.randint(0, 999_999))


def _install_date(rng: random.Random) -> dt.date:
    return dt.date(1995, 1, 1) + dt.timedelta(days=rng.randint(0, 30 * 365))


def _maybe(rng: random.Random, p_null: float, value):
    return None if rng.random() < p_null else value


def pg_row(rng: random.Random) -> dict:
    kind = rng.choice(KINDS)
    active = rng.random() < 0.85
    removed = None if rng.random() < 0.92 else _reading_time(rng)
    loc: dict | None = {"lat": round(rng.uniform(35.0, 70.0), rng.choice((3, 6, 8))),
                        "lon": round(rng.uniform(-10.0, 30.0), rng.choice((3, 6, 8)))}
    r = rng.random()
    if r < 0.05:
        loc = None
    elif r < 0.08:
        del loc["lat"]
    elif r < 0.11:
        del loc["lon"]
    scale = rng.choice((0, 1, 3, 3, 3, 5))   # NUMERIC is unconstrained: readings of any scale
    reading = Decimal(rng.randint(0, 10**9)).scaleb(-scale)
    return {
        "meter_id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "serial_number": _serial(rng, kind),
        "kind": kind,
        "manufacturer": _maybe(rng, 0.1, rng.choice(MANUFACTURERS)),
        "active": active,
        "removed_at": removed,
        "installed_on": _maybe(rng, 0.05, _install_date(rng)),
        "multiplier": rng.choice(MULTIPLIERS),
        "last_reading": _maybe(rng, 0.08, reading),
        "last_reading_at": _maybe(rng, 0.08, _reading_time(rng)),
        "location": None if loc is None else json.dumps(loc),
    }


def mariadb_row(rng: random.Random) -> dict:
    kind = rng.choice(KINDS)
    installed = _maybe(rng, 0.05, _install_date(rng))
    return {
        "serial": _serial(rng, kind),
        "type": kind,
        "manufacturer": _maybe(rng, 0.1, rng.choice(MANUFACTURERS)),
        "status": rng.choices(STATUSES, weights=(85, 10, 5))[0],
        # DATETIME whose time part is noise: only the date is meaningful.
        "installed_at": None if installed is None else dt.datetime.combine(
            installed, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))),
        "multiplier": rng.choice(MULTIPLIERS),
        "last_reading": _maybe(rng, 0.08, rng.randint(0, 10**9) / rng.choice((1, 10, 1000, 10**5))),
        "last_reading_at": _maybe(rng, 0.08, _reading_time(rng).replace(tzinfo=None)),
        "latitude": _maybe(rng, 0.05, rng.uniform(35.0, 70.0)),
        "longitude": _maybe(rng, 0.05, rng.uniform(-10.0, 30.0)),
    }


def pg_update(rng: random.Random, row: dict) -> dict:
    """A plausible change to an existing meter: a new reading, sometimes a status or location change."""
    changes: dict = {
        "last_reading": Decimal(rng.randint(0, 10**9)).scaleb(-rng.choice((0, 3, 3, 4))),
        "last_reading_at": _reading_time(rng),
    }
    r = rng.random()
    if r < 0.05:
        changes["active"] = not row.get("active", True)
    elif r < 0.08:
        changes["removed_at"] = _reading_time(rng)
    elif r < 0.12:
        changes["location"] = json.dumps({"lat": round(rng.uniform(35, 70), 6),
                                          "lon": round(rng.uniform(-10, 30), 6)})
    elif r < 0.14:
        changes["manufacturer"] = _maybe(rng, 0.3, rng.choice(MANUFACTURERS))
    return changes


def mariadb_update(rng: random.Random, row: dict) -> dict:
    changes: dict = {
        "last_reading": rng.randint(0, 10**9) / 1000,
        "last_reading_at": _reading_time(rng).replace(tzinfo=None),
    }
    r = rng.random()
    if r < 0.06:
        changes["status"] = rng.choice(STATUSES)
    elif r < 0.10:
        changes["latitude"] = rng.uniform(35, 70)
        changes["longitude"] = rng.uniform(-10, 30)
    elif r < 0.12:
        changes["manufacturer"] = _maybe(rng, 0.3, rng.choice(MANUFACTURERS))
    return changes


def _pg_edge(i: int, **values) -> dict:
    row = {"meter_id": uuid.UUID(int=0xE0_0000 + i, version=4), "serial_number": f"EDGE-PG-{i:03d}",
           "kind": "electric", "manufacturer": None, "active": True, "removed_at": None,
           "installed_on": None, "multiplier": Decimal("1"), "last_reading": None,
           "last_reading_at": None, "location": None}
    row.update(values)
    return row


def pg_edge_rows() -> list[dict]:
    """Rows that pin the corners of every column (and every code of every code table)."""
    t = lambda *a: dt.datetime(*a, tzinfo=UTC)  # noqa: E731
    rows = [
        _pg_edge(1, kind="electric", active=True),
        _pg_edge(2, kind="water", active=False),
        _pg_edge(3, kind="gas", active=True, removed_at=t(2025, 6, 30, 12, 0, 0)),       # removed wins over active
        _pg_edge(4, kind="gas", active=False, removed_at=t(1969, 12, 31, 23, 59, 59, 999999)),
        _pg_edge(5, multiplier=Decimal("99999.9999"), last_reading=Decimal("999999999999999.999")),
        _pg_edge(6, multiplier=Decimal("0.0001"), last_reading=Decimal("-999999999999999.999")),
        _pg_edge(7, multiplier=Decimal("-99999.9999"), last_reading=Decimal("0")),
        _pg_edge(8, last_reading=Decimal("0.0005")),             # rounds half away from zero to 0.001
        _pg_edge(9, last_reading=Decimal("-0.0005")),            # ... and to -0.001
        _pg_edge(10, last_reading=Decimal("1234.56789012345678901234567890")),  # scale 26
        _pg_edge(11, last_reading=Decimal("1E+10")),             # negative scale in NUMERIC
        _pg_edge(12, installed_on=dt.date(1900, 1, 1), last_reading_at=t(1900, 1, 1, 0, 0, 0)),
        _pg_edge(13, installed_on=dt.date(1969, 12, 31), last_reading_at=t(1969, 7, 20, 20, 17, 40, 123456)),
        _pg_edge(14, installed_on=dt.date(1970, 1, 1), last_reading_at=t(1970, 1, 1, 0, 0, 0)),
        _pg_edge(15, installed_on=dt.date(9999, 12, 31), last_reading_at=t(9999, 12, 31, 23, 59, 59, 999999)),
        _pg_edge(16, installed_on=dt.date(2100, 2, 28),
                 last_reading_at=dt.datetime(2026, 3, 29, 2, 30, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45)))),
        _pg_edge(17, location=json.dumps({"lat": 90.0, "lon": 180.0})),
        _pg_edge(18, location=json.dumps({"lat": -90.0, "lon": -180.0})),
        _pg_edge(19, location=json.dumps({"lat": 51.5012345678})),                # lon absent
        _pg_edge(20, location=json.dumps({"lon": -0.1415926535})),               # lat absent
        _pg_edge(21, location=json.dumps({})),
        _pg_edge(22, location=json.dumps({"lat": 0, "lon": 0, "alt": 12.5, "note": "roof"})),
        _pg_edge(23, location=json.dumps({"lat": "48.8584", "lon": "2.2945"})),   # numbers as strings
        _pg_edge(24, manufacturer=""),
        _pg_edge(25, manufacturer="Ünïcödé Mëters GmbH ✓ " + "x" * 78),
        _pg_edge(26, serial_number="S" * 64),
        _pg_edge(27, serial_number="界" * 64),
        _pg_edge(28, serial_number="  padded serial  "),
    ]
    rows += [_pg_edge(40 + i, serial_number=s, kind=KINDS[i % 3]) for i, s in enumerate(UNICODE_SERIALS)]
    return rows


def _mdb_edge(i: int, **values) -> dict:
    row = {"serial": f"EDGE-MDB-{i:03d}", "type": "electric", "manufacturer": None, "status": "active",
           "installed_at": None, "multiplier": Decimal("1.0000"), "last_reading": None,
           "last_reading_at": None, "latitude": None, "longitude": None}
    row.update(values)
    return row


def mariadb_edge_rows() -> list[dict]:
    d = dt.datetime
    rows = [
        _mdb_edge(1, type="electric", status="active"),
        _mdb_edge(2, type="water", status="inactive"),
        _mdb_edge(3, type="gas", status="removed"),
        _mdb_edge(4, multiplier=Decimal("99999.9999"), last_reading=999999999999.999),
        _mdb_edge(5, multiplier=Decimal("0.0001"), last_reading=-999999999999.999),
        _mdb_edge(6, multiplier=Decimal("-99999.9999"), last_reading=0.0),
        _mdb_edge(7, last_reading=0.0625),          # exact in binary: rounds half away from zero to 0.063
        _mdb_edge(8, last_reading=-0.0625),
        _mdb_edge(9, last_reading=1e-300),
        _mdb_edge(10, last_reading=123456.78901234567),
        _mdb_edge(11, installed_at=d(1000, 1, 1, 0, 0, 0)),                 # DATETIME minimum
        _mdb_edge(12, installed_at=d(1900, 1, 1, 12, 34, 56)),
        _mdb_edge(13, installed_at=d(1969, 12, 31, 23, 59, 59)),
        _mdb_edge(14, installed_at=d(9999, 12, 31, 23, 59, 59)),            # DATETIME maximum
        _mdb_edge(15, last_reading_at=d(1970, 1, 1, 0, 0, 1, 0)),           # TIMESTAMP minimum
        _mdb_edge(16, last_reading_at=d(2038, 1, 19, 3, 14, 7, 999999)),    # TIMESTAMP maximum
        _mdb_edge(17, last_reading_at=d(2026, 11, 27, 12, 0, 0, 1)),
        _mdb_edge(18, latitude=90.0, longitude=180.0),
        _mdb_edge(19, latitude=-90.0, longitude=-180.0),
        _mdb_edge(20, latitude=51.50123456789, longitude=-0.14159265358979),  # rounds to 6 places
        _mdb_edge(21, latitude=0.0, longitude=None),
        _mdb_edge(22, latitude=None, longitude=0.0),
        _mdb_edge(23, manufacturer=""),
        _mdb_edge(24, manufacturer="Ünïcödé Mëters GmbH ✓ " + "x" * 78),
        _mdb_edge(25, serial="S" * 64),
        _mdb_edge(26, serial="界" * 64),
        _mdb_edge(27, serial="  padded serial  "),
    ]
    rows += [_mdb_edge(40 + i, serial=s, type=KINDS[i % 3], status=STATUSES[i % 3])
             for i, s in enumerate(UNICODE_SERIALS)]
    return rows
