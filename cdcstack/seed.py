"""Seeds the two local source tables: the edge rows of rows.py plus N random meters each.

Run by `./stack up` on freshly created databases, before the connectors are registered, so the
initial snapshot carries the seed. Usable alone:  .local/venv/bin/python cdcstack/seed.py --count 3000
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
import pymysql  # noqa: E402

import rows  # noqa: E402
import stackenv  # noqa: E402

DEFAULT_COUNT = 3000
DEFAULT_SEED = 20261127


def seed_postgres(conn, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> int:
    rng = random.Random(seed)
    data = rows.pg_edge_rows() + [rows.pg_row(rng) for _ in range(count)]
    cols = ", ".join(rows.PG_COLUMNS)
    with conn.cursor() as cur:
        with cur.copy(f"COPY public.meter ({cols}) FROM STDIN") as copy:
            for r in data:
                copy.write_row([r[c] for c in rows.PG_COLUMNS])
    conn.commit()
    return len(data)


def seed_mariadb(conn, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> int:
    rng = random.Random(seed + 1)
    data = rows.mariadb_edge_rows() + [rows.mariadb_row(rng) for _ in range(count)]
    cols = ", ".join(rows.MARIADB_COLUMNS)
    marks = ", ".join(["%s"] * len(rows.MARIADB_COLUMNS))
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO meters ({cols}) VALUES ({marks})",
                        [[r[c] for c in rows.MARIADB_COLUMNS] for r in data])
    conn.commit()
    return len(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", choices=("postgres", "mariadb", "both"), default="both")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="random meters per source (edge rows come on top)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--env", default=str(stackenv.DEFAULT_PATH), help="stack.env to read connection settings from")
    args = ap.parse_args(argv)
    env = stackenv.load(args.env)
    if args.target in ("postgres", "both"):
        with psycopg.connect(**stackenv.pg_connect_kwargs(env)) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            print(f"postgres: seeded {seed_postgres(conn, args.count, args.seed)} meters")
    if args.target in ("mariadb", "both"):
        conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env))
        try:
            print(f"mariadb: seeded {seed_mariadb(conn, args.count, args.seed)} meters")
        finally:
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
