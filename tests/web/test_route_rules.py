"""Every page route declares who may use it, and this table says what each role gets.

HOW TO ADD A ROUTE: add one row per (endpoint, method) to ROUTE_RULES below, with the
path to request and the status expected for (anonymous, agent, lead, director, admin),
through `expect(...)`, or `admin_only(path, admin)` for a page of the admin area. The
roles are those of tests/web/conftest.py ROLE_EMAILS (agent.lille, lead.lille, director,
admin of the small org). A path may be a function of `route_context` (below) when the
route needs an object, e.g. an irritant id.

Anonymous visitors of a page are sent to the sign-in page (302); a signed-in user whose
role may not use the page gets 403. POST rows are sent with an empty form (CSRF is off
here; tests/web/test_csrf.py checks it): an allowed role usually gets 422 or 302.
Routes under /api/ are the API's (tests/api/), and EXEMPT lists the public pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from irritants.web.navigation import HOME_ENDPOINTS
from tests.web.conftest import ROLES

WHO = ("anonymous", *ROLES)
HOME = -1  # main.index: 302 to the role's main page once it exists, else 200


@dataclass(frozen=True)
class Rule:
    """A route's expected status for each visitor."""

    path: str | Callable[[dict[str, Any]], str]
    statuses: dict[str, int]


def expect(
    path: str | Callable[[dict[str, Any]], str],
    anonymous: int,
    agent: int,
    lead: int,
    director: int,
    admin: int,
) -> Rule:
    """A row: the path, then the status for anonymous, agent, lead, director, admin."""
    return Rule(
        path,
        {"anonymous": anonymous, "agent": agent, "lead": lead, "director": director,
         "admin": admin},
    )


def admin_only(path: str | Callable[[dict[str, Any]], str], admin: int) -> Rule:
    """A row of an admin page: sign-in for anonymous, 403 for the other roles."""
    return expect(path, 302, 403, 403, 403, admin)


def user_path(email: str, suffix: str = "") -> Callable[[dict[str, Any]], str]:
    """The admin page of a user of the small org (ids differ between databases)."""

    def path(context: dict[str, Any]) -> str:
        from irritants.services.accounts import find_user_by_email

        return f"/admin/users/{find_user_by_email(email).id}{suffix}"

    return path


def irritant_path(suffix: str = "") -> Callable[[dict[str, Any]], str]:
    """A page of route_context's irritant (logged by agent.lille, assigned to Lille)."""

    def path(context: dict[str, Any]) -> str:
        return f"/irritants/{context['irritant']}{suffix.format(**context)}"

    return path


