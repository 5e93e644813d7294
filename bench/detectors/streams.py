"""The streams of bench/detectors/run.sh, one number per line, into DIR:
  elec2_errors.txt   River's logistic regression, test-then-train over Elec2 (45,312
                     rows, in time order): 1 when it got the row wrong, else 0 — a real
                     error stream of a drifting dataset
  elec2_abs.txt      the same model's absolute error on the probability of class 1
  synth_1m.txt       1M 0/1 errors, the error rate moving every 100k rows (seeded)
Usage: python streams.py ELEC2_CSV DIR"""
import csv
import os
import random
import sys

from river import linear_model, preprocessing

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
errors, absolute = [], []
with open(src) as f:
    for row in csv.DictReader(f):
        y = row.pop("class") in ("1", "UP")
        x = {k: float(v) for k, v in row.items()}
        p = model.predict_proba_one(x).get(True, 0.0)
        errors.append(int((p >= 0.5) != y))
        absolute.append(round(abs(float(y) - p), 6))
        model.learn_one(x, y)
rng = random.Random(7)
rates = [0.1, 0.3, 0.15, 0.15, 0.4, 0.2, 0.25, 0.05, 0.3, 0.1]
synth = [int(rng.random() < rates[i // 100_000]) for i in range(1_000_000)]
for name, values in [("elec2_errors", errors), ("elec2_abs", absolute), ("synth_1m", synth)]:
    with open(os.path.join(out, name + ".txt"), "w") as f:
        f.write("\n".join(str(v) for v in values) + "\n")
    print(name, len(values))
