#!/usr/bin/env bash
# Regenerate the single initial migration from the models (before the first release only).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*.py /tmp/irritants-migration.db
export DATABASE_URL=sqlite:////tmp/irritants-migration.db
.venv/bin/flask --app wsgi db migrate -m "initial schema" >/dev/null
.venv/bin/flask --app wsgi db upgrade
rm -f /tmp/irritants-migration.db*
