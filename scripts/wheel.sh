#!/usr/bin/env bash
# Wheel smoke test: builds the q-implant wheel with the pinned maturin
# (scripts/wheel-requirements.txt, in a venv under target/wheel), checks that
# it holds the binary and nothing else, installs it into a fresh venv and runs
# the installed `q-implant`: `--version`, and the README's first command,
# which has to find the story set's errors (exit code 1). Run from anywhere;
# PYTHON picks the interpreter (default python3, 3.8 or later).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
REQ=scripts/wheel-requirements.txt
BUILD_VENV=target/wheel/build-venv

fail() { echo "wheel.sh: $*" >&2; exit 1; }

command -v "$PYTHON" > /dev/null || fail "no $PYTHON on PATH; set PYTHON to a Python 3.8 or later"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 8))' \
    || fail "$("$PYTHON" --version 2>&1) is too old; set PYTHON to a Python 3.8 or later"
echo "wheel.sh: $("$PYTHON" --version 2>&1)"

if [ ! -x "$BUILD_VENV/bin/maturin" ] || ! cmp -s "$REQ" "$BUILD_VENV/requirements.txt"; then
    rm -rf "$BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$BUILD_VENV/requirements.txt"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The wheel.
"$BUILD_VENV/bin/maturin" build --release --locked --quiet --out "$WORK/dist"
shopt -s nullglob
wheels=("$WORK"/dist/q_implant-*.whl)
[ "${#wheels[@]}" -eq 1 ] || fail "expected one wheel, found: $(ls "$WORK/dist")"
wheel=${wheels[0]}
echo "wheel.sh: built $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB"

# It holds the binary and its metadata, nothing else.
"$PYTHON" - "$wheel" <<'PY' || fail "the wheel holds more than the binary"
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
extra = [n for n in names
         if not re.fullmatch(r"q_implant-[^/]+\.dist-info/[^/]+(/[^/]+)*", n)
         and not re.fullmatch(r"q_implant-[^/]+\.data/scripts/q-implant", n)]
binary = [n for n in names if n.endswith(".data/scripts/q-implant")]
for n in extra:
    print("unexpected file in the wheel:", n, file=sys.stderr)
if not binary:
    print("no q-implant binary in the wheel", file=sys.stderr)
sys.exit(1 if extra or not binary else 0)
PY

# Installed into a fresh venv, it puts q-implant on PATH.
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
export PATH="$WORK/venv/bin:$PATH"
[ "$(command -v q-implant)" = "$WORK/venv/bin/q-implant" ] \
    || fail "q-implant on PATH is $(command -v q-implant || echo nothing), not the installed one"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=$(q-implant --version) || fail "q-implant --version failed"
[ "$out" = "q-implant $version" ] || fail "q-implant --version printed '$out', not 'q-implant $version'"

# The README's first command: the story set has errors, so exit code 1.
set +e
out=$(q-implant check fixtures/story.circle fixtures/story.torch-qparam/qparam.json 2>&1)
code=$?
set -e
[ "$code" -eq 1 ] || { echo "$out" >&2; fail "q-implant check on the story set exited with $code, not 1"; }
grep -q error <<< "$out" || { echo "$out" >&2; fail "q-implant check on the story set printed no error"; }

echo "wheel.sh: ok (q-implant $version installed from the wheel; check on the story set exits 1 with its errors)"
