"""What directors read: root causes, locality, the gap ledger, the HR view and the map.

Every figure is aggregated by the database; Python only shapes the grouped rows (at
most one per unit or per week), never the irritants themselves. Long tables come back a
page at a time.

On PostgreSQL, locality reads locality_rollup (services/locality_rollup.py: per day and
unit, each unit's subtree) and the gap figures read gap_line, each line's running
totals by month (services/gap_rollup.py), both kept by triggers; the root causes and the
irritants behind a figure are index-only scans of ix_irritant_created, which carries
their columns. SQLite counts the rows themselves: same results. bench/dashboards.py
measures them at 1,000,000 irritants.

Who may read what: directors and admins everything; leads the gap ledger and
the HR view of their own subtree (api.md "gaps"); agents nothing (NotAllowed).

One module per group of views: common (periods, pages, scopes, dialect helpers),
root_cause_figures (root causes, the irritants behind a figure, labels), locality_figures
(locality), gaps (the gap ledger and the items lacked most), grant_effects (grants,
before and after), hr (the HR view), org_map (the map). Each imports common and no other,
except grant_effects (locality's figures) and hr (the gap ledger's line counts); common
imports none of them. Callers use the names below: `from irritants.services import
dashboards`, then `dashboards.gap_ledger(...)`.
"""

from irritants.services.dashboards.common import (
    BUCKETS,
    DEFAULT_DAYS,
    MAX_DAYS,
    MAX_PER_PAGE,
    Period,
    Table,
    period_of,
    readable_subtree,
)
from irritants.services.dashboards.gaps import (
    KINDS,
    gap_items_summary,
    gap_ledger,
    gap_ledger_with_summary,
)
from irritants.services.dashboards.grant_effects import GRANT_WINDOW, grants_with_effects
from irritants.services.dashboards.hr import REPLAYED_PER_ROW, hr_view
from irritants.services.dashboards.locality_figures import locality
from irritants.services.dashboards.org_map import (
    MAP_CHILDREN_SHOWN,
    MapNode,
    irritant_path,
    map_children,
    map_nodes,
    search_units,
)
from irritants.services.dashboards.root_cause_figures import (
    GROUPINGS,
    NO_ROOT_CAUSE,
    STATUS_FILTERS,
    Filters,
    category_labels,
    check_filters,
    count_logged,
    irritants_behind,
    root_cause_labels,
    root_causes,
    vocabulary_labels,
)

__all__ = [
    "BUCKETS",
    "DEFAULT_DAYS",
    "GRANT_WINDOW",
    "GROUPINGS",
    "KINDS",
    "MAP_CHILDREN_SHOWN",
    "MAX_DAYS",
    "MAX_PER_PAGE",
    "NO_ROOT_CAUSE",
    "REPLAYED_PER_ROW",
    "STATUS_FILTERS",
    "Filters",
    "MapNode",
    "Period",
    "Table",
    "category_labels",
    "check_filters",
    "count_logged",
    "gap_items_summary",
    "gap_ledger",
    "gap_ledger_with_summary",
    "grants_with_effects",
    "hr_view",
    "irritant_path",
    "irritants_behind",
    "locality",
    "map_children",
    "map_nodes",
    "period_of",
    "readable_subtree",
    "root_cause_labels",
    "root_causes",
    "search_units",
    "vocabulary_labels",
]
