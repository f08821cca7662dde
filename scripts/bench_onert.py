"""Times onert (the ONE runtime, CPU) on a float model: the best time per
sample of REPEAT runs of SAMPLES samples, inference only (the session is
prepared once; inputs are set and outputs read each sample, as a caller
would). Prints "ms_per_sample". Run with the interop venv's Python:

    .venv/bin/python scripts/bench_onert.py fixtures/resnet18.circle 16 5
"""
import sys
import time

import numpy as np
from onert.native.libnnfw_api_pybind import prepare_config
from onert.native.libnnfw_api_pybind.infer import nnfw_session
from circle_schema.v0_10.circle.Model import ModelT


def main(path, samples, repeat):
    model = ModelT.InitFromPackedBuf(bytearray(open(path, "rb").read()), 0)
    sg = model.subgraphs[0]
    rng = np.random.default_rng(0)
    xs = [[rng.uniform(-1, 1, sg.tensors[i].shape).astype(np.float32) for i in sg.inputs] for _ in range(samples)]
    s = nnfw_session(path, "cpu")
    s.set_prepare_config(prepare_config.ENABLE_INTERNAL_OUTPUT_ALLOC)
    s.prepare()
    best = float("inf")
    for _ in range(repeat + 1):
        start = time.perf_counter()
        for sample in xs:
            for i, x in enumerate(sample):
                s.set_input(i, x)
            s.run()
            s.get_output(0)
        best = min(best, (time.perf_counter() - start) / samples)
    print(f"{best * 1e3:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
