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
# Then more tables: `verify` of the chain against `cp` (VERIFY_SIZES), the
# interpreter beside onert on a fixture (INTERPRET; onert from the interop
# venv, .venv, made by scripts/interop.sh), `check` of PyTorch-keyed sets, where every key has
# to be mapped (MAPPING="1024" by default: a 1 GiB model of 16 same-shape
# 4096 x 4096 layers, with tico's tensor names and with names that say
# nothing, and a 400-layer model with 1,201 keys), many keys in one segment
# (LAYERS="4000": that many 64 x 64 layers, 3 keys each and the input's;
# EQUAL="1000": that many layers, every one with the same weights and bias;
# NOTHING="20000": the mlp fixture's set with that many keys naming nothing,
# each a copy of the input's entry), and the rendering of
# 20,000 findings (FINDINGS="10000" entries with two findings each, in a
# pretty and in a one-line qparam.json), and `check --fix --calibrate` on a
# fixture's export (CALIBRATE="resnet18"), and `apply` of weight-only int4
# chains against `cp` of the float model (INT4_SIZES="1024": every weight
# int4 in blocks of 32, written as GGML_Q4_0, and int4 per channel, written
# as INT4). Empty variables skip a table.
#
# Needs GNU time (/usr/bin/time) and about 3x the largest model of free disk
# under BENCH_DIR (default target/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES-"256 512 1024"}
LARGE=${LARGE-"3072"}
MAPPING=${MAPPING-"1024"}
FINDINGS=${FINDINGS-"10000"}
LAYERS=${LAYERS-"4000"}
EQUAL=${EQUAL-"1000"}
NOTHING=${NOTHING-"20000"}
VERIFY_SIZES=${VERIFY_SIZES-"1024"}
INTERPRET=${INTERPRET-"resnet18"}
CALIBRATE=${CALIBRATE-"resnet18"}
INT4_SIZES=${INT4_SIZES-"1024"}
RUNS=${RUNS:-5}
DIR=${BENCH_DIR:-target/bench}
cargo build --release --quiet --bin q-implant --example bench_model --example verify_implant --example bench_findings --example bench_interpret
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

# check of a PyTorch-keyed set: every key mapped by content and order.
# Prints how many keys the matcher renamed confidently and how many of
# those are right (the generator's naming tells which tensor is meant).
mapping_row() {
    local label=$1 d=$2 names=$3; shift 3
    [ -f "$d/model.circle" ] || "$GEN" "$d" "$@" --names "$names" --keys pytorch > /dev/null
    local model="$d/model.circle" qparam="$d/qparam/qparam.json"
    local bytes; bytes=$(stat -c %s "$model")
    read -r cp_s cp_m < <(measure cp "$model" "$d/copy.circle")
    read -r ch_s ch_m < <(measure "$BIN" check "$model" "$qparam" --format json)
    rm -f "$d/copy.circle"
    local right
    # check exits 1 here: every key is a finding until renamed.
    right=$("$BIN" check "$model" "$qparam" --format json | python3 "$(dirname "$0")/bench_mapping_score.py" "$names" || true)
    awk -v l="$label" -v b="$bytes" -v cp="$cp_s" -v ch="$ch_s" -v chm="$ch_m" -v r="$right" 'BEGIN {
        printf "| %s | %.0f MiB | %.3f | %.3f | %.2f | %d | %s |\n", l, b / 1048576, cp, ch, (cp > 0 ? ch / cp : 0), chm, r }'
}
if [ -n "$MAPPING" ]; then
    echo
    echo "| PyTorch-keyed set | model | cp s | check s | check/cp | check RSS MiB | keys renamed, right |"
    echo "|---|---|---|---|---|---|---|"
    for mib in $MAPPING; do
        mapping_row "16 x 4096², tico names" "$DIR/map-tico-$mib" tico 0 --width 4096 --layers $((mib / 64))
        mapping_row "16 x 4096², opaque names" "$DIR/map-opaque-$mib" opaque 0 --width 4096 --layers $((mib / 64))
    done
    mapping_row "400 x 64², 1,201 keys, tico names" "$DIR/map-tico-400" tico 0 --width 64 --layers 400
    mapping_row "400 x 64², 1,201 keys, opaque names" "$DIR/map-opaque-400" opaque 0 --width 64 --layers 400
fi

# Many keys: the matcher is linear in the keys of a segment and in the
# constants of one shape.
if [ -n "$LAYERS$EQUAL$NOTHING" ]; then
    echo
    echo "| many keys | keys | check s | check RSS MiB | keys renamed, right |"
    echo "|---|---|---|---|---|"
