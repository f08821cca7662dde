"""Scores `check --format json` of a set bench_model keyed by PyTorch names:
how many keys the matcher renames confidently, and how many of those name
the tensor the generator meant. Prints "renamed/keys, right"."""
import json
import sys

names = sys.argv[1]
doc = json.load(sys.stdin)
keys = renamed = right = 0
for d in doc["diagnostics"]:
    if d["code"] != "Q501":
        continue
    keys += 1
    if not d["help"].startswith("rename the key"):
        continue
    renamed += 1
    key, got = d["key"], d["suggestions"][0]["name"]
    if key == "quant":
        want = {"tico": "tico::x", "opaque": "t1"}[names]
    else:
        parts = key.split(".")
        layer = int(parts[1])
        what = parts[2] if len(parts) == 3 else "output"
        if names == "tico":
            if what == "output":
                want = "torch.nn.modules.linear.Linear::linear" + ("" if layer == 0 else f"_{layer}")
            else:
                want = f"tico::p_layers_{layer}_{what}"
        else:
            want = "t%d" % ({"weight": 2, "bias": 3, "output": 4}[what] + 3 * layer)
    right += got == want
print(f"{renamed}/{keys}, {right}")
