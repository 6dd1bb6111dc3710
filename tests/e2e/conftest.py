"""Browser tests: the app served by werkzeug in a thread, driven by Debian's Chromium.

The app runs on its own temporary SQLite database with the small org (plus a lead for
Store Roubaix), with CSRF on, as in production. Without /usr/bin/chromium the tests
fail when CI=true and are skipped elsewhere (`apt-get install -y chromium`).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from config import TestConfig
from irritants import create_app
from irritants.extensions import db
from tests.conftest import ON_CI, load_fixture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}
E2E_USERS = [
    {"email": "lead.roubaix@example.com", "name": "Rémi Lead", "unit": "roubaix",
     "role": "lead", "password": "roubaix-lead-pass"},
]

# Root causes of the seeded billing errors (keys of the default root causes).
SEEDED_ROOT_CAUSES = ["process", "process", "training"]


def need_chromium() -> str:
    """Chromium's path; fail on CI, skip elsewhere when it is missing."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if ON_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def seed_irritants() -> None:
    """Billing errors logged at Store Nice and resolved (no other test logs one): what the
    directors' pages show. Nice lacks the billing competency and the crm, so each goes up to
    Region South and leaves gap items for Store Nice."""
    from sqlalchemy import select

    from irritants.models import User
    from irritants.services.intake import log_irritant
    from irritants.services.resolution import resolve_irritant

    director = db.session.scalars(select(User).where(User.email == "director@example.com")).one()
    for number, cause in enumerate(SEEDED_ROOT_CAUSES):
        irritant = log_irritant(director, category="billing-error", severity="medium",
                                description=f"Double débit n° {number}", origin_unit="nice",
                                amount=40)
        resolve_irritant(irritant.id, actor=director, resolution="Remboursé",
                         root_cause=cause)
    # The North back-office's queue: a critical late delivery 3 hours overdue (its SLA is 2 h;
    # the test server runs no SLA sweep), and a billing error due in 3 days.
    log_irritant(director, category="billing-error", severity="medium", origin_unit="north-bo",
                 description="Facture envoyée deux fois")
    log_irritant(director, category="late-delivery", severity="critical", origin_unit="north-bo",
                 description="Colis attendu depuis une semaine",
                 now=datetime.now(UTC) - timedelta(hours=5))


@pytest.fixture(scope="session")
def org_passwords() -> dict[str, str]:
    """Password of every user of the browser tests' org, by email."""
    users = load_fixture("org-small.json")["users"] + E2E_USERS
    return {user["email"]: user["password"] for user in users}


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The base URL of the app, served in a thread on a free port."""
    from irritants.services.org_admin import import_org

    folder = tempfile.mkdtemp(prefix="irritants-e2e-")
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/e2e.db",
        UPLOAD_DIR=f"{folder}/uploads",
        WTF_CSRF_ENABLED=True,
        # A what-if over more than 2 irritants runs in the background, as a long one would.
        WHATIF_INLINE_LIMIT=2,
    )
    with app.app_context():
        db.create_all()
        data: dict[str, Any] = load_fixture("org-small.json")
        data["users"] = data["users"] + E2E_USERS
        import_org(data)
        seed_irritants()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium, headless."""
    path = need_chromium()
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