fi
for layers in $LAYERS; do
    for names in tico opaque; do
        d="$DIR/layers-$names-$layers"
        [ -f "$d/model.circle" ] || "$GEN" "$d" 0 --width 64 --layers "$layers" --names "$names" --keys pytorch > /dev/null
        read -r ch_s ch_m < <(measure "$BIN" check "$d/model.circle" "$d/qparam/qparam.json" --format json)
        right=$("$BIN" check "$d/model.circle" "$d/qparam/qparam.json" --format json | python3 "$(dirname "$0")/bench_mapping_score.py" "$names" || true)
        echo "| $layers layers of 64², $names names | $((3 * layers + 1)) | $ch_s | $ch_m | $right |"
    done
done
for layers in $EQUAL; do
    for names in tico opaque; do
        d="$DIR/equal-$names-$layers"
        [ -f "$d/model.circle" ] || "$GEN" "$d" 0 --width 64 --layers "$layers" --names "$names" --keys pytorch --equal > /dev/null
        read -r ch_s ch_m < <(measure "$BIN" check "$d/model.circle" "$d/qparam/qparam.json" --format json)
        right=$("$BIN" check "$d/model.circle" "$d/qparam/qparam.json" --format json | python3 "$(dirname "$0")/bench_mapping_score.py" "$names" || true)
        echo "| $layers equal layers of 64², $names names | $((3 * layers + 1)) | $ch_s | $ch_m | $right |"
    done
done
for n in $NOTHING; do
    d="$DIR/nothing-$n"
    rm -rf "$d" && cp -r fixtures/mlp.qparam "$d"
    python3 - "$d/qparam.json" "$n" << 'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
doc = json.load(open(path))
for i in range(n):
    doc[f"bogus.{i}"] = doc["tico::x"]
json.dump(doc, open(path, "w"), indent=1)
PY
    read -r ch_s ch_m < <(measure "$BIN" check fixtures/mlp.circle "$d/qparam.json" --format json)
    read -r nr_s nr_m < <(measure "$BIN" check fixtures/mlp.circle "$d/qparam.json" --format json --no-run)
    echo "| mlp + $n keys naming nothing | $n + 7 | $ch_s ($nr_s with --no-run) | $ch_m | |"
done

# Rendering many findings: two per entry, against the mlp fixture.
if [ -n "$FINDINGS" ]; then
    echo
    echo "| findings | qparam.json | human s | human RSS MiB | concise s | full s | full RSS MiB | json s | json RSS MiB |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in $FINDINGS; do
        for style in pretty one-line; do
            local_dir="$DIR/findings-$n-$style"
            [ -f "$local_dir/qparam.json" ] || target/release/examples/bench_findings "$local_dir" "$n" "$style" > /dev/null
            read -r h_s h_m < <(measure "$BIN" check fixtures/mlp.circle "$local_dir/qparam.json")
            read -r c_s _ < <(measure "$BIN" check fixtures/mlp.circle "$local_dir/qparam.json" --format concise)
            read -r f_s f_m < <(measure "$BIN" check fixtures/mlp.circle "$local_dir/qparam.json" --format full)
            read -r j_s j_m < <(measure "$BIN" check fixtures/mlp.circle "$local_dir/qparam.json" --format json)
            count=$("$BIN" check fixtures/mlp.circle "$local_dir/qparam.json" --format json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["diagnostics"]))' || true)
            echo "| $count | $n entries, $style | $h_s | $h_m | $c_s | $f_s | $f_m | $j_s | $j_m |"
        done
    done
fi

# verify of a chain: the model apply would write, run beside the float one
# on 4 random samples, against cp of the float model.
if [ -n "$VERIFY_SIZES" ]; then
    echo
    echo "| verify | model | cp s | verify s | verify/cp | verify RSS MiB |"
    echo "|---|---|---|---|---|---|"
    for mib in $VERIFY_SIZES; do
        d="$DIR/plain-$mib"
        [ -f "$d/model.circle" ] || "$GEN" "$d" "$mib" plain > /dev/null
        model="$d/model.circle" qparam="$d/qparam/qparam.json"
        bytes=$(stat -c %s "$model")
        read -r cp_s _ < <(measure cp "$model" "$d/copy.circle")
        read -r v_s v_m < <(measure "$BIN" verify "$model" "$qparam" --samples 4 --format json)
        rm -f "$d/copy.circle"
        "$BIN" verify "$model" "$qparam" --samples 4 --format json > /dev/null || { echo "verify failed on $model" >&2; exit 1; }
        awk -v b="$bytes" -v cp="$cp_s" -v v="$v_s" -v vm="$v_m" 'BEGIN {
            printf "| chain, 4 samples | %.0f MiB | %.3f | %.3f | %.2f | %d |\n", b / 1048576, cp, v, (cp > 0 ? v / cp : 0), vm }'
    done
fi

