"""Prints what the demo produced: source tables, Meter Master, and each database's endpoint.

With --wait N it first waits (up to N seconds) until Meter Master holds exactly the live rows
of both sources, so the figures shown are the caught-up state, not a moment mid-flight.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cdcstack"))
import psycopg  # noqa: E402
import pymysql  # noqa: E402
import stackenv  # noqa: E402

SOURCES = ("postgres", "mysql")


def source_counts(env: dict[str, str]) -> dict[str, int]:
    with psycopg.connect(**stackenv.pg_connect_kwargs(env)) as pg:
        pg_rows = pg.execute("SELECT count(*) FROM public.meter").fetchone()[0]
    my = pymysql.connect(**stackenv.mariadb_connect_kwargs(env))
    try:
        with my.cursor() as cur:
            cur.execute("SELECT count(*) FROM meters")
            my_rows = cur.fetchone()[0]
    finally:
        my.close()
    return {"postgres": pg_rows, "mysql": my_rows}


def meter_master(env: dict[str, str]) -> dict[str, tuple[int, int]]:
    with psycopg.connect(**stackenv.pg_connect_kwargs(env, env["PG_SINK_DB"])) as pg:
        rows = pg.execute(
            'SELECT "SourceSystem", count(*) FILTER (WHERE NOT "IsDeleted"),'
            ' count(*) FILTER (WHERE "IsDeleted") FROM "MeterMaster" GROUP BY 1').fetchall()
    return {source: (live, deleted) for source, live, deleted in rows}


def samples(env: dict[str, str]) -> list[tuple]:
    with psycopg.connect(**stackenv.pg_connect_kwargs(env, env["PG_SINK_DB"])) as pg:
        return pg.execute(
            'SELECT "SourceSystem", "SourceMeterId", "SerialNumber", "MeterType", "Status",'
            ' "Multiplier", "LastReadingValue", "IsDeleted", "SourcePosition"'
            ' FROM "MeterMaster" ORDER BY "SyncedAt" DESC LIMIT 6').fetchall()


def endpoint(env: dict[str, str], token: str, source: str) -> dict:
    request = urllib.request.Request(f"{env['ENDPOINT_URL']}/v1/sources/{source}/changes?limit=1",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for catch-up")
    parser.add_argument("--token", required=True, help="the endpoint service's read token")
    args = parser.parse_args()
    env = stackenv.load()

    deadline = time.monotonic() + args.wait
    while True:
        sources, master = source_counts(env), meter_master(env)
        caught_up = all(master.get(s, (0, 0))[0] == sources[s] for s in SOURCES)
        if caught_up or time.monotonic() >= deadline:
            break
        time.sleep(1)

    print(f"\n{'source':<10}{'source rows':>12}{'Meter Master live':>19}{'deleted':>9}"
          f"{'endpoint events':>17}")
    for s in SOURCES:
        live, deleted = master.get(s, (0, 0))
        print(f"{s:<10}{sources[s]:>12}{live:>19}{deleted:>9}{endpoint(env, args.token, s)['total']:>17}")
    print("\nMeter Master, most recently synced rows:")
    for row in samples(env):
        print("  " + " | ".join("" if v is None else str(v) for v in row))
    print("\nin step" if caught_up else "\nNOT in step yet: see .local/demo/metersync.log")
    return 0 if caught_up else 1


if __name__ == "__main__":
    sys.exit(main())
