# Sourced by scripts/run and scripts/test: creates .venv and installs the project into it.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ -n "$EXTRAS" ]; then
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
    else
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT"
    fi
    touch "$STAMP"
fi
