#!/usr/bin/env bash
# Builds the q_implant wheel (the Python module and the q-implant command)
# with the pinned maturin of scripts/wheel-requirements.txt, kept in a venv
# under target/wheel, into target/wheel/dist, and prints the wheel's path.
# The build shares target/ with cargo, so a second run with nothing changed
# only packages again. PYTHON makes the venv (default python3, 3.9 or
# later); the wheel is abi3, for every CPython from 3.9 on this platform.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REQ=scripts/wheel-requirements.txt
BUILD_VENV=target/wheel/build-venv
DIST=target/wheel/dist

fail() { echo "build-wheel.sh: $*" >&2; exit 1; }

command -v "$PYTHON" > /dev/null || fail "no $PYTHON on PATH; set PYTHON to a Python 3.9 or later"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || fail "$("$PYTHON" --version 2>&1) is too old; set PYTHON to a Python 3.9 or later"

if [ ! -x "$BUILD_VENV/bin/maturin" ] || ! cmp -s "$REQ" "$BUILD_VENV/requirements.txt"; then
    rm -rf "$BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$BUILD_VENV/requirements.txt"
fi

rm -rf "$DIST"
# The venv's own interpreter, always: PyO3's configuration then stays the
# same from run to run, and cargo rebuilds nothing that did not change.
"$BUILD_VENV/bin/maturin" build --release --locked --quiet \
    --interpreter "$BUILD_VENV/bin/python" --out "$DIST" >&2
shopt -s nullglob
wheels=("$DIST"/q_implant-*.whl)
[ "${#wheels[@]}" -eq 1 ] || fail "expected one wheel, found: $(ls "$DIST")"
echo "${wheels[0]}"
