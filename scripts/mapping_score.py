"""Scores the name matcher against answer keys: for each PyTorch-keyed set,
how many parameter keys and how many module-output keys get the right top
suggestion (the first suggestion of the key's Q501 finding) in
`q-implant check --format json`, compared with the set's expected.json.

    python scripts/mapping_score.py CHECK.json EXPECTED.json [CHECK.json EXPECTED.json ...]

A key is a parameter when its qparam.json entry (beside expected.json) has
a value. Keys under "unmappable" in expected.json have no right answer and
are counted apart; "equivalents" lists, for an output key, other tensors
holding the same values as its answer (a transposed or reshaped copy): the
score counts only the answer, the last column how many more outputs would
be right if those counted too. Prints a Markdown table, a row per set and
a total.
"""
import json
import os
import sys

# Entries of expected.json that are not keys.
NOT_KEYS = ("unmappable", "equivalents")


def top_suggestions(check):
    """key -> the name of its Q501 finding's first suggestion (None: none)."""
    tops = {}
    for d in check.get("diagnostics", []):
        if d.get("code") == "Q501" and d.get("key") is not None:
            suggestions = d.get("suggestions") or []
            tops[d["key"]] = suggestions[0].get("name") if suggestions else None
    return tops


def score(check_path, expected_path):
    with open(check_path) as f:
        tops = top_suggestions(json.load(f))
    with open(expected_path) as f:
        expected = json.load(f)
    with open(os.path.join(os.path.dirname(expected_path), "qparam.json")) as f:
        entries = json.load(f)
    equivalents = expected.get("equivalents", {})
    row = {"params": [0, 0], "outputs": [0, 0], "none": 0, "equiv": 0,
           "unmappable": len(expected.get("unmappable", {}))}
    for key, tensor in expected.items():
        if key in NOT_KEYS:
            continue
        if key not in entries:
            sys.exit(f"{expected_path}: `{key}` is not a key of qparam.json")
        got = tops.get(key)
        tally = row["params"] if "value" in entries[key] else row["outputs"]
        tally[1] += 1
        if got == tensor:
            tally[0] += 1
        elif got is None:
            row["none"] += 1
        elif got in equivalents.get(key, []):
            row["equiv"] += 1
    return row


def main(argv):
    if not argv or len(argv) % 2:
        sys.exit(__doc__)
    print("| set | parameters right | outputs right | no suggestion | unmappable keys | outputs right by an equivalent |")
    print("|---|---|---|---|---|---|")
    total = {"params": [0, 0], "outputs": [0, 0], "none": 0, "equiv": 0, "unmappable": 0}
    for check_path, expected_path in zip(argv[::2], argv[1::2]):
        row = score(check_path, expected_path)
        name = os.path.basename(os.path.dirname(os.path.abspath(expected_path))).split(".")[0]
        print(f"| {name} | {row['params'][0]}/{row['params'][1]} | {row['outputs'][0]}/{row['outputs'][1]} "
              f"| {row['none']} | {row['unmappable']} | {row['equiv']} |")
        for k in ("params", "outputs"):
            total[k] = [total[k][0] + row[k][0], total[k][1] + row[k][1]]
        for k in ("none", "equiv", "unmappable"):
            total[k] += row[k]
    pct = lambda r: f" ({100 * r[0] / r[1]:.0f}%)" if r[1] else ""
    print(f"| total | {total['params'][0]}/{total['params'][1]}{pct(total['params'])} "
          f"| {total['outputs'][0]}/{total['outputs'][1]}{pct(total['outputs'])} | {total['none']} "
          f"| {total['unmappable']} | {total['equiv']} |")


if __name__ == "__main__":
    main(sys.argv[1:])
