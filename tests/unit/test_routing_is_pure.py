"""The routing core is a functional core: standard library only (style.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "sqlalchemy", "redis", "rq", "werkzeug", "numpy"}

# Import the routing package with a bare `irritants` parent, so that only the
# core's own imports run; then list every top-level module it brought in.
ISOLATED = f"""
import json, sys, types
before = set(sys.modules)
parent = types.ModuleType("irritants")
parent.__path__ = [{str(ROOT / "irritants")!r}]
sys.modules["irritants"] = parent
import irritants.routing
loaded = {{name.split(".")[0] for name in set(sys.modules) - before}}
print(json.dumps(sorted(loaded - set(sys.stdlib_module_names))))
"""

PLAIN = """
import json, sys
import irritants.routing
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def modules_loaded_by(program: str) -> set[str]:
    finished = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(finished.stdout))


def test_routing_core_imports_nothing_but_the_standard_library() -> None:
    assert modules_loaded_by(ISOLATED) == {"irritants"}


def test_importing_irritants_routing_loads_no_framework() -> None:
    assert modules_loaded_by(PLAIN) & FORBIDDEN == set()
