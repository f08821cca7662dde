#!/usr/bin/env bash
# Whole-process benchmark: generates chain-of-FullyConnected models (plain
# layout at several sizes, plus one in the large-model layout), then times
# `cp` of each model (the floor for reading and writing its bytes), `apply`,
# `check` and `inspect`: median wall time and peak RSS over RUNS runs, page
# cache warm. Prints a Markdown table (docs/performance.md keeps the latest),
# then verifies each `apply` output by reading it back: every weight retyped
# with its parameters, its data bytes equal to the npy file's.
#
#   bash scripts/bench.sh                    # 256 MiB, 512 MiB, 1 GiB plain; 3 GiB large
#   SIZES="64 128" LARGE="" bash scripts/bench.sh    # quick look
#
# Needs GNU time (/usr/bin/time) and about 3x the largest model of free disk
# under BENCH_DIR (default target/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES-"256 512 1024"}
LARGE=${LARGE-"3072"}
RUNS=${RUNS:-5}
DIR=${BENCH_DIR:-target/bench}
cargo build --release --quiet --bin q-implant --example bench_model --example verify_implant
BIN=target/release/q-implant
GEN=target/release/examples/bench_model
VERIFY=target/release/examples/verify_implant
VERIFIED=()
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time" >&2; exit 2; }

# Runs a command RUNS times after one warm-up; prints the medians as
# "seconds mib": wall time by the clock, peak RSS by GNU time.
measure() {
    "$@" > /dev/null 2>&1 || true
    : > "$DIR/samples"
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s%N)
        /usr/bin/time -f "%M" -o "$DIR/rss.out" "$@" > /dev/null 2>&1 || true
        end=$(date +%s%N)
        echo "$((end - start)) $(tail -n 1 "$DIR/rss.out")" >> "$DIR/samples"
    done
    local mid=$(((RUNS + 1) / 2))
    local ns kib
    ns=$(cut -d' ' -f1 "$DIR/samples" | sort -n | sed -n "${mid}p")
    kib=$(cut -d' ' -f2 "$DIR/samples" | sort -n | sed -n "${mid}p")
    awk -v ns="$ns" -v kib="$kib" 'BEGIN { printf "%.4f %.0f\n", ns / 1e9, kib / 1024 }'
}

echo "| model | size | cp s | apply s | apply/cp | apply RSS MiB | check s | check/cp | check RSS MiB | inspect s | inspect RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
row() {
    local layout=$1 mib=$2 d="$DIR/$1-$2"
    [ -f "$d/model.circle" ] || "$GEN" "$d" "$mib" "$layout" > /dev/null
    local model="$d/model.circle" qparam="$d/qparam/qparam.json"
    local bytes; bytes=$(stat -c %s "$model")
    read -r cp_s cp_m < <(measure cp "$model" "$d/copy.circle")
    read -r ap_s ap_m < <(measure "$BIN" apply "$model" "$qparam" -o "$d/q.circle" --force)
    read -r ch_s ch_m < <(measure "$BIN" check "$model" "$qparam")
    read -r in_s in_m < <(measure "$BIN" inspect "$model")
    "$BIN" check "$model" "$qparam" > /dev/null || { echo "check failed on $model" >&2; exit 1; }
    VERIFIED+=("$("$VERIFY" "$d/q.circle" "$qparam")") || { echo "the output of apply on $model is wrong" >&2; exit 1; }
    if [ "$layout" = large ]; then
        # Quantized, the weights fit a plain file again; check the large layout too.
        /usr/bin/time -f "%M" -o "$DIR/rss.out" "$BIN" apply "$model" "$qparam" -o "$d/q.circle" --force --layout large 2> /dev/null
        VERIFIED+=("$("$VERIFY" "$d/q.circle" "$qparam"), peak RSS $(($(tail -n 1 "$DIR/rss.out") / 1024)) MiB") || { echo "the large-layout output on $model is wrong" >&2; exit 1; }
    fi
    rm -f "$d/copy.circle" "$d/q.circle"
    awk -v l="$layout" -v b="$bytes" -v cp="$cp_s" -v ap="$ap_s" -v apm="$ap_m" -v ch="$ch_s" -v chm="$ch_m" -v is="$in_s" -v im="$in_m" 'BEGIN {
        printf "| %s | %.0f MiB | %.3f | %.3f | %.2f | %d | %.4f | %.4f | %d | %.4f | %d |\n", l, b / 1048576, cp, ap, (cp > 0 ? ap / cp : 0), apm, ch, (cp > 0 ? ch / cp : 0), chm, is, im }'
}
for mib in $SIZES; do row plain "$mib"; done
for mib in $LARGE; do row large "$mib"; done
echo
for line in "${VERIFIED[@]}"; do echo "- $line"; done
