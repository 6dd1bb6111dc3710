"""flask org import / org export: exit codes, messages on standard error, nothing written."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from irritants.models import AuditEvent, Category, Unit, User
from irritants.services.org_admin import export_org, import_org

ROOT = Path(__file__).resolve().parents[2]
SMALL_ORG = ROOT / "tests" / "fixtures" / "org-small.json"
SUMMARY_OF_SMALL_ORG = (
    "Organisation imported: units 12 created 0 updated, categories 5 created 0 updated, "
    "users 7 created 0 updated, labels 0 created 0 updated; org version 1.\n"
)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def counts(db: Any) -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Unit, Category, User, AuditEvent)
    )


def test_org_import_prints_a_one_line_summary(runner, db):
    result = runner.invoke(args=["org", "import", str(SMALL_ORG)])

    assert (result.exit_code, result.stdout, result.stderr) == (0, SUMMARY_OF_SMALL_ORG, "")
    assert counts(db) == (12, 5, 7, 1)


def test_org_import_of_the_same_file_twice_says_nothing_changed(runner, db):
    runner.invoke(args=["org", "import", str(SMALL_ORG)])

    result = runner.invoke(args=["org", "import", str(SMALL_ORG)])

    assert result.exit_code == 0
    assert result.stdout == (
        "Organisation unchanged: units 0 created 0 updated, categories 0 created "
        "0 updated, users 0 created 0 updated, labels 0 created 0 updated; org version 1.\n"
    )
    assert counts(db) == (12, 5, 7, 1)


def _two_roots(data: dict[str, Any]) -> None:
    data["units"].append({"key": "hq2", "name": "Second head office", "parent": None})


def _cycle(data: dict[str, Any]) -> None:
    data["units"][1]["parent"] = "north"  # cs under north, north under cs


def _unknown_parent(data: dict[str, Any]) -> None:
    data["units"].append({"key": "lens", "name": "Store Lens", "parent": "artois"})


def _duplicate_key(data: dict[str, Any]) -> None:
    data["units"].append({"key": "roubaix", "name": "Store Roubaix 2", "parent": "north"})


def _unknown_unit_for_a_user(data: dict[str, Any]) -> None:
    data["users"].append({"email": "agent.lyon@example.com", "name": "Léo", "unit": "lyon",
                          "role": "agent", "password": "lyon-agent-pass"})


def _bad_role(data: dict[str, Any]) -> None:
    data["users"][2]["role"] = "manager"


def _negative_limit(data: dict[str, Any]) -> None:
    data["units"][6]["authorities"]["refund"] = -10


BROKEN_FILES = [
    ("two-roots", _two_roots, "'hq2'"),
    ("cycle", _cycle, "'cs' -> 'north' -> 'cs'"),
    ("unknown-parent", _unknown_parent, "'artois'"),
    ("duplicate-key", _duplicate_key, "duplicate unit key 'roubaix'"),
    ("unknown-unit-for-a-user", _unknown_unit_for_a_user, "unknown unit 'lyon'"),
    ("bad-role", _bad_role, "unknown role 'manager'"),
    ("negative-limit", _negative_limit, "'south': authority 'refund' has limit -10"),
]


@pytest.mark.parametrize(
    ("break_file", "text"), [case[1:] for case in BROKEN_FILES], ids=[c[0] for c in BROKEN_FILES]
)
def test_org_import_refuses_a_broken_file_on_an_empty_database(
    runner, db, org_data, tmp_path, break_file, text
):
    break_file(org_data)
    path = write_json(tmp_path / "broken.json", org_data)

    result = runner.invoke(args=["org", "import", str(path)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {path} refused, nothing was written (1 problem):\n")
    assert text in result.stderr
    assert counts(db) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("break_file", "text"), [case[1:] for case in BROKEN_FILES], ids=[c[0] for c in BROKEN_FILES]
)
def test_org_import_refuses_a_broken_file_and_the_organisation_stays_as_it_was(
    runner, db, org, tmp_path, break_file, text
):
    before = (export_org(), counts(db))
    broken = copy.deepcopy(org)
    break_file(broken)
    broken["units"][3]["name"] = "A change that must not be written"
    path = write_json(tmp_path / "broken.json", broken)

    result = runner.invoke(args=["org", "import", str(path)])

    assert result.exit_code == 1
    assert text in result.stderr
    db.session.expire_all()
    assert (export_org(), counts(db)) == before


def test_org_import_lists_every_problem_on_its_own_line(runner, db, org_data, tmp_path):
    _bad_role(org_data)
    _unknown_parent(org_data)
    path = write_json(tmp_path / "broken.json", org_data)

    result = runner.invoke(args=["org", "import", str(path)])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path} refused, nothing was written (2 problems):\n"
        "  units.12.parent: unit 'lens' has an unknown parent 'artois'\n"
        "  users.2.role: user 'lead.north@example.com': unknown role 'manager' "
        "(one of agent, lead, director, admin)\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"units": [', "is not valid JSON: Expecting value at line 1, column 12"),
        (b"", "is not valid JSON: Expecting value at line 1, column 1"),
        (b'{"units": [], "units": []}', "key 'units' appears twice in the same JSON object"),
        (b'{"units": [{"key": "\xe9"}]}', "is not UTF-8 text"),
    ],
    ids=["truncated", "empty", "duplicate-object-key", "latin-1"],
)
def test_org_import_refuses_a_file_that_is_not_json(runner, db, tmp_path, content, message):
    path = tmp_path / "broken.json"
    path.write_bytes(content)

    result = runner.invoke(args=["org", "import", str(path)])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}")
    assert message in result.stderr
    assert counts(db) == (0, 0, 0, 0)


def test_org_import_of_a_missing_file_is_a_usage_error(runner, db, tmp_path):
    result = runner.invoke(args=["org", "import", str(tmp_path / "nowhere.json")])

    assert result.exit_code == 2
    assert "nowhere.json" in result.stderr


def test_org_import_reads_a_file_with_a_byte_order_mark(runner, db, org_data, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(org_data).encode())

    result = runner.invoke(args=["org", "import", str(path)])

    assert (result.exit_code, result.stdout) == (0, SUMMARY_OF_SMALL_ORG)


def test_org_export_writes_json_to_standard_output(runner, db, org):
    import_org({"units": [{"key": "lille", "name": "Magasin Lille Centre — accueil",
                           "parent": "north"}]})

    result = runner.invoke(args=["org", "export"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == export_org()
    assert result.stdout == json.dumps(export_org(), indent=2, ensure_ascii=False) + "\n"
    assert "Magasin Lille Centre — accueil" in result.stdout


def test_org_export_writes_a_utf8_file_with_output(runner, db, org, tmp_path):
    path = tmp_path / "export.json"

    result = runner.invoke(args=["org", "export", "--output", str(path)])

    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(path.read_text(encoding="utf-8")) == export_org()


def test_org_export_then_import_through_the_command_line_changes_nothing(runner, db, org,
                                                                         tmp_path):
    path = tmp_path / "export.json"
    runner.invoke(args=["org", "export", "--output", str(path)])

    result = runner.invoke(args=["org", "import", str(path)])

    assert result.exit_code == 0
    assert result.stdout.startswith("Organisation unchanged:")


# -- a real process, as an operator runs it ----------------------------------------------


def flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def process_env(tmp_path: Path) -> dict[str, str]:
    """A development app on its own SQLite file, with its schema built."""
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_URL", "REDIS_URL", "FLASK_APP")
    }
    env.update({
        "IRRITANTS_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SECRET_KEY": "cli-test-secret",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
    })
    if (ROOT / "migrations" / "env.py").exists():
        built = flask(["db", "upgrade"], env)
    else:
        # Until migrations/ exists: the same schema through create_all (test-only path).
        built = subprocess.run(
            [sys.executable, "-c", "from wsgi import app\nfrom irritants.extensions import db\n"
             "with app.app_context(): db.create_all()"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )
    assert built.returncode == 0, built.stderr
    return env


def test_the_test_environment_reads_database_url_like_the_others(process_env, tmp_path):
    # api.md: DATABASE_URL (default a SQLite file under instance/) in every environment.
    env = {**process_env, "IRRITANTS_ENV": "test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'test-env.db'}"}
    assert flask(["db", "upgrade"], env).returncode == 0
    imported = flask(["org", "import", str(SMALL_ORG)], env)
    assert (imported.returncode, imported.stdout) == (0, SUMMARY_OF_SMALL_ORG)
    del env["DATABASE_URL"]
    default = subprocess.run(
        [sys.executable, "-c", "from config import TestConfig\n"
         "print(TestConfig.SQLALCHEMY_DATABASE_URI)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert default.stdout.strip() == f"sqlite:///{ROOT / 'instance' / 'irritants.db'}"


def test_a_real_flask_process_imports_refuses_and_exports(process_env, org_data, tmp_path):
    imported = flask(["org", "import", str(SMALL_ORG)], process_env)
    assert (imported.returncode, imported.stdout) == (0, SUMMARY_OF_SMALL_ORG)

    _two_roots(org_data)
    broken = flask(["org", "import", str(write_json(tmp_path / "b.json", org_data))],
                   process_env)
    assert broken.returncode == 1
    assert "'hq2'" in broken.stderr

    exported = flask(["org", "export"], process_env)
    assert exported.returncode == 0
    units = json.loads(exported.stdout)["units"]
    assert [unit["key"] for unit in units][:3] == ["hq", "cs", "north"]
    assert len(units) == 12
