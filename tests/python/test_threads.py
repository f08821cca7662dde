"""The GIL is released while a command works: another Python thread keeps
running meanwhile."""
import os
import sys
import threading
import time

import pytest
import q_implant

from support import FIXTURES, load_set


@pytest.fixture
def counter():
    """A thread counting as fast as it can, and the share of the time it
    ran during a call (1.0: all along; near 0: the call held the GIL)."""
    count = [0]
    stop = threading.Event()

    def run():
        while not stop.is_set():
            count[0] += 1

    old = sys.getswitchinterval()
    # Threads take turns every millisecond, so a call that holds the GIL
    # lets the counter run for a millisecond or two at most.
    sys.setswitchinterval(0.001)
    thread = threading.Thread(target=run)
    thread.start()
    start, before = time.perf_counter(), count[0]
    time.sleep(0.2)
    rate = (count[0] - before) / (time.perf_counter() - start)

    def share(call, seconds=0.3):
        during, spent = 0, 0.0
        while spent < seconds:
            before, start = count[0], time.perf_counter()
            call()
            spent += time.perf_counter() - start
            during += count[0] - before
        return during / (rate * spent)

    yield share
    stop.set()
    thread.join()
    sys.setswitchinterval(old)


def test_another_thread_runs_while_a_command_works(counter, tmp_path):
    model = os.path.join(FIXTURES, "resnet18.circle")
    qparam = os.path.join(FIXTURES, "resnet18.torch-qparam", "qparam.json")
    params = load_set(qparam)
    # The oracle: a call that holds the GIL lets the counter run little.
    held = counter(lambda: sum(range(20_000_000)))
    assert held < 0.05, held
    # Released, the counter runs as fast as the cores it shares with the
    # call let it (on a busy machine, well under all along).
    clean_model = os.path.join(FIXTURES, "convnet.circle")
    clean = os.path.join(FIXTURES, "convnet.qparam", "qparam.json")
    out = tmp_path / "o.circle"
    for call in (
        lambda: q_implant.check(model, qparam),
        lambda: q_implant.check(model, params),
        lambda: q_implant.apply(clean_model, clean, out, force=True),
        lambda: q_implant.verify(clean_model, clean, samples=1),
        lambda: q_implant.extract(out),
        lambda: q_implant.diff(qparam, qparam),
    ):
        share = counter(call)
        assert share > max(0.1, 5 * held), (share, held)
