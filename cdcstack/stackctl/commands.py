"""The ./stack commands: up, down, status, logs, reset."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .connect import connect_ready, connect_start, connect_url, http
from .connectors import (
    all_running, connector_status, connectors_to_register, failure_text, register_connector,
    restart_if_failed, wait_connector_running, wait_snapshot,
)
from .envfile import write_env_file
from .kafka import kafka_ready, kafka_start
from .mariadb import mariadb_provision, mariadb_ready, mariadb_start, mariadb_tcp_ready
from .postgres import pg_provision, pg_ready, pg_start
from .process import (
    listening, logfile, port_in_use, reserve_ports, running_pid, service_home, stop_service,
    tree_memory, wait_for,
)
from .settings import (
    APP_USER, ENV_FILE, HOST, PORT_SETTINGS, ROOT, SERVICES, SERVICE_PORTS, STATE, StackError,
    VENV, VENV_PY, load_state, ports_from_env, require_install, save_state, say,
)


def reexec_in_venv() -> None:
    """up/status use the venv's Kafka and database clients."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    os.execv(str(VENV_PY), [str(VENV_PY), str(ROOT / "stack"), *sys.argv[1:]])


def health(ports: dict) -> dict[str, tuple[bool, str]]:
    """Per service: (healthy, detail)."""
    out = {}
    probes = {
        "postgres": lambda: pg_ready(ports),
        "mariadb": lambda: mariadb_ready(ports),
        "kafka": lambda: kafka_ready(ports),
        "connect": lambda: connect_ready(ports),
    }
    for s in SERVICES:
        pid = running_pid(s)
        if pid is None:
            out[s] = (False, "not running")
            continue
        try:
            ok = probes[s]()
            n, rss, pss = tree_memory(pid)
            mem = f"{n} process{'es' if n != 1 else ''}, RSS {rss / 2**20:.0f} MiB, PSS {pss / 2**20:.0f} MiB"
            out[s] = (bool(ok), f"pid {pid}, {mem}, " + ("ready" if ok else "not ready"))
        except Exception as e:
            out[s] = (False, f"pid {pid}, not ready ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    return out


def addresses(ports: dict) -> dict[str, str]:
    return {
        "postgres": f"postgresql://{APP_USER}@{HOST}:{ports['postgres']}/meterdb (Meter Master db: metermaster)",
        "mariadb": f"mysql://{APP_USER}@{HOST}:{ports['mariadb']}/meterdb",
        "kafka": f"{HOST}:{ports['kafka']} (KRaft controller {HOST}:{ports['kafka-controller']})",
        "connect": connect_url(ports),
    }


def print_services(ports: dict, h: dict | None = None) -> None:
    addr = addresses(ports)
    for s in SERVICES:
        state = ""
        if h is not None:
            ok, detail = h[s]
            state = f"  [{'healthy' if ok else 'UNHEALTHY'}: {detail}]"
        print(f"  {s:<9} {addr[s]}{state}")


def cmd_up(args: list[str]) -> int:
    require_install()
    reexec_in_venv()
    t0 = time.monotonic()
    state = load_state()
    running = {s: running_pid(s) for s in SERVICES}
    ports = state.get("ports") if any(running.values()) and state.get("ports") else ports_from_env()
    if any(running.values()) and state.get("ports") and state["ports"] != ports_from_env():
        changed = [PORT_SETTINGS[k][0] for k in ports if ports[k] != ports_from_env()[k]]
        say(f"note: the stack is running with its earlier ports; {', '.join(changed)} take effect after ./stack down")

    reserve_ports(list(ports.values()))

    if all(running.values()):
        h = health(ports)
        wanted = connectors_to_register(ports)
        conn_ok = all(all_running(connector_status(connect_url(ports), n)) for n, _, _ in wanted) \
            if h["connect"][0] else False
        if all(ok for ok, _ in h.values()) and conn_ok:
            write_env_file(ports)  # cheap, and brings back a deleted env file
            say("already up (nothing to do)")
            print_services(ports)
            print(f"  env file  {ENV_FILE}")
            return 0

    # Every port we are about to bind must be free before anything starts.
    for s in SERVICES:
        if running[s]:
            continue
        for p in SERVICE_PORTS[s]:
            if port_in_use(ports[p]):
                var = PORT_SETTINGS[p][0]
                raise StackError(f"port {ports[p]} ({s}) on {HOST} is already in use by another process. "
                                 f"Stop that process or choose another port, e.g. {var}={ports[p] + 1000} ./stack up")
    state["ports"] = ports
    save_state(state)

    seed_count = int(os.environ.get("STACK_SEED_COUNT", "3000"))
    pg_fresh = mdb_fresh = False
    if not running["postgres"]:
        say("starting postgres")
        pg_fresh = pg_start(ports)
    if not running["mariadb"]:
        say("starting mariadb")
        mdb_fresh = mariadb_start(ports)
    if not running["kafka"]:
        say("starting kafka")
        kafka_start(ports)

    wait_for(f"postgres on {HOST}:{ports['postgres']}", lambda: pg_ready(ports), service="postgres")
    if pg_fresh:
        n = pg_provision(ports, seed_count)
        say(f"postgres: created meterdb (seeded {n} meters) and metermaster")
    wait_for(f"mariadb on {HOST}:{ports['mariadb']}", lambda: mariadb_ready(ports), service="mariadb")
    if mdb_fresh:
        n = mariadb_provision(ports, seed_count)
        say(f"mariadb: created meterdb (seeded {n} meters)")
    wait_for(f"mariadb logins on {HOST}:{ports['mariadb']}", lambda: mariadb_tcp_ready(ports), service="mariadb")
    write_env_file(ports)

    wait_for(f"kafka on {HOST}:{ports['kafka']}", lambda: kafka_ready(ports), service="kafka")
    if not running["connect"]:
        say("starting kafka connect")
        connect_start(ports)
    wait_for(f"kafka connect REST on {connect_url(ports)}", lambda: connect_ready(ports), service="connect")

    base = connect_url(ports)
    for name, config, topic in connectors_to_register(ports):
        register_connector(base, name, config)
        if restart_if_failed(base, name):
            say(f"connector {name} had FAILED: restarted it")
        wait_connector_running(base, name)
        say(f"connector {name} RUNNING")
    for name, config, topic in connectors_to_register(ports):
        which = {"io.debezium.connector.postgresql.PostgresConnector": "postgres",
                 "io.debezium.connector.mariadb.MariaDbConnector": "mariadb"}.get(config["connector.class"])
        if which:
            n = wait_snapshot(ports, base, name, topic, which)
            say(f"snapshot on {topic}: {n} messages")

    say(f"up in {time.monotonic() - t0:.1f}s")
    print_services(ports)
    print(f"  env file  {ENV_FILE}   (set -a; . {ENV_FILE.relative_to(ROOT)}; set +a)")
    return 0


def cmd_down(args: list[str]) -> int:
    running = [s for s in SERVICES if running_pid(s)]
    if not running:
        say("nothing is running (no stack process found); nothing to stop")
        return 0
    # Reverse start order: Connect first (its tasks store the offsets of everything the broker
    # acknowledged while the broker is still up), then the broker, then the databases. Changes
    # committed after Connect stopped stay in the binlog/WAL (the PostgreSQL slot holds the WAL)
    # and are read on the next up.
    for s in reversed(SERVICES):
        if running_pid(s):
            say(f"stopping {s}")
            stop_service(s)
    ports = load_state().get("ports") or ports_from_env()
    busy = [f"{p} ({ports[p]})" for s in SERVICES for p in SERVICE_PORTS[s] if listening(ports[p])]
    if busy:
        say("warning: still listening after stop: " + ", ".join(busy))
        return 1
    say("down: all stack processes stopped, no port left listening")
    return 0


def cmd_status(args: list[str]) -> int:
    state = load_state()
    ports = state.get("ports") or ports_from_env()
    if not any(running_pid(s) for s in SERVICES):
        say("down (no stack process running); start it with ./stack up")
        return 3
    require_install()
    reexec_in_venv()
    h = health(ports)
    print_services(ports, h)
    ok = all(v[0] for v in h.values())
    if h["connect"][0]:
        status, names = http("GET", connect_url(ports) + "/connectors")
        for name in names if status == 200 else []:
            st = connector_status(connect_url(ports), name) or {}
            tasks = ", ".join(f"task {t['id']} {t['state']}" for t in st.get("tasks", [])) or "no tasks"
            c_ok = all_running(st)
            ok = ok and c_ok
            print(f"  connector {name}: {st.get('connector', {}).get('state', '?')} ({tasks})")
            if not c_ok and failure_text(name, st):
                print("    " + failure_text(name, st).splitlines()[0])
    print(f"  env file  {ENV_FILE}")
    say("healthy" if ok else "UNHEALTHY (see ./stack logs <service>)")
    return 0 if ok else 1


def cmd_logs(args: list[str]) -> int:
    n, follow, services = 50, False, []
    it = iter(args)
    for a in it:
        if a in ("-f", "--follow"):
            follow = True
        elif a in ("-n", "--lines"):
            n = int(next(it, "50"))
        elif a in SERVICES:
            services.append(a)
        else:
            raise StackError(f"unknown service {a!r}: choose from {', '.join(SERVICES)}")
    services = services or list(SERVICES)
    files = [logfile(s) for s in services if logfile(s).exists()]
    if not files:
        say("no logs yet (./stack up writes them under .local/stack/<service>/)")
        return 0
    argv = ["tail", "-n", str(n)] + (["-F"] if follow else []) + [str(f) for f in files]
    return subprocess.call(argv)


def cmd_reset(args: list[str]) -> int:
    cmd_down([])
    for service in SERVICES:  # database files may live outside .local (see service_home)
        home = service_home(service)
        if STATE not in home.parents and home.exists():
            shutil.rmtree(home)
            if not any(home.parent.iterdir()):
                home.parent.rmdir()
    if STATE.exists():
        shutil.rmtree(STATE)
    ENV_FILE.unlink(missing_ok=True)
    say("reset: data and logs under .local/stack/ removed; the next ./stack up starts from scratch")
    return 0


USAGE = """
Usage:  ./stack up | down | status | logs [service] [-n N] [-f] | reset

  up       start PostgreSQL, MariaDB, Kafka and Kafka Connect, register the Debezium connectors,
           wait until they run and the initial snapshot is on Kafka; write .local/stack.env
  down     stop every stack process
  status   health, memory and connector states of every service (exit 0 when all healthy)
  logs     the last lines of the services' logs (-f to follow)
  reset    down, then delete all data under .local/stack/

Ports: STACK_PG_PORT, STACK_MARIADB_PORT, STACK_KAFKA_PORT, STACK_KAFKA_CONTROLLER_PORT,
STACK_CONNECT_PORT, STACK_ENDPOINT_PORT. See docs/stack.md.
"""

COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "logs": cmd_logs, "reset": cmd_reset}


@contextlib.contextmanager
def command_lock(command: str):
    """One changing command (up, down, reset) at a time per checkout: two engineers starting the
    shared stack at once would otherwise race for the same ports and data directories."""
    if command not in ("up", "down", "reset"):
        yield
        return
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another ./stack up/down/reset is running in this checkout; waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `./stack status | head` ends quietly
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(USAGE.strip())
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    # `./stack reset --help` must explain, not delete the data; and a word a command does not
    # take is refused rather than ignored.
    if any(a in ("-h", "--help") for a in argv[1:]):
        print(USAGE.strip())
        return 0
    if argv[0] != "logs" and argv[1:]:
        print(f"stack: error: {argv[0]} takes no arguments (got: {' '.join(argv[1:])})", file=sys.stderr)
        print(USAGE.strip(), file=sys.stderr)
        return 2
    try:
        with command_lock(argv[0]):
            return COMMANDS[argv[0]](argv[1:])
    except StackError as e:
        print(f"stack: error: {e}", file=sys.stderr)
        if argv[0] == "up" and any(running_pid(s) for s in SERVICES):
            print("stack: the services that did start keep running (inspect them; ./stack down stops them)",
                  file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted; services already started keep running (./stack down stops them)", file=sys.stderr)
        return 130
