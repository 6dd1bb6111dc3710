"""S13: Schemathesis against the OpenAPI description of a running gunicorn, as several users.

`schemathesis run http://127.0.0.1:PORT/api/v1/openapi.json --checks all --phases
examples,coverage,fuzzing,stateful` with a Web Fuzzing Commons auth file of six
identities (two agents of different stores, two leads, the director, the admin): each
operation runs as the first identity it admits, and `object_level_authorization` replays
reads as the other identities (peers). First the negative cases alone: 0 failures and
not one row written anywhere (every table counted before and after, security audit lines
aside). Then the positive and negative cases with every check: 0 failures, 0 server
errors. The number of examples per operation comes from SCHEMATHESIS_EXAMPLES.
`DELETE /tokens/current` is left out: it would revoke the token of the run.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
import yaml

from irritants.extensions import db
from irritants.models import AuditEvent
from irritants.services.intake import log_irritant
from irritants.services.resolution import comment_on
from tests.faults.conftest import BIN, Services, api_token

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
REPLAYS = int(os.environ.get("SCHEMATHESIS_REPLAYS", "400"))
TEMPLATES: dict[str, set[str]] = {}  # the description's paths and methods (from the server)
IDENTITIES = ["agent.lille@example.com", "agent.marseille@example.com",
              "lead.lille@example.com", "lead.north@example.com", "director@example.com",
              "admin@example.com"]


def row_counts() -> dict[str, int]:
    """Rows of every table but the security audit log (a refused call is logged there)."""
    db.session.rollback()
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables if table.name != AuditEvent.__tablename__}


def some_irritants() -> None:
    """Objects for the positive cases and the peers to probe: one per store, one commented."""
    from irritants.models import User

    def user(email: str) -> User:
        found = db.session.scalar(sa.select(User).where(User.email == email))
        assert found is not None
        return found

    lille = log_irritant(user("agent.lille@example.com"), category="late-delivery",
                         severity="high", description="Parcel late in Lille", amount=40)
    log_irritant(user("agent.marseille@example.com"), category="faulty-product",
                 severity="medium", description="Broken kettle in Marseille", amount=20)
    comment_on(lille.id, actor=user("lead.lille@example.com"), text="Called the carrier")


def schemathesis(services: Services, gunicorn_url: str, tmp_path: Path, mode: str
                 ) -> tuple[int, str, list[dict[str, Any]]]:
    """One run of the Schemathesis CLI: exit code, output, and every request it sent (its VCR
    cassette, unsanitised so that requests can be replayed)."""
    report_dir = tmp_path / mode
    args = [str(BIN / "schemathesis"), "--config-file", str(tmp_path / "schemathesis.toml"),
            "run", f"{gunicorn_url}/api/v1/openapi.json", "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful", "--mode", mode,
            "--max-examples", str(EXAMPLES), "--exclude-method", "DELETE",
            "--seed", "20260301", "--generation-database", "none", "--workers", "2",
            "--request-timeout", "20", "--no-color", "--output-sanitize", "false",
            "--report", "vcr", "--report-dir", str(report_dir)]
    done = services.run(args, timeout=900, cwd=tmp_path)  # its crash cache stays there
    interactions: list[dict[str, Any]] = []
    for path in report_dir.glob("*.yaml"):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        interactions += yaml.load(path.read_text(), Loader=loader)["http_interactions"]  # noqa: S506
    return done.returncode, done.stdout + done.stderr, interactions


# Failures whose cause is known and documented in docs/RELIABILITY-REPORT.md: what the
# OpenAPI description cannot say, or says too loosely. Any other failure fails the test.
# The run sends no Accept-Language and its users have no language of their own: the
# messages are French (the default); each pattern names the English message too.
KNOWN_GAPS: list[tuple[str, int, str]] = [
    # Keys must name something that exists (category, unit, root cause): not expressible.
    ("positive_data_acceptance", 422, r"inconnue|Unknown (category|unit|root cause)"),
    # Amounts: at most two decimals and below 10^12 are in the text only (no multipleOf,
    # which JSON Schema validators get wrong for floats; no maximum).
    ("positive_data_acceptance", 422,
     r"at most two decimals|au plus deux décimales"
     r"|(Must be less than|Doit être inférieur à) 1\D000\D000\D000\D000"),
    # Keys of a map (set_authorities, needs.authorities) are 1..100 characters: OpenAPI 3.0
    # has no propertyNames to say so.
    ("positive_data_acceptance", 422,
     r"Length must be between 1 and 100|La longueur doit être comprise entre 1 et 100"),
    # Keys may not hold a NUL byte: not in the description (no pattern).
    ("positive_data_acceptance", 422, r"NUL character|caractère NUL"),
    # apispec renders Nested(allow_none=True) as anyOf [{type: object, nullable}, $ref], so
    # any object validates as `needs`; the API refuses unknown parts.
    ("positive_data_acceptance", 422, r"Unknown field|Champ inconnu"),
    # A period (since, until) lasts at most MAX_DAYS: a relation between two fields, which
    # JSON Schema cannot state.
    ("positive_data_acceptance", 422,
     r"A period may last at most|Une période dure au plus"),
    # An irritant created by one identity and taken by another outside its scope: 404 by design.
    ("ensure_resource_availability", 404, r"Not found|Introuvable"),
]


def unexplained(interactions: list[dict[str, Any]]) -> list[str]:
    """Check failures that no KNOWN_GAPS entry explains (every error message must match)."""
    found = []
    for interaction in interactions:
        for check in interaction.get("checks") or []:
            if check["status"] != "FAILURE":
                continue
            body = interaction["response"].get("body", {}).get("string", "")
            try:
                errors = json.loads(body).get("errors")
            except (ValueError, AttributeError):
                errors = None
            messages = [message for texts in errors.values() for message in texts] \
                if isinstance(errors, dict) else [body]
            if not all(any(check["name"] == name and status(interaction) == code
                           and re.search(pattern, message) for name, code, pattern in KNOWN_GAPS)
                       for message in messages):
                request = interaction["request"]
                found.append(f"{check['name']}: {request['method']} {request['uri']} -> "
                             f"{status(interaction)} {body[:300]}")
    return found


def figures(interactions: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests, operations, 5xx answers and failures by check of one run."""
    failures: Counter[str] = Counter()
    for interaction in interactions:
        for check in interaction.get("checks") or []:
            if check["status"] == "FAILURE":
                failures[check["name"]] += 1
    operations = {(item["request"]["method"], operation_of(item["request"]["uri"]))
                  for item in interactions}
    operations = {(method, path) for method, path in operations
                  if method.lower() in TEMPLATES.get(path, set())}
    return {"requests": len(interactions), "operations": len(operations),
            "server_errors": sum(status(item) >= 500 for item in interactions),
            "failures_by_check": dict(failures)}


