"""R7: PostgreSQL restarts under light load; the pool recovers and no answer is a traceback.

A throw-away cluster of our own (initdb/pg_ctl from the installed binaries, as user
postgres when we are root) gets its schema from `flask db upgrade` and the small org from
`flask org import`; gunicorn (2 workers, no Redis) serves it. Two clients log and list
irritants and read /healthz while the cluster is stopped for 3 seconds and started again.
Answers during the outage must be clean 503s (no traceback, SQL or driver text), the
service must answer again within RECOVERY_LIMIT seconds of the restart, and every
acknowledged irritant must be in the database afterwards.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from flask.testing import FlaskClient

from tests.faults.conftest import ROOT, PostgresCluster, Services, api_token, utcnow

pytestmark = pytest.mark.slow

RECOVERY_LIMIT = 5.0  # seconds after the cluster accepts connections again
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "SELECT ", "INSERT ",
         "File \"")


@dataclass
class Answer:
    at: datetime
    call: str
    status: int | str
    body: str
    ref: str | None = None
    done: datetime | None = None


def load(base_url: str, token: str, stop: threading.Event, answers: list[Answer],
         run: str, number: int) -> None:
    calls = [("POST", "/api/v1/irritants"), ("GET", "/api/v1/irritants?per_page=1"),
             ("GET", "/healthz")]
    with httpx.Client(base_url=base_url, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        count = 0
        while not stop.is_set():
            method, path = calls[count % len(calls)]
            count += 1
            ref = f"pg-{run}-{number}-{count}" if method == "POST" else None
            at = utcnow()
            try:
                if method == "POST":
                    response = http.post(path, json={
                        "category": "late-delivery", "severity": "high",
                        "description": "PostgreSQL restart test", "customer_ref": ref})
                else:
                    response = http.get(path)
                answers.append(Answer(at, f"{method} {path}", response.status_code,
                                      response.text[:2000], ref, utcnow()))
            except httpx.HTTPError as error:
                answers.append(Answer(at, f"{method} {path}", type(error).__name__, "", ref,
                                      utcnow()))
            stop.wait(0.05)


def test_a_postgres_restart_gives_clean_503s_and_the_pool_recovers(
    services: Services, postgres_cluster: PostgresCluster, org: dict[str, Any], report: Any
) -> None:
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE irritants_r7")
    url = postgres_cluster.url("irritants_r7")
    for command in (["db", "upgrade"], ["org", "import", str(Path(ROOT) / "tests/fixtures/"
                                                             "org-small.json")]):
        done = services.flask(*command, DATABASE_URL=url, REDIS_URL=None)
        assert done.returncode == 0, done.stderr
    gunicorn = services.gunicorn(DATABASE_URL=url, REDIS_URL=None)
    passwords = {user["email"]: user["password"] for user in org["users"]}
    token = api_token(gunicorn.url, "agent.lille@example.com",
                      passwords["agent.lille@example.com"])
    answers: list[Answer] = []
    stop = threading.Event()
    run = secrets.token_hex(3)
    clients = [threading.Thread(target=load, args=(gunicorn.url, token, stop, answers, run, n))
               for n in range(2)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(3)
        down_at = utcnow()
        postgres_cluster.stop("fast")
        time.sleep(3)
        postgres_cluster.start()
        up_at = utcnow()
        time.sleep(8)
    finally:
        stop.set()
        for thread in clients:
            thread.join(30)

    before = [answer for answer in answers if answer.done and answer.done < down_at]
    after = [answer for answer in answers if answer.at > up_at]
    failures = [answer for answer in answers
                if not (isinstance(answer.status, int) and answer.status < 400)]
    leaks = [answer for answer in failures if any(text in answer.body for text in LEAKS)]
    first_ok = min((answer.at for answer in after if answer.call.startswith("POST")
                    and answer.status == 201), default=None)
    recovery = None if first_ok is None else (first_ok - up_at).total_seconds()
    late_failures = [answer for answer in failures
                     if (answer.at - up_at).total_seconds() > RECOVERY_LIMIT]
    acked = {answer.ref for answer in answers if answer.status == 201}
    with psycopg.connect(url) as connection:
        stored = {row[0] for row in connection.execute(
            "SELECT customer_ref FROM irritant WHERE customer_ref LIKE %s", (f"pg-{run}-%",))}
    report("R7 PostgreSQL restart", {
        "requests": len(answers), "failed": len(failures),
        "by_status": dict(Counter(str(answer.status) for answer in failures)),
        "tracebacks_or_sql": len(leaks),
        "recovery_s": None if recovery is None else round(recovery, 1),
        "down_s": round((up_at - down_at).total_seconds(), 1),
        "acked": len(acked), "lost": len(acked - stored),
    })

    assert before
    assert after
    assert all(answer.status in (200, 201) for answer in before)
    assert failures, "the outage must be visible to the clients"
    assert leaks == [], leaks[0].body
    assert {answer.status for answer in failures} == {503}, (Counter(
        f"{answer.call} {answer.status}" for answer in failures),
        [answer.body for answer in failures if answer.status != 503][:3])
    assert recovery is not None
    assert recovery <= RECOVERY_LIMIT
    assert late_failures == []
    assert acked <= stored


def test_a_database_error_inside_a_request_is_a_clean_503_on_the_api_and_the_pages(
    client: FlaskClient, org: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same answer in-process, whatever the database: what R7 sees, without a cluster."""
    from sqlalchemy.exc import OperationalError

    from irritants.services import queues
    from tests.web.conftest import sign_in

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT secret FROM irritant", {},
                               ConnectionError("server closed the connection unexpectedly"))

    passwords = {user["email"]: user["password"] for user in org["users"]}
    token = client.post("/api/v1/tokens", json={"email": "director@example.com",
                                                "password": passwords["director@example.com"]}
                        ).get_json()["token"]
    monkeypatch.setattr(queues, "visible_irritants", unreachable)
    monkeypatch.setattr(queues, "queue_for", unreachable)

    api = client.get("/api/v1/irritants", headers={"Authorization": f"Bearer {token}",
                                                   "Accept-Language": "en"})
    sign_in(client, "director@example.com", passwords["director@example.com"])
    page = client.get("/queue?unit=hq")

    assert (api.status_code, api.headers["Retry-After"]) == (503, "5")
    assert api.get_json() == {"code": 503, "status": "Service Unavailable", "message":
                              "The service is temporarily unavailable; try again in a few "
                              "seconds."}
    assert (page.status_code, page.headers["Retry-After"]) == (503, "5")
    assert not any(text in page.get_data(as_text=True) for text in LEAKS + ("secret",))
