#!/usr/bin/env bash
# The browser test: `verify --format html` pages loaded in a real headless
# Chromium (Debian's `chromium` and `chromium-driver`, installed here with
# apt-get when missing), driven by selenium from a pinned venv under
# target/browser-venv. Run from anywhere; PYTHON picks the interpreter
# (default python3, 3.9 or later).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REQ=tests/browser/requirements.txt
VENV=target/browser-venv

fail() { echo "browser.sh: $*" >&2; exit 2; }

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
    echo "browser.sh: installing Debian's chromium and chromium-driver" >&2
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y -qq chromium chromium-driver > /dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver > /dev/null; } \
        || fail "could not install chromium and chromium-driver (apt-get install chromium chromium-driver)"
fi
if [ ! -x "$VENV/bin/pytest" ] || ! cmp -s "$REQ" "$VENV/requirements.txt"; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || fail "'$PYTHON -m venv' failed; on Debian install python3-venv"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/requirements.txt"
fi
cargo build --release --quiet
CHROMIUM=$(command -v chromium) CHROMEDRIVER=$(command -v chromedriver) \
    "$VENV/bin/pytest" -q tests/browser "$@"
