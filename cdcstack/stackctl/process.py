"""Local service processes: start detached, find by pid file, wait for readiness, stop, measure."""
from __future__ import annotations

import functools
import grp
import hashlib
import os
import pwd
import shutil
import stat as statmod
import signal
import socket
import subprocess
import time
from pathlib import Path

from .settings import HOST, READY_TIMEOUT, ROOT, STATE, StackError, say


def pidfile(service: str) -> Path:
    return STATE / service / f"{service}.pid"


def logfile(service: str) -> Path:
    return STATE / service / f"{service}.log"


def marker(service: str) -> str:
    """A string that must appear in the process's command line (guards against reused pids)."""
    return str(service_home(service))


@functools.lru_cache(maxsize=None)
def service_home(service: str) -> Path:
    """Where a service keeps its own files (data, socket). Normally .local/stack/<service>. When the
    stack runs as root and the database's service user cannot traverse the checkout's parents (a
    clone under /root, mode 700), the database files go to /var/tmp/metersync-stack-<hash of the
    checkout path>/<service> instead; pid and log files stay in .local/stack/<service>."""
    user = service_user(service)
    if user is None or user_can_traverse(STATE, user):
        return STATE / service
    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"metersync-stack-{digest}" / service


def user_can_traverse(path: Path, user: str) -> bool:
    """Whether `user` may pass through every existing directory from / down to `path`."""
    pw = pwd.getpwnam(user)
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    for d in [*reversed(path.parents), path]:
        try:
            st = d.stat()
        except FileNotFoundError:
            break  # created later by root with mode 755
        if st.st_uid == pw.pw_uid:
            bit = statmod.S_IXUSR
        elif st.st_gid in gids:
            bit = statmod.S_IXGRP
        else:
            bit = statmod.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def running_pid(service: str) -> int | None:
    try:
        pid = int(pidfile(service).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    # A zombie (state Z) is gone as far as we are concerned.
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None
    # An empty command line is a process in the middle of exec (the java launcher re-execs itself).
    return pid if (not cmdline.strip() or marker(service) in cmdline) else None


def tree_memory(root: int) -> tuple[int, int, int]:
    """(processes, RSS bytes, PSS bytes) of a service's process and all its descendants
    (PostgreSQL's backends call setsid, so a process group would miss them). PSS splits shared
    pages between the processes that map them: for PostgreSQL's shared buffers it is the honest sum."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    procs = rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            roll = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        procs += 1
        for line in roll.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return procs, rss, pss


def port_in_use(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


RESERVED_PORTS = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def reserve_ports(ports: list[int]) -> bool:
    """Keeps the kernel from handing the stack's ports to outgoing connections as ephemeral source
    ports. The defaults (5xxxx) lie inside Linux's ephemeral range 32768-60999, so on a busy machine
    a client socket can sit on, say, 59092 just when the broker binds it, and the bind fails.
    Needs root; returns False when the list cannot be changed (the start then merely risks that)."""
    try:
        current = RESERVED_PORTS.read_text().strip()
        have: set[int] = set()
        for part in filter(None, current.split(",")):
            lo, _, hi = part.partition("-")
            have.update(range(int(lo), int(hi or lo) + 1))
        missing = [p for p in ports if p not in have]
        if missing:
            RESERVED_PORTS.write_text(",".join(filter(None, [current, *map(str, missing)])))
        return True
    except (OSError, ValueError):
        return False


def listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def run_as_kwargs(user: str | None) -> dict:
    """initdb refuses root and mariadbd must not run as root: as root, drop to the service user."""
    if os.geteuid() != 0 or user is None:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def service_user(service: str) -> str | None:
    if os.geteuid() != 0:
        return None
    return {"postgres": "postgres", "mariadb": "mysql"}.get(service)


def chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    shutil.chown(path, user, user)
    for p in path.rglob("*"):
        shutil.chown(p, user, user)


def check_user_can_reach(path: Path, user: str | None) -> None:
    """The service user must be able to traverse every parent of the data directory."""
    if user is None:
        return
    r = subprocess.run(["test", "-w", str(path)], **run_as_kwargs(user))
    if r.returncode != 0:
        raise StackError(f"user {user!r} cannot write {path}: a parent directory is not traversable "
                         f"(chmod o+x on the parents of {ROOT}, or clone the repo elsewhere)")


def spawn(service: str, argv: list[str], user: str | None = None, env: dict | None = None) -> int:
    d = STATE / service
    d.mkdir(parents=True, exist_ok=True)
    home = service_home(service)
    home.mkdir(parents=True, exist_ok=True)
    log = open(logfile(service), "ab")
    log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
    log.flush()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=home, env=env, **run_as_kwargs(user))
    log.close()
    pidfile(service).write_text(str(proc.pid))
    return proc.pid


def log_tail(service: str, n: int = 25) -> str:
    try:
        lines = logfile(service).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(lines[-n:])


def wait_for(what: str, probe, service: str | None = None, timeout: float = READY_TIMEOUT,
             interval: float = 0.25):
    """Polls `probe` until it returns a truthy value; fails early when the service's process died."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except StackError:
            raise
        except Exception as e:  # the probe's failure is the expected "not yet"
            last_error = e
        if service is not None and running_pid(service) is None:
            raise StackError(f"{service} exited while starting; last lines of {logfile(service)}:\n"
                             f"{log_tail(service)}")
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    hint = f"; see ./stack logs {service}" if service else ""
    raise StackError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{hint}")


def stop_service(service: str, timeout: float = 60.0) -> bool:
    pid = running_pid(service)
    if pid is None:
        pidfile(service).unlink(missing_ok=True)
        return False
    # PostgreSQL: SIGINT is the "fast" shutdown (no waiting for clients such as the replication
    # connection). Everyone else shuts down cleanly on SIGTERM.
    sig = signal.SIGINT if service == "postgres" else signal.SIGTERM
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(service) is not None:
        time.sleep(0.2)
    if running_pid(service) is not None:
        say(f"{service} (pid {pid}) did not stop within {timeout:.0f}s: killing it")
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while running_pid(service) is not None:
            time.sleep(0.1)
    # Helpers left in the process group (none expected) go too.
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    pidfile(service).unlink(missing_ok=True)
    return True
