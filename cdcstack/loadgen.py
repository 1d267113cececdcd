"""Mixed insert / update / delete load against the local sources (PostgreSQL meterdb.public.meter,
MariaDB meterdb.meters), at a given rate, for a given time or number of operations.

Updates and deletes go to a working set of meters: the highest keys at the start (which leaves
the seed's edge rows alone, they have the lowest keys), topped up with the meters this run
inserts; so the same keys change again and again, as real readings do. With the same --seed and
the same table contents, a run issues the same operations with the same values in the same order;
only the keys of new meters differ (fresh UUIDs, the next AUTO_INCREMENT ids).

CLI (in the venv):
    .local/venv/bin/python cdcstack/loadgen.py --target both --rate 200 --duration 30 --seed 7
    .local/venv/bin/python cdcstack/loadgen.py --target postgres --count 1000 --rate 0   # as fast as possible

API (tests, benchmarks):
    import sys; sys.path.insert(0, "cdcstack"); import loadgen
    counts = loadgen.run("postgres", env, rate=100, count=500, seed=1)
    counts.inserts, counts.updates, counts.deletes, counts.keys   # keys: every key touched
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rows  # noqa: E402
import stackenv  # noqa: E402

TARGETS = ("postgres", "mariadb")


@dataclasses.dataclass
class Mix:
    """Relative weights of the three operations."""
    insert: float = 0.3
    update: float = 0.6
    delete: float = 0.1

    @classmethod
    def parse(cls, text: str) -> "Mix":
        parts = [float(p) for p in text.split(",")]
        if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
            raise ValueError(f"--mix wants three non-negative weights insert,update,delete; got {text!r}")
        return cls(*parts)


@dataclasses.dataclass
class Counts:
    target: str
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    elapsed_s: float = 0.0
    # Every key written, in order of first touch (pg: UUID text, mariadb: decimal id text),
    # and the keys deleted and not re-created by this run.
    keys: list[str] = dataclasses.field(default_factory=list)
    deleted: set[str] = dataclasses.field(default_factory=set)

    @property
    def ops(self) -> int:
        return self.inserts + self.updates + self.deletes

    def __str__(self) -> str:
        rate = self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (f"{self.target}: {self.ops} ops (inserts={self.inserts} updates={self.updates} "
                f"deletes={self.deletes}) in {self.elapsed_s:.1f}s = {rate:.0f} ops/s, "
                f"{len(self.keys)} keys touched")


class _Source:
    """One connection to one source issuing single-row statements; the caller commits."""

    def __init__(self, target: str, env: dict[str, str]):
        self.target = target
        if target == "postgres":
            import psycopg
            self.conn = psycopg.connect(**stackenv.pg_connect_kwargs(env))
            self.conn.execute("SET TIME ZONE 'UTC'")
            self.conn.commit()
        else:
            import pymysql
            self.conn = pymysql.connect(**stackenv.mariadb_connect_kwargs(env), autocommit=False)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def working_set(self, size: int) -> list[str]:
        if self.target == "postgres":
            cur = self.conn.execute("SELECT meter_id::text FROM public.meter ORDER BY meter_id DESC LIMIT %s", (size,))
            return [r[0] for r in cur.fetchall()]
        with self.conn.cursor() as cur:
            cur.execute("SELECT id FROM meters ORDER BY id DESC LIMIT %s", (size,))
            return [str(r[0]) for r in cur.fetchall()]

    def insert(self, rng: random.Random) -> str:
        if self.target == "postgres":
            row = rows.pg_row(rng)
            # A fresh key: a rerun with the same seed must not collide with the keys of the last run
            # (MariaDB's AUTO_INCREMENT behaves the same way).
            row["meter_id"] = uuid.uuid4()
            cols = ", ".join(rows.PG_COLUMNS)
            marks = ", ".join(["%s"] * len(rows.PG_COLUMNS))
            self.conn.execute(f"INSERT INTO public.meter ({cols}) VALUES ({marks})",
                              [row[c] for c in rows.PG_COLUMNS])
            return str(row["meter_id"])
        row = rows.mariadb_row(rng)
        cols = ", ".join(rows.MARIADB_COLUMNS)
        marks = ", ".join(["%s"] * len(rows.MARIADB_COLUMNS))
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO meters ({cols}) VALUES ({marks})", [row[c] for c in rows.MARIADB_COLUMNS])
            return str(cur.lastrowid)

    def update(self, rng: random.Random, key: str) -> bool:
        if self.target == "postgres":
            changes = rows.pg_update(rng, {})
            sets = ", ".join(f"{c} = %s" for c in changes)
            cur = self.conn.execute(f"UPDATE public.meter SET {sets} WHERE meter_id = %s",
                                    [*changes.values(), key])
            return cur.rowcount == 1
        changes = rows.mariadb_update(rng, {})
        sets = ", ".join(f"{c} = %s" for c in changes)
        with self.conn.cursor() as cur:
            return cur.execute(f"UPDATE meters SET {sets} WHERE id = %s", [*changes.values(), int(key)]) == 1

    def delete(self, key: str) -> bool:
        if self.target == "postgres":
            return self.conn.execute("DELETE FROM public.meter WHERE meter_id = %s", (key,)).rowcount == 1
        with self.conn.cursor() as cur:
            return cur.execute("DELETE FROM meters WHERE id = %s", (int(key),)) == 1


def run(target: str, env: dict[str, str] | None = None, *, rate: float = 100.0,
        duration: float | None = None, count: int | None = None, seed: int = 1,
        working_set: int = 200, mix: Mix | None = None, batch: int = 1,
        stop: threading.Event | None = None) -> Counts:
    """Applies the workload to one source. Stops at `count` operations or after `duration` seconds,
    whichever comes first (at least one of them is required). rate <= 0 means as fast as possible.
    `batch` operations share one transaction (1: every change commits on its own)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    if duration is None and count is None:
        raise ValueError("give a duration or a count (the load generator is always bounded)")
    env = env if env is not None else stackenv.load()
    mix = mix or Mix()
    rng = random.Random(f"{seed}:{target}")
    src = _Source(target, env)
    counts = Counts(target)
    seen: set[str] = set()

    def touch(key: str) -> None:
        if key not in seen:
            seen.add(key)
            counts.keys.append(key)

    try:
        live = src.working_set(working_set)
        src.commit()
        pending = 0
        t0 = time.monotonic()
        deadline = None if duration is None else t0 + duration
        interval = 1.0 / rate if rate > 0 else 0.0
        i = 0
        while count is None or i < count:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if stop is not None and stop.is_set():
                break
            if interval:
                due = t0 + i * interval
                if due > now:
                    if pending:  # never hold changes back while idling
                        src.commit()
                        pending = 0
                    time.sleep(min(due - now, (deadline - now) if deadline else due - now))
                    continue
            op = rng.choices(("insert", "update", "delete"), weights=(mix.insert, mix.update, mix.delete))[0]
            if op != "insert" and not live:
                op = "insert"
            if op == "insert":
                key = src.insert(rng)
                live.append(key)
                counts.inserts += 1
                counts.deleted.discard(key)
                touch(key)
            elif op == "update":
                key = rng.choice(live)
                if src.update(rng, key):
                    counts.updates += 1
                    touch(key)
            else:
                key = live.pop(rng.randrange(len(live)))
                if src.delete(key):
                    counts.deletes += 1
                    counts.deleted.add(key)
                    touch(key)
            i += 1
            pending += 1
            if pending >= batch:
                src.commit()
                pending = 0
        if pending:
            src.commit()
        counts.elapsed_s = time.monotonic() - t0
    finally:
        src.close()
    return counts