def operation_of(uri: str) -> str:
    """The path template of a request's path (`/api/v1/irritants/{irritant_id}/take`)."""
    path = urlsplit(uri).path
    for template in sorted(TEMPLATES, key=len, reverse=True):
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)), path):
            return template
    return path


def status(interaction: dict[str, Any]) -> int:
    return int(interaction["response"]["status"]["code"])


def negative_writes(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The refused writes with generated bad input, once each (at most REPLAYS of them)."""
    seen, chosen = set(), []
    for interaction in interactions:
        request = interaction["request"]
        generation = (interaction.get("generation") or {}).get("mode")
        if request["method"] != "POST" or generation != "negative" or \
                not 400 <= status(interaction) < 500:
            continue
        body = (request.get("body") or {}).get("string")
        key = (request["uri"], body, str(request.get("headers")))
        if key not in seen:
            seen.add(key)
            chosen.append(request)
    return chosen[:REPLAYS]


def replay(request: dict[str, Any]) -> int | None:
    """Send a recorded request again; its status (None when httpx refuses its headers)."""
    headers = [(name.encode("utf-8", "surrogatepass"), values[0].encode("utf-8", "surrogatepass"))
               for name, values in (request.get("headers") or {}).items()
               if name.lower() not in ("content-length", "connection", "accept-encoding")]
    body = (request.get("body") or {}).get("string")
    try:
        return httpx.post(request["uri"], headers=headers, timeout=20, content=None
                          if body is None else body.encode("utf-8", "surrogatepass")).status_code
    except httpx.LocalProtocolError:  # e.g. "Bearer " with nothing after it
        return None


def test_schemathesis_with_every_check_and_several_users_finds_nothing_and_writes_nothing(
    services: Services, org: dict[str, Any], report: Any, tmp_path: Path
) -> None:
    some_irritants()
    gunicorn = services.gunicorn(REDIS_URL=None)
    paths = httpx.get(f"{gunicorn.url}/api/v1/openapi.json").json()["paths"]
    TEMPLATES.clear()
    TEMPLATES.update({path: set(methods) for path, methods in paths.items()})
    passwords = {user["email"]: user["password"] for user in org["users"]}
    auth = {"auth": [
        {"name": email.split("@")[0], "fixedHeaders": [
            {"name": "Authorization",
             "value": f"Bearer {api_token(gunicorn.url, email, passwords[email])}"}]}
        for email in IDENTITIES]}
    (tmp_path / "auth.json").write_text(json.dumps(auth))
    peers = json.dumps([email.split("@")[0] for email in IDENTITIES])
    (tmp_path / "schemathesis.toml").write_text(
        f'[auth.wfc]\npath = "{tmp_path / "auth.json"}"\npeers = {peers}\n')

    code, output, negative = schemathesis(services, gunicorn.url, tmp_path, "negative")
    assert negative, output[-6000:]
    assert unexplained(negative) == []
    # Replay each refused bad write alone, counting every table before and after it.
    writes, changed, unsent = negative_writes(negative), [], 0
    for request in writes:
        before = row_counts()
        answer = replay(request)
        after = row_counts()
        if answer is None:
            unsent += 1
            continue
        if after != before or not 400 <= answer < 500:
            changed.append((request["uri"], (request.get("body") or {}).get("string"), answer,
                            {name: after[name] - before[name] for name in before
                             if after[name] != before[name]}))

    code, output, everything = schemathesis(services, gunicorn.url, tmp_path, "all")
    report("S13 Schemathesis", {
        "examples_per_operation": EXAMPLES, "identities": len(IDENTITIES),
        "negative_run": figures(negative), "full_run": figures(everything),
        "bad_writes_replayed": len(writes) - unsent, "bad_writes_that_wrote": len(changed),
        "exit_codes": code,
    })
    assert changed == [], changed[:5]
    assert writes, "the negative run must have tried bad writes"
    assert everything, output[-6000:]
    assert unexplained(everything) == []
    assert figures(everything)["server_errors"] == 0
