#!/usr/bin/env bash
# Type-checks q-implant, its tests, examples and benches for macOS and
# Windows (`cargo clippy`: nothing is linked or run), so that a Linux- or
# Unix-only call outside a `cfg` fails here rather than on those systems.
# Run from anywhere.
#
# A dependency's build script (psm, under ndarray-npy's parser) assembles a
# file for the target; the system cc cannot target macOS or Windows, clang
# can (Debian: apt install clang). Set CC_<target> to use another compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(x86_64-apple-darwin x86_64-pc-windows-gnu)

if ! command -v rustup > /dev/null 2>&1; then
    {
        echo "cross-check.sh: rustup is not installed; it adds the standard library for ${targets[*]}."
        echo "Install it from https://rustup.rs and run this again."
    } >&2
    exit 2
fi

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    if ! grep -qxF "$target" <<< "$installed"; then
        rustup target add "$target"
    fi
done

# clang from Debian's packages when it is missing and apt-get can get it.
if ! command -v clang > /dev/null 2>&1 && command -v apt-get > /dev/null 2>&1; then
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "cross-check.sh: installing clang (apt-get install clang)" >&2
    $sudo apt-get install -y -qq clang > /dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq clang > /dev/null; } \
        || true
fi

for target in "${targets[@]}"; do
    cc_var="CC_${target//-/_}"
    if [ -z "${!cc_var:-}" ]; then
        if ! command -v clang > /dev/null 2>&1; then
            echo "cross-check.sh: the build scripts need a C compiler for $target: install clang (e.g. 'apt install clang') or set $cc_var" >&2
            exit 2
        fi
        export "$cc_var=clang"
    fi
    # clippy type-checks like `cargo check` and also denies warnings in
    # code only those targets compile.
    echo "cross-check.sh: cargo clippy --target $target" >&2
    cargo clippy --locked --target "$target" --all-targets -- -D warnings
done