def run_many(targets: list[str], env: dict[str, str] | None = None, **kwargs) -> list[Counts]:
    """Runs one load per target in parallel threads (each with its own connection)."""
    env = env if env is not None else stackenv.load()
    results: dict[str, Counts] = {}
    errors: list[BaseException] = []

    def work(t: str) -> None:
        try:
            results[t] = run(t, env, **kwargs)
        except BaseException as e:  # re-raised in the caller's thread below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,), name=f"loadgen-{t}") for t in targets]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return [results[t] for t in targets]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Mixed insert/update/delete load on the local sources.")
    ap.add_argument("--target", choices=(*TARGETS, "both"), default="both")
    ap.add_argument("--rate", type=float, default=100.0, help="operations per second per target (0: unthrottled)")
    ap.add_argument("--duration", type=float, help="seconds to run")
    ap.add_argument("--count", type=int, help="operations per target")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--working-set", type=int, default=200, help="meters that receive the updates")
    ap.add_argument("--batch", type=int, default=1, help="operations per transaction (default 1)")
    ap.add_argument("--mix", type=Mix.parse, default=Mix(), help="insert,update,delete weights (default 0.3,0.6,0.1)")
    ap.add_argument("--env", default=str(stackenv.DEFAULT_PATH), help="stack.env with the connection settings")
    args = ap.parse_args(argv)
    if args.duration is None and args.count is None:
        ap.error("give --duration and/or --count: the load is always bounded")
    env = stackenv.load(args.env)
    targets = list(TARGETS) if args.target == "both" else [args.target]
    for c in run_many(targets, env, rate=args.rate, duration=args.duration, count=args.count,
                      seed=args.seed, working_set=args.working_set, mix=args.mix,
                      batch=args.batch):
        print(c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
