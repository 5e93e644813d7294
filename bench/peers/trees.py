#!/usr/bin/env python3
"""Tree-ensemble peers for bench/train.sh (stage `trees`): one model per process, so that
/usr/bin/time's peak RSS is that model's alone. Same data and split as the peers' gbdt_peer.py:
the peers' ref_SIZE.parquet, 80/20 random split (random_state=42), 20 numeric + cat_5, cat_50
as pandas categoricals (native categorical handling in both libraries).

Usage: trees.py SIZE MODEL   MODEL: lightgbm | hgb | rf | lightgbm-reg | hgb-reg   Prints one JSON line.
  lightgbm  LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, n_jobs=2)
  hgb       HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, learning_rate=0.1,
            early_stopping=False, categorical_features="from_dtype")
  rf        RandomForestClassifier(n_estimators=100, max_depth=RF_DEPTH (12), n_jobs=2,
            random_state=0) on the numeric columns plus cat_5, cat_50 one-hot (scikit-learn's
            forests take no categorical dtype)
  lightgbm-reg, hgb-reg  the regressors with the same settings on reg_SIZE.parquet
            (regression_data.py: target `y`), squared error, the last 20% by `row` held out
            (retrain's time holdout on the same rows); prints the holdout RMSE
"""
import json, os, sys, time
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score, roc_auc_score

size, model = sys.argv[1], sys.argv[2]
data = os.environ.get("PEERS_DATA", "/tmp/peers/data")
regression = model.endswith("-reg")
df = pd.read_parquet(f"{data}/{'reg' if regression else 'ref'}_{size}.parquet")
num = [f"num_{i:02d}" for i in range(20)]
for c in ("cat_5", "cat_50"):
    df[c] = df[c].astype("category")
X = df[num + ["cat_5", "cat_50"]]
if model == "rf":
    X = pd.get_dummies(X, columns=["cat_5", "cat_50"], dtype="float32")
y = df["y" if regression else "label"].to_numpy()
if regression:  # the last 20% by `row`, as retrain's time holdout on `row` (regression_data.py)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, shuffle=False)
else:
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)
if model == "lightgbm":
    import lightgbm as lgb
    m = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, verbose=-1, n_jobs=2)
elif model == "hgb":
    from sklearn.ensemble import HistGradientBoostingClassifier
    m = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, learning_rate=0.1,
                                       early_stopping=False, categorical_features="from_dtype")
elif model == "lightgbm-reg":
    import lightgbm as lgb
    m = lgb.LGBMRegressor(n_estimators=100, num_leaves=31, learning_rate=0.1, verbose=-1, n_jobs=2)
elif model == "hgb-reg":
    from sklearn.ensemble import HistGradientBoostingRegressor
    m = HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=31, learning_rate=0.1,
                                      early_stopping=False, categorical_features="from_dtype")
elif model == "rf":
    from sklearn.ensemble import RandomForestClassifier
    m = RandomForestClassifier(n_estimators=100, max_depth=int(os.environ.get("RF_DEPTH", 12)),
                               n_jobs=2, random_state=0)
else:
    sys.exit(f"unknown model {model}")
t = time.perf_counter()
m.fit(Xtr, ytr)
fit_s = time.perf_counter() - t
if regression:
    import numpy as np
    rmse = float(np.sqrt(np.mean((m.predict(Xte) - yte) ** 2)))
    print(json.dumps({"size": size, "model": model, "n_train": len(ytr), "fit_s": round(fit_s, 3),
                      "rmse": rmse}))
    sys.exit(0)
p = m.predict_proba(Xte)
print(json.dumps({"size": size, "model": model, "n_train": len(ytr), "fit_s": round(fit_s, 3),
                  "accuracy": accuracy_score(yte, m.classes_[p.argmax(1)]),
                  "roc_auc": roc_auc_score(yte, p[:, 1])}))