# The interpreter beside onert, in one run: float inference per sample,
# the fake-quantized run, and the peak of live tensors.
if [ -n "$INTERPRET" ]; then
    echo
    echo "| model | onert float ms/sample | q-implant float ms/sample | float/onert | fake-quantized ms/sample | /float | integer kernels ms/sample | /float | peak of live tensors |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for name in $INTERPRET; do
        model="fixtures/$name.circle"
        out=$(target/release/examples/bench_interpret "$model" --samples 16 --repeat 5)
        f=$(sed -n 's/^float: *\([0-9.]*\) ms.*/\1/p' <<< "$out")
        q=$(sed -n 's/^fake-quant *\([0-9.]*\) ms.*/\1/p' <<< "$out")
        i=$(sed -n 's/^integer *\([0-9.]*\) ms.*/\1/p' <<< "$out")
        peak=$(sed -n 's/^memory: *\([0-9]*\) bytes.*/\1/p' <<< "$out")
        if [ -x .venv/bin/python ]; then
            o=$(.venv/bin/python scripts/bench_onert.py "$model" 16 5)
        else
            o="n/a (run scripts/interop.sh first)"
        fi
        awk -v n="$name" -v o="$o" -v f="$f" -v q="$q" -v i="$i" -v p="$peak" 'BEGIN {
            ratio = (o + 0 > 0) ? sprintf("%.2f", f / o) : "n/a"
            printf "| %s | %s | %s | %s | %s | %.2f | %s | %.2f | %.1f MiB |\n", n, o, f, ratio, q, q / f, i, i / f, p / 1048576 }'
    done
fi

# check --fix --calibrate on a fixture's PyTorch-named export with every
# activation entry removed (weights and biases only): the whole command
# (reading, mapping, 16 random samples through the float model, an entry
# for every activation), as --fix --diff so that every run starts from the
# same set and writes nothing.
if [ -n "$CALIBRATE" ]; then
    echo
    echo "| check --fix --calibrate | entries | samples | s | RSS MiB |"
    echo "|---|---|---|---|---|"
    for name in $CALIBRATE; do
        model="fixtures/$name.circle" d="$DIR/calibrate-$name"
        rm -rf "$d" && mkdir -p "$d" && cp "fixtures/$name.torch-qparam/"*.npy "$d/"
        python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
json.dump({k: e for k, e in s.items() if "value" in e}, open(sys.argv[2], "w"), indent=1)' \
            "fixtures/$name.torch-qparam/qparam.json" "$d/qparam.json"
        entries=$(grep -c '"dtype"' "$d/qparam.json")
        read -r c_s c_m < <(measure "$BIN" check --isolated "$model" "$d/qparam.json" --fix --diff --calibrate)
        awk -v n="$name" -v e="$entries" -v s="$c_s" -v m="$c_m" 'BEGIN {
            printf "| %s, PyTorch-named weights and biases only | %d | 16 random | %.3f | %d |\n", n, e, s, m }'
    done
fi

# apply of a weight-only int4 set to a float chain: the weights packed two
# values a byte (and a float16 scale a block of 32) as the model is
# written, against cp of the float model; the output read back and its
# weights unpacked and compared with the npy files.
if [ -n "$INT4_SIZES" ]; then
    echo
    echo "| int4 weights | model | cp s | apply s | apply/cp | apply RSS MiB | output |"
    echo "|---|---|---|---|---|---|---|"
    INT4_VERIFIED=()
    for mib in $INT4_SIZES; do
        for kind in int4-blocks int4; do
            d="$DIR/$kind-$mib"
            [ -f "$d/model.circle" ] || "$GEN" "$d" "$mib" plain --weights "$kind" > /dev/null
            model="$d/model.circle" qparam="$d/qparam/qparam.json"
            bytes=$(stat -c %s "$model")
            read -r cp_s _ < <(measure cp "$model" "$d/copy.circle")
            read -r ap_s ap_m < <(measure "$BIN" apply "$model" "$qparam" -o "$d/q.circle" --force)
            "$BIN" check "$model" "$qparam" > /dev/null || { echo "check failed on $model" >&2; exit 1; }
            INT4_VERIFIED+=("$("$VERIFY" "$d/q.circle" "$qparam")") || { echo "the output of apply on $model is wrong" >&2; exit 1; }
            out_bytes=$(stat -c %s "$d/q.circle")
            rm -f "$d/copy.circle" "$d/q.circle"
            label=$([ "$kind" = int4 ] && echo "int4 per channel (INT4)" || echo "int4, blocks of 32 (GGML_Q4_0)")
            awk -v l="$label" -v b="$bytes" -v cp="$cp_s" -v ap="$ap_s" -v apm="$ap_m" -v o="$out_bytes" 'BEGIN {
                printf "| %s | %.0f MiB | %.3f | %.3f | %.2f | %d | %.0f MiB |\n", l, b / 1048576, cp, ap, (cp > 0 ? ap / cp : 0), apm, o / 1048576 }'
        done
    done
    echo
    for line in "${INT4_VERIFIED[@]}"; do echo "- $line"; done
fi
