"""Run the test suite on SQLite and PostgreSQL with a real Redis.

Finds PostgreSQL on 127.0.0.1:5432 (or starts a throw-away server from the
installed binaries) and Redis on 127.0.0.1:6379 (or starts redis-server on a
spare port), creates a throw-away database, runs pytest once per database, and
cleans up. On a machine without PostgreSQL, Redis or Chromium (the browser
tests), it installs Debian's packages when it can (root and apt-get). With
CI=true a missing service fails the run; elsewhere the run says what it skipped.

Usage: python scripts/test_services.py [pytest arguments...]
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ON_CI = os.environ.get("CI") == "true"
PG_HOST, PG_PORT = "127.0.0.1", int(os.environ.get("TEST_PG_PORT", "5432"))
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


def say(message: str) -> None:
    print(f"[test-services] {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(host: str, port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.2)
    return False


# --- Packages -----------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def apt_install(*packages: str) -> bool:
    """Install Debian packages when this process may (root, apt-get); True on success."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    say(f"installing {' '.join(packages)} with apt-get")
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) == 0:
        return True
    # A fresh image may have no package lists yet.
    subprocess.call(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL)
    return subprocess.call(command, env=env, stdout=subprocess.DEVNULL) == 0


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium (tests/e2e): install it when missing."""
    if not CHROMIUM.exists() and not apt_install("chromium"):
        say(f"{CHROMIUM} is missing and could not be installed (apt-get install chromium)")


# --- PostgreSQL ---------------------------------------------------------------


def _pg_admin_url(host: str, port: int) -> str | None:
    import psycopg

    for user in (os.environ.get("PGUSER"), "postgres", "root", os.environ.get("USER")):
        if not user:
            continue
        url = f"postgresql://{user}@{host}:{port}/postgres"
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.Error:
            continue
    return None


def _pg_binaries() -> Path | None:
    found = _installed_pg_binaries()
    if found is None and apt_install("postgresql"):
        found = _installed_pg_binaries()
    return found


def _installed_pg_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


@contextlib.contextmanager
def _own_postgres() -> Iterator[str | None]:
    """Start a throw-away PostgreSQL from the installed binaries."""
    bindir = _pg_binaries()
    if bindir is None:
        yield None
        return
    datadir = tempfile.mkdtemp(prefix="irritants-pg-")
    port = spare_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(datadir, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", datadir, "-A", "trust", "-U",
                    "postgres"], check=True, capture_output=True)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", datadir, "-l", f"{datadir}/log",
                    "-o", f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1", "-w",
                    "start"], check=True, capture_output=True)
    say(f"started a throw-away PostgreSQL on port {port}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", datadir, "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A throw-away database URL, or None when no PostgreSQL can be found."""
    import psycopg

    with contextlib.ExitStack() as stack:
        admin = _pg_admin_url(PG_HOST, PG_PORT) if port_open(PG_HOST, PG_PORT) else None
        if admin is None:
            with contextlib.suppress(OSError, subprocess.CalledProcessError, KeyError):
                admin = stack.enter_context(_own_postgres())
        if admin is None:
            yield None
            return
        name = f"irritants_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Redis --------------------------------------------------------------------


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A Redis base URL (without database number), or None."""
    if port_open("127.0.0.1", REDIS_PORT):
        yield f"redis://127.0.0.1:{REDIS_PORT}"
        return
    binary = shutil.which("redis-server")
    if binary is None and apt_install("redis-server"):
        binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = spare_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save",
                                "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        if not wait_for("127.0.0.1", port):
            yield None
            return
        say(f"started redis-server on port {port}")
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


# --- Runs ---------------------------------------------------------------------


def missing(what: str) -> None:
    if ON_CI:
        say(f"FAIL: CI=true and {what} cannot be reached or started")
        sys.exit(2)
    say(f"SKIPPED: {what} is not available; its tests are skipped on this machine")


def run_pytest(label: str, env: dict[str, str], args: list[str]) -> int:
    say(f"pytest on {label}")
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)


def main(args: list[str]) -> int:
    ensure_chromium()
    with postgres_database() as pg_url, redis_server() as redis_base:
        if redis_base is None:
            missing("Redis")
        if pg_url is None:
            missing("PostgreSQL")
        base_env = {k: v for k, v in os.environ.items()
                    if k not in ("TEST_DATABASE_URL", "TEST_REDIS_URL", "DATABASE_URL",
                                 "REDIS_URL")}
        sqlite_env = dict(base_env)
        if redis_base:
            sqlite_env["TEST_REDIS_URL"] = f"{redis_base}/14"
        status = run_pytest("SQLite", sqlite_env, args)
        if pg_url:
            pg_env = dict(base_env, TEST_DATABASE_URL=pg_url)
            if redis_base:
                pg_env["TEST_REDIS_URL"] = f"{redis_base}/15"
            status = run_pytest("PostgreSQL", pg_env, args) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
