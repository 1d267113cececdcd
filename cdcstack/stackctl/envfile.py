"""The addresses of all services, written to .local/stack.env for scripts, tests and benchmarks."""
from __future__ import annotations

import shlex

from .connect import connect_url
from .settings import APP_PASS, APP_USER, DBZ_PASS, DBZ_USER, ENV_FILE, HOST


def stack_env(ports: dict) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP": f"{HOST}:{ports['kafka']}",
        "CONNECT_URL": connect_url(ports),
        "PG_HOST": HOST,
        "PG_PORT": str(ports["postgres"]),
        "PG_USER": APP_USER,
        "PG_PASSWORD": APP_PASS,
        "PG_SOURCE_DB": "meterdb",
        "PG_SINK_DB": "metermaster",
        "PG_TOPIC": "postgres.public.meter",
        "MARIADB_HOST": HOST,
        "MARIADB_PORT": str(ports["mariadb"]),
        "MARIADB_USER": APP_USER,
        "MARIADB_PASSWORD": APP_PASS,
        "MARIADB_SOURCE_DB": "meterdb",
        "MARIADB_SINK_DB": "metermaster",
        "MARIADB_TOPIC": "mysql.meterdb.meters",
        "ENDPOINT_URL": f"http://{HOST}:{ports['endpoint']}",
        "SINK_ODBC": (f"Driver={{PostgreSQL Unicode}};Server={HOST};Port={ports['postgres']};"
                      f"Database=metermaster;Uid={APP_USER};Pwd={APP_PASS}"),
        "MARIADB_SINK_ODBC": (f"Driver={{MariaDB Unicode}};Server={HOST};Port={ports['mariadb']};"
                              f"Database=metermaster;Uid={APP_USER};Pwd={APP_PASS}"),
        # The sources as Debezium's user sees them: `metersync check` verifies their CDC settings.
        "PG_SOURCE_ODBC": (f"Driver={{PostgreSQL Unicode}};Server={HOST};Port={ports['postgres']};"
                           f"Database=meterdb;Uid={DBZ_USER};Pwd={DBZ_PASS}"),
        "MARIADB_SOURCE_ODBC": (f"Driver={{MariaDB Unicode}};Server={HOST};Port={ports['mariadb']};"
                                f"Database=meterdb;Uid={DBZ_USER};Pwd={DBZ_PASS}"),
    }


def write_env_file(ports: dict) -> None:
    lines = ["# Written by ./stack up. Load with:  set -a; . .local/stack.env; set +a"]
    lines += [f"{k}={shlex.quote(v)}" for k, v in stack_env(ports).items()]
    tmp = ENV_FILE.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(ENV_FILE)
