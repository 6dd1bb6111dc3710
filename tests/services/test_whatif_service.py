"""The what-if replay service: the six figures of api.md, hand-computed on the small org."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants import routing
from irritants.extensions import db as _db
from irritants.models import User, WhatIfRun
from irritants.services import insights
from irritants.services.errors import InvalidInput, NotAllowed, NotFound
from irritants.services.insights import (
    run_whatif,
    start_whatif_run,
    whatif_run_status,
)
from tests.irritant_rows import irritant_row, unit_id

SINCE = datetime(2024, 1, 1, tzinfo=UTC)
UNTIL = datetime(2024, 4, 1, tzinfo=UTC)
GRANT_LILLE_TERMINAL = [{"unit": "lille", "grant_tools": ["refund-terminal"]}]


def user(email: str) -> User:
    return _db.session.scalars(select(User).where(User.email == email)).one()


def faulty(amount: int | float) -> dict[str, Any]:
    """The requirements at logging of a faulty product (routing.md)."""
    return {"competencies": ["product"], "authorities": {"refund": amount},
            "tools": ["refund-terminal"]}  # fmt: skip


RUDE = {"competencies": ["service"], "authorities": {}, "tools": []}


def logged(origin: str, requirements: dict[str, Any], at: datetime) -> int:
    """An irritant row logged at `at` (its assignee today is irrelevant to a replay)."""
    # Escalations may have added needs since: the replay must not read these.
    irritant = irritant_row(origin, at, requirements, {"competencies": ["policy"],
                                                       "authorities": {}, "tools": ["nothing"]})
    _db.session.commit()
    return irritant.id


@pytest.fixture
def quarter(org: dict[str, Any]) -> dict[str, int]:
    """Five irritants in the quarter, one just before it, one at its end."""
    ids = {
        "lille-80": logged("lille", faulty(80), SINCE),  # at == since: replayed
        "lille-80-again": logged("lille", faulty(80), SINCE + timedelta(days=1)),
        "lille-200": logged("lille", faulty(200), SINCE + timedelta(days=2)),
        "hq-rude": logged("hq", RUDE, SINCE + timedelta(days=3)),
        "nice-0": logged("nice", faulty(0), SINCE + timedelta(days=4)),
    }
    logged("lille", faulty(80), SINCE - timedelta(seconds=1))
    logged("lille", faulty(80), UNTIL)  # at == until: left out
    return ids


def test_granting_lille_the_refund_terminal_keeps_its_refunds_local(
    quarter: dict[str, int],
) -> None:
    # Before: lille-80 x2 -> roubaix (2), lille-200 unroutable (depth of lille: 3),
    # hq-rude -> hq (0, at origin), nice-0 -> marseille (2). After: lille-80 x2 -> lille (0).
    result = run_whatif(
        actor=user("director@example.com"),
        changes=GRANT_LILLE_TERMINAL,
        since=SINCE,
        until=UNTIL,
    )

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 5,
        "changed_assignee": 2,
        "resolved_at_origin_before": 1,
        "resolved_at_origin_after": 3,
        "mean_distance_before": 1.8,
        "mean_distance_after": 1.0,
    }
    assert result["units"] == [
        {"unit": "lille", "gained": 2, "lost": 0},
        {"unit": "roubaix", "gained": 0, "lost": 2},
    ]
    assert result["stayed_at_origin"] == [quarter["lille-80"], quarter["lille-80-again"]]


FIGURES = (
    "replayed",
    "changed_assignee",
    "resolved_at_origin_before",
    "resolved_at_origin_after",
    "mean_distance_before",
    "mean_distance_after",
)


def test_the_same_origin_and_requirements_are_parsed_and_routed_once(
    quarter: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[dict[str, Any]] = []
    from_dict = routing.Requirements.from_dict

    def counting(data: dict[str, Any]) -> routing.Requirements:
        parsed.append(data)
        return from_dict(data)

    monkeypatch.setattr(insights.Requirements, "from_dict", counting)

    result = run_whatif(actor=user("director@example.com"), changes=GRANT_LILLE_TERMINAL,
                        since=SINCE, until=UNTIL)  # fmt: skip

    assert result["distinct"] == 4
    assert len(parsed) == 4
    assert result["replayed"] == 5


def test_an_unroutable_irritant_counts_the_depth_of_its_origin(org: dict[str, Any]) -> None:
    logged("lille", faulty(200), SINCE)  # nobody holds the terminal and 200 of refund
    logged("nice", {"competencies": ["astrology"], "authorities": {}, "tools": []}, SINCE)

    result = run_whatif(actor=user("director@example.com"), changes=[])

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 2,
        "changed_assignee": 0,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0,
        "mean_distance_before": 3.0,
        "mean_distance_after": 3.0,
    }


def test_a_raised_limit_that_makes_an_unroutable_irritant_routable(org: dict[str, Any]) -> None:
    # 200 of refund with the terminal: after raising marseille to 250, marseille (distance 4
    # from lille: up to cs, down to marseille) instead of the root (distance 3).
    irritant_id = logged("lille", faulty(200), SINCE)

    result = run_whatif(
        actor=user("director@example.com"),
        changes=[{"unit": "marseille", "set_authorities": {"refund": 250}}],
    )

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 1,
        "changed_assignee": 1,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0,
        "mean_distance_before": 3.0,
        "mean_distance_after": 4.0,
    }
    assert result["units"] == [
        {"unit": "hq", "gained": 0, "lost": 1},
        {"unit": "marseille", "gained": 1, "lost": 0},
    ]
    assert result["stayed_at_origin"] == []
    assert irritant_id


def test_several_changes_and_an_unlimited_authority_apply_together(
    quarter: dict[str, int],
) -> None:
    # lille gets the terminal and unlimited refunds: lille-200 stays at lille too.
    result = run_whatif(
        actor=user("director@example.com"),
        changes=[
            {"unit": "lille", "grant_tools": ["refund-terminal"]},
            {"unit": "lille", "set_authorities": {"refund": None}, "grant_competencies": []},
        ],
        since=SINCE.isoformat(),
        until="2024-04-01T00:00:00Z",
    )

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 5,
        "changed_assignee": 3,
        "resolved_at_origin_before": 1,
        "resolved_at_origin_after": 4,
        "mean_distance_before": 1.8,
        "mean_distance_after": 0.4,
    }


def test_a_closed_unit_receives_nothing_before_or_after_the_change(
    org: dict[str, Any],
) -> None:
    # roubaix closed: routing leaves it out, and so does the replay on both sides. Before:
    # lille-80 -> marseille (4: up to cs, down to marseille), lille-200 unroutable (3).
    # After an unlimited refund for roubaix: the same, roubaix still receives nothing.
    from irritants.services import org_edit

    logged("lille", faulty(80), SINCE)
    logged("lille", faulty(200), SINCE)
    org_edit.close_unit("roubaix", actor=None)

    result = run_whatif(actor=user("director@example.com"),
                        changes=[{"unit": "roubaix", "set_authorities": {"refund": None}}])

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 2,
        "changed_assignee": 0,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0,
        "mean_distance_before": 3.5,
        "mean_distance_after": 3.5,
    }
    assert result["units"] == []


def test_nothing_logged_in_the_period_replays_nothing_with_means_zero(
    quarter: dict[str, int],
) -> None:
    result = run_whatif(
        actor=user("director@example.com"),
        changes=GRANT_LILLE_TERMINAL,
        since=UNTIL + timedelta(seconds=1),
    )

    assert {key: result[key] for key in FIGURES} == {
        "replayed": 0,
        "changed_assignee": 0,
        "resolved_at_origin_before": 0,
        "resolved_at_origin_after": 0,
        "mean_distance_before": 0,
        "mean_distance_after": 0,
    }


def test_without_a_period_every_irritant_is_replayed(quarter: dict[str, int]) -> None:
    result = run_whatif(actor=user("director@example.com"), changes=GRANT_LILLE_TERMINAL)

    assert (result["replayed"], result["changed_assignee"], result["distinct"]) == (7, 4, 4)


def test_the_replay_reads_every_chunk(
    quarter: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insights, "CHUNK", 2)

    result = run_whatif(actor=user("director@example.com"), changes=GRANT_LILLE_TERMINAL)

    assert (result["replayed"], result["changed_assignee"], result["distinct"]) == (7, 4, 4)


@pytest.mark.parametrize(
    "email", ["agent.lille@example.com", "lead.north@example.com", "admin@example.com"]
)
def test_only_a_director_runs_a_whatif(quarter: dict[str, int], email: str) -> None:
    with pytest.raises(NotAllowed):
        run_whatif(actor=user(email), changes=GRANT_LILLE_TERMINAL)
    with pytest.raises(NotAllowed):
        start_whatif_run(actor=user(email), changes=GRANT_LILLE_TERMINAL)
    assert _db.session.scalar(select(func.count()).select_from(WhatIfRun)) == 0


BAD_KEYS = "Must be a list of non-empty strings of at most 100 characters."


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"unit": "lille"}, {"changes": ["Must be a list of changes."]}),
        (["lille"], {"changes.0": ["Must be an object."]}),
        ([{"unit": "atlantis"}], {"changes.0.unit": ["Unknown unit 'atlantis'."]}),
        ([{"grant_tools": ["x"]}], {"changes.0.unit": ["This field is required."]}),
        ([{"unit": 3}], {"changes.0.unit": ["Must be a string."]}),
        (
            [{"unit": "lille"}, {"unit": "lille", "grant_tools": "refund-terminal"}],
            {"changes.1.grant_tools": [BAD_KEYS]},
        ),
        (
            [{"unit": "lille", "grant_competencies": [1]}],
            {"changes.0.grant_competencies": [BAD_KEYS]},
        ),
        (
            [{"unit": "lille", "set_authorities": ["refund"]}],
            {"changes.0.set_authorities": ["Must be an object of authority: limit."]},
        ),
        (
            [{"unit": "lille", "set_authorities": {"refund": -1, "gesture": "100",
                                                   "policy": True, "ok": 5}}],
            {"changes.0.set_authorities.refund": ["Must be zero or more."],
             "changes.0.set_authorities.gesture": ["Must be a number."],
             "changes.0.set_authorities.policy": ["Must be a number."]},
        ),
        (
            [{"unit": "lille", "grant_tool": ["refund-terminal"]}],
            {"changes.0.grant_tool": ["Unknown field."]},
        ),
    ],
)  # fmt: skip
def test_a_bad_change_is_refused_with_dotted_field_paths(
    quarter: dict[str, int], changes: Any, errors: dict[str, list[str]]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        run_whatif(actor=user("director@example.com"), changes=changes)

    assert refused.value.field_errors == errors


@pytest.mark.parametrize(
    ("since", "until", "errors"),
    [
        ("last quarter", None, {"since": ["Not a valid ISO 8601 time."]}),
        (None, 20240401, {"until": ["Not a valid ISO 8601 time."]}),
        ("2024-04-01", "2024-01-01", {"until": ["The end must be after the start."]}),
    ],
)
def test_a_bad_period_is_refused(
    quarter: dict[str, int], since: Any, until: Any, errors: dict[str, list[str]]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        run_whatif(actor=user("director@example.com"), changes=[], since=since, until=until)

    assert refused.value.field_errors == errors


def test_a_background_run_records_its_progress_and_the_same_result(
    quarter: dict[str, int],
) -> None:
    director = user("director@example.com")

    # Without REDIS_URL the job runs in this process, after the run is committed.
    run = start_whatif_run(actor=director, changes=GRANT_LILLE_TERMINAL, since=SINCE, until=UNTIL)

    _db.session.expire_all()
    stored = whatif_run_status(run.id, actor=director)
    assert (stored.status, stored.progress, stored.total, stored.error) == ("done", 5, 5, None)
    assert stored.params == {
        "changes": [{"unit": "lille", "grant_tools": ["refund-terminal"],
                     "grant_competencies": [], "set_authorities": {}}],
        "since": "2024-01-01T00:00:00Z",
        "until": "2024-04-01T00:00:00Z",
    }
    assert stored.result == run_whatif(
        actor=director, changes=GRANT_LILLE_TERMINAL, since=SINCE, until=UNTIL
    )


def test_a_finished_run_is_not_replayed_again(quarter: dict[str, int]) -> None:
    director = user("director@example.com")
    run = start_whatif_run(actor=director, changes=GRANT_LILLE_TERMINAL)
    logged("lille", faulty(80), SINCE)

    insights.execute_whatif_run(run.id)

    _db.session.expire_all()
    assert whatif_run_status(run.id, actor=director).result["replayed"] == 7


def test_a_bad_run_is_refused_before_anything_is_written(quarter: dict[str, int]) -> None:
    with pytest.raises(InvalidInput):
        start_whatif_run(actor=user("director@example.com"), changes=[{"unit": "atlantis"}])

    assert _db.session.scalar(select(func.count()).select_from(WhatIfRun)) == 0


def test_a_run_of_someone_else_or_unknown_is_not_found(quarter: dict[str, int]) -> None:
    director = user("director@example.com")
    run = start_whatif_run(actor=director, changes=GRANT_LILLE_TERMINAL)
    other = User(email="d2@example.com", name="Other", role="director", unit_id=unit_id("hq"))
    _db.session.add(other)
    _db.session.commit()

    with pytest.raises(NotFound):
        whatif_run_status(run.id, actor=other)
    with pytest.raises(NotFound):
        whatif_run_status(run.id + 1, actor=director)
    with pytest.raises(NotFound):
        whatif_run_status(2**31, actor=director)


def test_irritants_logged_then_escalated_replay_their_requirements_at_logging(
    org: dict[str, Any],
) -> None:
    from irritants.services.escalation import escalate_irritant
    from irritants.services.intake import log_irritant

    director = user("director@example.com")
    first = log_irritant(user("agent.lille@example.com"), category="faulty-product",
                         severity="high", description="Broken kettle", amount=80.5, now=SINCE)
    escalate_irritant(first.id, actor=director, reason="Needs a specialist",
                      needs={"competencies": ["astrology"]}, now=SINCE + timedelta(hours=1))
    log_irritant(user("agent.marseille@example.com"), category="faulty-product",
                 severity="low", description="Torn bag", amount=100, now=SINCE)  # fmt: skip

    result = run_whatif(actor=director, changes=GRANT_LILLE_TERMINAL)

    # lille: roubaix (2) before, lille (0) after; marseille stays at marseille (0).
    assert {key: result[key] for key in FIGURES} == {
        "replayed": 2,
        "changed_assignee": 1,
        "resolved_at_origin_before": 1,
        "resolved_at_origin_after": 2,
        "mean_distance_before": 1.0,
        "mean_distance_after": 0.0,
    }
    assert result["stayed_at_origin"] == [first.id]


@pytest.mark.redis
def test_a_run_queued_on_redis_waits_then_a_worker_replays_it(
    quarter: dict[str, int], rq_app: Any
) -> None:
    from rq import Queue, SimpleWorker

    from irritants import jobs

    director = user("director@example.com")
    run = start_whatif_run(actor=director, changes=GRANT_LILLE_TERMINAL, until=UNTIL)
    queue = Queue(jobs.QUEUE_NAME, connection=rq_app)
    assert queue.job_ids == [f"whatif-{run.id}"]
    assert (run.status, run.progress, run.total) == ("pending", 0, 6)

    SimpleWorker([queue], connection=rq_app).work(burst=True)

    _db.session.expire_all()
    done = whatif_run_status(run.id, actor=director)
    assert (done.status, done.progress, done.total) == ("done", 6, 6)
    assert done.result["changed_assignee"] == 3


def test_a_run_saves_its_progress_after_each_page_of_irritants(
    quarter: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event

    monkeypatch.setattr(insights, "CHUNK", 2)
    saved: list[tuple[str, int]] = []

    def remember(mapper: Any, connection: Any, run: WhatIfRun) -> None:
        saved.append((run.status, run.progress))

    event.listen(WhatIfRun, "before_update", remember)
    try:
        start_whatif_run(actor=user("director@example.com"), changes=GRANT_LILLE_TERMINAL)
    finally:
        event.remove(WhatIfRun, "before_update", remember)

    # 7 irritants in pages of 2: progress saved after every page, then the result.
    assert saved == [
        ("running", 0), ("running", 2), ("running", 4), ("running", 6), ("running", 7),
        ("done", 7),
    ]  # fmt: skip
