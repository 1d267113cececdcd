"""What the sink's writer lock costs on PostgreSQL and MariaDB, side by side in one run.

Each transaction has the shape of a sink batch on those dialects: the lock (if any), one
upsert of a JSON document of `rows` rows with the newer-position guard, the offsets upsert,
commit. The candidates:

  none      no lock (what PostgreSQL and MariaDB did before)
  select1   SELECT 1 first: the cost of one more round trip, to read the others against
  advisory  PostgreSQL pg_advisory_xact_lock / MariaDB GET_LOCK + RELEASE_ALL_LOCKS after commit
  row       SELECT ... FOR UPDATE of the pipeline's offsets rows, first in the transaction

The variants run in turn (A B C A B C ...) so the machine's drift shows as the spread of each.
Tables of its own (lockbench_*), dropped at the end. Usage, with the stack up:

  .local/venv/bin/python bench/writer_lock.py [--seconds 5] [--rounds 3] [--rows 1,100]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg
import pymysql

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cdcstack"))
import stackenv  # noqa: E402

VARIANTS = ("none", "select1", "advisory", "row")
RESOURCE = "metersync:lockbench_offsets:metersync-bench"


class Postgres:
    name = "postgres"

    def __init__(self, env):
        self.conn = psycopg.connect(**stackenv.pg_connect_kwargs(env, env["PG_SINK_DB"]), autocommit=False)
        c = self.conn
        c.execute("DROP TABLE IF EXISTS lockbench_meter, lockbench_offsets")
        c.execute("CREATE TABLE lockbench_meter (id text PRIMARY KEY, position text NOT NULL, v text)")
        c.execute("CREATE TABLE lockbench_offsets (pipeline text, topic text, part int, next bigint, "
                  "PRIMARY KEY (pipeline, topic, part))")
        c.execute("INSERT INTO lockbench_offsets VALUES ('metersync-bench', 't', 0, 0), ('metersync-bench', 't', 1, 0)")
        c.execute("SET lock_timeout = '30s'")
        c.commit()

    def transaction(self, variant: str, doc: str, n: int) -> float:
        c = self.conn
        t0 = time.perf_counter()
        if variant == "select1":
            c.execute("SELECT 1")
        elif variant == "advisory":
            c.execute("SELECT 0 FROM pg_advisory_xact_lock(hashtextextended(CAST(%s AS text), 0))", (RESOURCE,))
        elif variant == "row":
            c.execute("SELECT 1 FROM lockbench_offsets WHERE pipeline = %s AND topic = %s FOR UPDATE",
                      ("metersync-bench", "t"))
        locked = time.perf_counter() - t0
        c.execute("INSERT INTO lockbench_meter AS m SELECT e->>0, e->>1, e->>2 FROM jsonb_array_elements(%s::jsonb) e "
                  "ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, v = EXCLUDED.v "
                  "WHERE m.position < EXCLUDED.position", (doc,))
        c.execute("UPDATE lockbench_offsets SET next = next + %s WHERE pipeline = %s AND topic = %s AND part = 0",
                  (n, "metersync-bench", "t"))
        c.commit()
        return locked

    def drop(self):
        self.conn.execute("DROP TABLE IF EXISTS lockbench_meter, lockbench_offsets")
        self.conn.commit()
        self.conn.close()


class MariaDb:
    name = "mariadb"

    def __init__(self, env):
        self.conn = pymysql.connect(host=env["MARIADB_HOST"], port=int(env["MARIADB_PORT"]), user=env["MARIADB_USER"],
                                    password=env["MARIADB_PASSWORD"], database=env["MARIADB_SINK_DB"], autocommit=False)
        cur = self.conn.cursor()
        cur.execute("DROP TABLE IF EXISTS lockbench_meter, lockbench_offsets")
        cur.execute("CREATE TABLE lockbench_meter (id VARCHAR(64) PRIMARY KEY, position VARCHAR(100) NOT NULL, "
                    "v VARCHAR(64)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
        cur.execute("CREATE TABLE lockbench_offsets (pipeline VARCHAR(200), topic VARCHAR(249), part INT, next BIGINT, "
                    "PRIMARY KEY (pipeline, topic, part)) ENGINE=InnoDB")
        cur.execute("INSERT INTO lockbench_offsets VALUES ('metersync-bench', 't', 0, 0), ('metersync-bench', 't', 1, 0)")
        self.conn.commit()

    def transaction(self, variant: str, doc: str, n: int) -> float:
        cur = self.conn.cursor()
        t0 = time.perf_counter()
        if variant == "select1":
            cur.execute("SELECT 1")
            cur.fetchall()
        elif variant == "advisory":
            cur.execute("SELECT COALESCE(GET_LOCK(CONCAT('metersync:', MD5(%s)), 30), 0) - 1", (RESOURCE,))
            cur.fetchall()
        elif variant == "row":
            cur.execute("SELECT 1 FROM lockbench_offsets WHERE pipeline = %s AND topic = %s FOR UPDATE",
                        ("metersync-bench", "t"))
            cur.fetchall()
        locked = time.perf_counter() - t0
        cur.execute("INSERT INTO lockbench_meter (id, position, v) SELECT j.id, j.position, j.v FROM JSON_TABLE(%s, "
                    "'$[*]' COLUMNS (id VARCHAR(64) PATH '$[0]', position VARCHAR(100) PATH '$[1]', "
                    "v VARCHAR(64) PATH '$[2]')) j ON DUPLICATE KEY UPDATE "
                    "v = IF(VALUES(position) > lockbench_meter.position, VALUES(v), lockbench_meter.v), "
                    "position = IF(VALUES(position) > lockbench_meter.position, VALUES(position), "
                    "lockbench_meter.position)", (doc,))
        cur.execute("UPDATE lockbench_offsets SET next = next + %s WHERE pipeline = %s AND topic = %s AND part = 0",
                    (n, "metersync-bench", "t"))
        self.conn.commit()
        if variant == "advisory":
            # GET_LOCK belongs to the session: released after the commit, as the sink does
            # (no COMMIT after it: it reads no table, the next transaction continues it).
            t1 = time.perf_counter()
            cur.execute("SELECT RELEASE_ALL_LOCKS()")
            cur.fetchall()
            locked += time.perf_counter() - t1
        return locked

    def drop(self):
        cur = self.conn.cursor()
        cur.execute("DROP TABLE IF EXISTS lockbench_meter, lockbench_offsets")
        self.conn.commit()
        self.conn.close()


def measure(db, variant: str, rows: int, seconds: float, seq: list[int]) -> tuple[float, float]:
    """Transactions per second for `seconds`, and the mean time spent taking (and, on
    MariaDB, releasing) the lock per transaction, in ms; each transaction writes `rows`
    keys, newer positions than any before (so every row is updated)."""
    done = 0
    locking = 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        seq[0] += 1
        doc = json.dumps([[str(k), f"{seq[0]:012d}", "x"] for k in range(rows)])
        locking += db.transaction(variant, doc, rows)
        done += 1
    return done / (time.monotonic() - t0), 1000 * locking / max(done, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="per variant and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", default="1,100", help="rows per transaction, comma list")
    ap.add_argument("--env-file")
    args = ap.parse_args(argv)
    env = stackenv.load(args.env_file) if args.env_file else stackenv.load()
    results = []
    for cls in (Postgres, MariaDb):
        db = cls(env)
        try:
            for rows in [int(r) for r in args.rows.split(",") if r]:
                seq = [0]
                measure(db, "none", rows, 1.0, seq)  # warm-up
                per: dict[str, list[float]] = {v: [] for v in VARIANTS}
                lock_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
                for _ in range(args.rounds):
                    for v in VARIANTS:
                        tps, ms = measure(db, v, rows, args.seconds, seq)
                        per[v].append(tps)
                        lock_ms[v].append(ms)
                base = statistics.median(per["none"])
                for v in VARIANTS:
                    r = {"db": db.name, "rows": rows, "variant": v, "tx_per_s": statistics.median(per[v]),
                         "all": [round(x) for x in per[v]], "lock_ms": statistics.median(lock_ms[v])}
                    results.append(r)
                    print(f"{db.name:8} rows/tx {rows:5} {v:9} {r['tx_per_s']:8.0f} tx/s "
                          f"({100 * (r['tx_per_s'] / base - 1):+5.1f}% vs none) rounds {r['all']}  "
                          f"lock {r['lock_ms']:.3f} ms/tx", flush=True)
        finally:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
