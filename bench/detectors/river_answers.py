"""River 0.26.1's answers for tests/all/detectors.rs: each stream (stored with its
answers, so the test needs neither Python nor River) run through River's ADWIN, DDM and
PageHinkley, with the rows at which each signals a change (and, for DDM, where the
warning zone before it began).

Usage: python bench/detectors/river_answers.py > tests/fixtures/detectors/river-0.26.1.json
(the peers' venv: River 0.26.1, pinned in ../shared/peers/requirements-lock.txt)."""
import json
import random

import river
from river import drift


def streams():
    rng = random.Random(20261203)
    bern = lambda p, n: [int(rng.random() < p) for _ in range(n)]
    yield "error rate 0.2 -> 0.5 at 2000", bern(0.2, 2000) + bern(0.5, 2000), True
    yield "error rate 0.1 -> 0.3 rising over 1000 rows", (
        bern(0.1, 3000) + [int(rng.random() < 0.1 + 0.2 * i / 1000) for i in range(1000)] + bern(0.3, 2000)
    ), True
    yield "error rate 0.3, no change (10,000 rows)", bern(0.3, 10000), True
    yield "error rate 0.25 -> 0.1 -> 0.4", bern(0.25, 1500) + bern(0.1, 1500) + bern(0.4, 1500), True
    yield "30 right, then 300 wrong (the warm-up's edge)", [0] * 30 + [1] * 300, True
    gauss = lambda m, n: [round(abs(rng.gauss(m, 1.0)), 3) for _ in range(n)]
    yield "absolute errors, mean shift at 3000", gauss(0.0, 3000) + gauss(1.0, 3000), False
    yield "constant 0.5, then constant 2", [0.5] * 1000 + [2.0] * 1000, False
    yield "absolute errors, small shifts", gauss(0.5, 2000) + gauss(0.7, 2000) + gauss(0.4, 2000), False


DETECTORS = [
    ({"kind": "adwin"}, lambda: drift.ADWIN()),
    ({"kind": "adwin", "delta": 0.05}, lambda: drift.ADWIN(delta=0.05)),
    ({"kind": "ddm"}, lambda: drift.binary.DDM()),
    ({"kind": "ddm", "min_instances": 100, "warning": 1.5, "drift": 2.5},
     lambda: drift.binary.DDM(warm_start=100, warning_threshold=1.5, drift_threshold=2.5)),
    ({"kind": "page_hinkley"}, lambda: drift.PageHinkley()),
    ({"kind": "page_hinkley", "threshold": 10.0, "delta": 0.01, "min_instances": 50},
     lambda: drift.PageHinkley(threshold=10.0, delta=0.01, min_instances=50)),
]


def run(make, stream):
    d = make()
    changes, warning_from = [], None
    for i, x in enumerate(stream):
        d.update(x)
        if d.drift_detected:
            change = {"row": i}
            if warning_from is not None:
                change["warning_from"] = warning_from
            changes.append(change)
            warning_from = None
        elif getattr(d, "warning_detected", False):
            if warning_from is None:
                warning_from = i
        else:
            warning_from = None
    return changes


cases = []
for name, stream, binary in streams():
    for spec, make in DETECTORS:
        if spec["kind"] == "ddm" and not binary:
            continue
        cases.append({"stream": name, "detector": spec, "changes": run(make, stream)})
print(json.dumps({
    "river": river.__version__,
    "streams": {name: stream for name, stream, _ in streams()},
    "cases": cases,
}, separators=(",", ":")))
