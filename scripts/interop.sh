#!/usr/bin/env bash
# The interop suite: q-implant against independent tools (the circle-schema
# reader, the onert runtime), in a pinned venv under .venv. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/pytest ] || ! cmp -s tests/interop/requirements.txt .venv/requirements.txt; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
    cp tests/interop/requirements.txt .venv/requirements.txt
fi
cargo build --release --quiet
.venv/bin/pytest -q tests/interop "$@"
