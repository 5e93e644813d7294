"""River's half of bench/detectors/run.sh: a detector over a stream (one number per
line); prints the change rows and the fastest of `repeat` runs' seconds as JSON.

Usage: python river_run.py STREAM.txt adwin|ddm|page_hinkley [repeat]"""
import json
import sys
import time

from river import drift

path, kind = sys.argv[1], sys.argv[2]
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5
stream = [float(l) for l in open(path) if l.strip()]
make = {"adwin": drift.ADWIN, "ddm": drift.binary.DDM, "page_hinkley": drift.PageHinkley}[kind]
best, changes = float("inf"), []
for _ in range(repeat):
    d, found = make(), []
    started = time.perf_counter()
    for i, x in enumerate(stream):
        d.update(x)
        if d.drift_detected:
            found.append(i)
    best = min(best, time.perf_counter() - started)
    changes = found
print(json.dumps({"rows": len(stream), "seconds": best, "changes": changes}))