# (endpoint, method) -> Rule. Keep it sorted by endpoint.
ROUTE_RULES: dict[tuple[str, str], Rule] = {
    ("admin.audit", "GET"): admin_only("/admin/audit", 200),
    ("admin.categories", "GET"): admin_only("/admin/categories", 200),
    ("admin.category", "GET"): admin_only("/admin/categories/late-delivery", 200),
    ("admin.category", "POST"): admin_only("/admin/categories/late-delivery", 422),
    ("admin.close_unit", "POST"): admin_only("/admin/units/app-support/close", 302),
    ("admin.deactivate_user", "POST"): admin_only(
        user_path("lead.northbo@example.com", "/deactivate"), 302),
    ("admin.new_category", "GET"): admin_only("/admin/categories/new", 200),
    ("admin.new_category", "POST"): admin_only("/admin/categories/new", 422),
    ("admin.new_unit", "GET"): admin_only("/admin/units/new", 200),
    ("admin.new_unit", "POST"): admin_only("/admin/units/new", 422),
    ("admin.new_user", "GET"): admin_only("/admin/users/new", 200),
    ("admin.new_user", "POST"): admin_only("/admin/users/new", 422),
    ("admin.org_export", "GET"): admin_only("/admin/org/export", 200),
    ("admin.org_import", "GET"): admin_only("/admin/org/import", 200),
    ("admin.org_import", "POST"): admin_only("/admin/org/import", 422),
    ("admin.reactivate_user", "POST"): admin_only(
        user_path("lead.northbo@example.com", "/reactivate"), 302),
    ("admin.reopen_unit", "POST"): admin_only("/admin/units/app-support/reopen", 302),
    ("admin.reset_password", "POST"): admin_only(
        user_path("agent.marseille@example.com", "/reset"), 200),
    ("admin.unit", "GET"): admin_only("/admin/units/lille", 200),
    ("admin.unit", "POST"): admin_only("/admin/units/lille", 422),
    ("admin.unit_capabilities", "POST"): admin_only("/admin/units/lille/capabilities", 302),
    ("admin.units", "GET"): admin_only("/admin/units", 200),
    ("admin.user", "GET"): admin_only(user_path("agent.marseille@example.com"), 200),
    ("admin.user", "POST"): admin_only(user_path("agent.marseille@example.com"), 422),
    ("admin.users", "GET"): admin_only("/admin/users", 200),
    ("admin.vocabulary", "GET"): admin_only("/admin/vocabulary", 200),
    ("admin.vocabulary", "POST"): admin_only("/admin/vocabulary", 422),
    ("admin.vocabulary_item", "GET"): admin_only("/admin/vocabulary/tool/pos", 200),
    ("admin.vocabulary_item", "POST"): admin_only("/admin/vocabulary/tool/pos", 422),
    ("auth.account", "GET"): expect("/auth/account", 302, 200, 200, 200, 200),
    ("auth.change_password", "POST"): expect(
        "/auth/account/password", 302, 422, 422, 422, 422
    ),
    ("auth.logout", "POST"): expect("/auth/logout", 302, 302, 302, 302, 302),
    ("insights.dashboard", "GET"): expect("/insights/", 302, 403, 403, 200, 200),
    ("insights.gaps", "GET"): expect("/insights/gaps", 302, 403, 200, 200, 200),
    ("insights.grant", "GET"): expect("/insights/grant?unit=lille", 302, 403, 403, 200, 200),
    ("insights.grant", "POST"): expect("/insights/grant", 302, 403, 403, 422, 422),
    ("insights.hr", "GET"): expect("/insights/hr", 302, 403, 200, 200, 200),
    ("insights.irritants", "GET"): expect("/insights/irritants", 302, 403, 403, 200, 200),
    ("insights.locality", "GET"): expect("/insights/locality", 302, 403, 403, 200, 200),
    ("insights.map", "GET"): expect("/insights/map", 302, 403, 403, 200, 200),
    ("insights.whatif", "GET"): expect("/insights/whatif", 302, 403, 403, 200, 403),
    ("insights.whatif", "POST"): expect("/insights/whatif", 302, 403, 403, 422, 403),
    # No run exists: a director gets 404, as for another director's run.
    ("insights.whatif_run", "GET"): expect("/insights/whatif/runs/1", 302, 403, 403, 404, 403),
    ("insights.whatif_status", "GET"): expect(
        "/insights/whatif/runs/1/status", 302, 403, 403, 404, 403),
    ("intake.again", "POST"): expect(irritant_path("/again"), 302, 303, 303, 303, 303),
    ("intake.mine", "GET"): expect("/irritants/mine", 302, 200, 200, 200, 200),
    ("intake.new", "GET"): expect("/irritants/new", 302, 200, 200, 200, 200),
    ("intake.new", "POST"): expect("/irritants/new", 302, 422, 422, 422, 422),
    ("intake.similar", "GET"): expect("/irritants/similar", 302, 200, 200, 200, 200),
    ("irritant.add_photo", "POST"): expect(irritant_path("/photo"), 302, 422, 422, 422, 422),
    ("irritant.comment", "POST"): expect(irritant_path("/comment"), 302, 422, 422, 422, 403),
    ("irritant.escalate", "POST"): expect(irritant_path("/escalate"), 302, 403, 422, 422, 403),
    ("irritant.photo", "GET"): expect(
        irritant_path("/photos/{photo}"), 302, 200, 200, 200, 200),
    ("irritant.reassign", "POST"): expect(irritant_path("/reassign"), 302, 403, 422, 422, 403),
    ("irritant.resolve", "POST"): expect(irritant_path("/resolve"), 302, 422, 422, 422, 403),
    ("irritant.show", "GET"): expect(irritant_path(), 302, 200, 200, 200, 200),
    ("irritant.take", "POST"): expect(irritant_path("/take"), 302, 303, 303, 403, 403),
    ("main.index", "GET"): expect("/", 302, HOME, HOME, HOME, HOME),
    ("main.unit_suggestions", "GET"): expect(
        "/units/suggest?among=open&q=lil", 302, 200, 200, 200, 200),
    ("notifications.index", "GET"): expect("/notifications", 302, 200, 200, 200, 200),
    ("notifications.read", "POST"): expect("/notifications/read", 302, 303, 303, 303, 303),
    ("queue.index", "GET"): expect("/queue", 302, 200, 200, 200, 200),
    # Public: the link is the credential; an unknown one gets 400 whoever asks.
    ("setup.set_password", "GET"): expect(
        "/set-password/not-a-real-link-0123456789", 400, 400, 400, 400, 400),
    ("setup.set_password", "POST"): expect(
        "/set-password/not-a-real-link-0123456789", 400, 400, 400, 400, 400),
}

# Pages anyone may open (each is tested in its own file).
EXEMPT = {"static", "main.healthz", "auth.login", "auth.language"}


@pytest.fixture
def route_context(org: dict[str, Any]) -> dict[str, Any]:
    """Objects that rows with a callable path need; extend it when a route needs more."""
    from tests.web.irritant_fixtures import route_rules_context

    return {**route_rules_context()}


