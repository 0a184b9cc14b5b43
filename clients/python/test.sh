#!/usr/bin/env bash
# Tests the tcpemu Python package: a venv at clients/python/.venv (or $VENV),
# the package installed with its dev, analysis and plot extras, ruff, mypy,
# then pytest against a tcpemud the tests start themselves.
#
#   clients/python/test.sh [PATH/TO/tcpemud]
#
# The daemon is the first argument, else $TCPEMUD, else build/server/tcpemud.
# $PYTHON picks the interpreter that creates the venv (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VENV:-$here/.venv}"
tcpemud="${1:-${TCPEMUD:-$here/../../build/server/tcpemud}}"
if [[ "$tcpemud" != /* ]]; then
  tcpemud="$PWD/$tcpemud"
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "$here[dev,analysis,plot]"

cd "$here"
"$py" -m ruff check .
"$py" -m mypy
TCPEMUD="$tcpemud" "$py" -m pytest -q -rs
