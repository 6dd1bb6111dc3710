"""The header rows of the CSV exports, in the reader's language.

Only the header is translated: the cells stay machine-friendly (keys, ISO dates, numbers),
and the API keeps its English keys. Each tuple lists the columns in the order the export
writes its cells (irritants/web/insights/views.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

from irritants.web.insights.forms import BUCKET_CHOICES, GROUP_CHOICES

UNIT = (_l("Unit"), _l("Unit name"))

ROOT_CAUSE_GROUPS = {choice.value: choice.label for choice in GROUP_CHOICES}
ROOT_CAUSE_FIGURES = (
    _l("Irritants"), _l("Open"), _l("Overdue"), _l("Unroutable"), _l("Resolved"),
    _l("Occurrences"), _l("Oldest open since"), _l("Mean open age (days)"),
)

IRRITANT_COLUMNS = (
    _l("Number"), _l("Category"), _l("Severity"), _l("Status"), _l("Where it happened"),
    _l("Assigned team"), _l("Unroutable"), _l("Escalation level"), _l("Occurrences"),
    _l("Logged at"), _l("Due at"), _l("Resolved at"), _l("Root cause"), _l("Description"),
)

LEDGER_COLUMNS = (
    *UNIT, _l("Kind"), _l("Item lacked"), _l("Times lacked"), _l("Period before"),
    _l("Highest amount asked"), _l("Limit when lacked"), _l("Holds it today"),
    _l("Limit today"),
)

LOCALITY_BUCKETS = {choice.value: choice.label for choice in BUCKET_CHOICES}
LOCALITY_FIGURES = (
    _l("Logged"), _l("Resolved"), _l("Resolved at origin"), _l("Share resolved at origin"),
    _l("Escalated"), _l("Share escalated"), _l("Routings"), _l("Mean distance"),
)
LOCALITY_UNIT_COLUMNS = (*UNIT, _l("Only the unit itself"), *LOCALITY_FIGURES)

DELEGATION_COLUMNS = (
    *UNIT, _l("Authority"), _l("Times lacked"), _l("Limit today"), _l("Highest amount asked"),
    _l("Limit covering %(percent)d%% of the amounts asked", percent=80),
    _l("Limit covering %(percent)d%% of the amounts asked", percent=95),
    _l("Irritants originating there"),
    _l("Kept local with the %(percent)d%% limit", percent=95),
)

TRAINING_COLUMNS = (
    *UNIT, _l("Competency"), _l("Times lacked"), _l("Irritants originating there"),
    _l("Kept local if trained"),
)


def header_row(labels: Iterable[object]) -> list[str]:
    """The header in the language of this request."""
    return [str(label) for label in labels]