def page_routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, rule) of every page route: not static, not the API."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT or rule.rule.startswith("/api/"):
            continue
        if rule.endpoint.startswith("api-docs."):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.rule


def resolve(rule: Rule, context: dict[str, Any]) -> str:
    """The path to request."""
    return rule.path(context) if callable(rule.path) else rule.path


def expected_status(app: Flask, endpoint: str, who: str, rule: Rule) -> int:
    """The expected status, with HOME resolved."""
    status = rule.statuses[who]
    if status == HOME:
        return 302 if HOME_ENDPOINTS.get(who) in app.view_functions else 200
    return status


def test_every_page_route_has_a_row_in_the_table(app: Flask) -> None:
    missing = sorted(
        f"{endpoint} {method} ({path})"
        for endpoint, method, path in page_routes(app)
        if (endpoint, method) not in ROUTE_RULES
    )
    assert not missing, (
        "These routes have no access rule in tests/web/test_route_rules.py ROUTE_RULES: "
        f"{missing}. Decorate the view with @role_required(...) (irritants/web/decorators.py) "
        "and add a row: (endpoint, method): expect(path, anonymous, agent, lead, director, "
        "admin)."
    )


def test_every_row_of_the_table_is_a_route(app: Flask) -> None:
    routes = {(endpoint, method) for endpoint, method, _path in page_routes(app)}
    assert sorted(set(ROUTE_RULES) - routes) == []


def test_every_page_view_declares_its_access_rule(app: Flask) -> None:
    undeclared = sorted(
        endpoint
        for endpoint, _method, _path in page_routes(app)
        if not hasattr(app.view_functions[endpoint], "access_rule")
    )
    assert undeclared == [], "decorate these views with @role_required(...) or @public"


def test_anonymous_visitors_are_sent_to_sign_in(
    app: Flask, client: FlaskClient, route_context: dict[str, Any]
) -> None:
    outcomes = {}
    for (endpoint, method), rule in sorted(ROUTE_RULES.items()):
        response = client.open(resolve(rule, route_context), method=method)
        location = response.headers.get("Location", "")
        outcomes[endpoint, method] = (response.status_code, location.split("?")[0])
    expected = {
        key: (
            rule.statuses["anonymous"],
            "/auth/login" if rule.statuses["anonymous"] == 302 else "",
        )
        for key, rule in sorted(ROUTE_RULES.items())
    }
    assert outcomes == expected


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_of_the_table(
    app: Flask,
    login_as: Callable[..., FlaskClient],
    route_context: dict[str, Any],
    role: str,
) -> None:
    outcomes, expected = {}, {}
    for (endpoint, method), rule in sorted(ROUTE_RULES.items()):
        # A fresh session per route: a row may sign out or change the session.
        client = login_as(role, app.test_client())
        response = client.open(resolve(rule, route_context), method=method)
        outcomes[endpoint, method] = response.status_code
        expected[endpoint, method] = expected_status(app, endpoint, role, rule)
    assert outcomes == expected


def test_role_required_refuses_other_roles_with_403_and_sends_anonymous_to_sign_in(
    app: Flask, org: dict[str, Any]
) -> None:
    from flask_login import login_user
    from werkzeug.exceptions import Forbidden

    from irritants.services.accounts import find_user_by_email
    from irritants.web.decorators import role_required

    @role_required("director")
    def directors_only() -> str:
        return "ok"

    with app.test_request_context("/somewhere"):
        anonymous = directors_only()
        assert (anonymous.status_code, anonymous.location) == (
            302, "/auth/login?next=/somewhere"
        )
    with app.test_request_context("/somewhere"):
        login_user(find_user_by_email("agent.lille@example.com"))
        with pytest.raises(Forbidden):
            directors_only()
    with app.test_request_context("/somewhere"):
        login_user(find_user_by_email("director@example.com"))
        assert directors_only() == "ok"
    assert directors_only.access_rule == frozenset({"director"})


def test_role_required_refuses_unknown_roles_when_the_app_starts() -> None:
    from irritants.web.decorators import role_required

    with pytest.raises(ValueError, match="manager"):
        role_required("manager")


def test_the_403_page_is_in_french_and_logs_the_actor(
    app: Flask, org: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from flask_login import login_user
    from werkzeug.exceptions import Forbidden

    from irritants.services.accounts import find_user_by_email
    from irritants.web.hooks import handle_http_error

    caplog.set_level("INFO", logger="irritants.security")
    with app.test_request_context("/queue", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        agent = find_user_by_email("agent.lille@example.com")
        login_user(agent)
        body, status, _headers = handle_http_error(Forbidden())
    assert status == 403
    assert "Accès refusé" in body
    lines = [m for m in caplog.messages if '"event": "forbidden"' in m]
    assert len(lines) == 1
    assert f'"actor": {agent.id}' in lines[0]
    assert '"ip": "203.0.113.9"' in lines[0]
    assert '"path": "/queue"' in lines[0]
