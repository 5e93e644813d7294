#!/usr/bin/env python3
"""The regression set of bench/train.sh (stage `trees`, model gbr): the peers' ref_SIZE.parquet
features (20 numeric, cat_5, cat_50) with a target `y` made from them — a Friedman-1 style
non-linear function of five numeric columns, an interaction, a per-category offset of cat_5,
and Gaussian noise (sd 1, seed 7), plus `row` (0..n-1). The rows are independent draws, so
the holdout is the last 20% by `row` for every tool (retrain: a time holdout on `row`;
the peers: train_test_split(shuffle=False)) — the same rows scored by all of them.
Writes PEERS_DATA/reg_SIZE.parquet.

Usage: regression_data.py SIZE"""
import os, sys
import numpy as np
import pandas as pd

size = sys.argv[1]
data = os.environ.get("PEERS_DATA", "/tmp/peers/data")
df = pd.read_parquet(f"{data}/ref_{size}.parquet")
num = [f"num_{i:02d}" for i in range(20)]
x = df[num].to_numpy(dtype="float64")
x = (x - np.nanmean(x, 0)) / np.nanstd(x, 0)
x = np.nan_to_num(x)
rng = np.random.default_rng(7)
codes = df["cat_5"].astype("category").cat.codes.to_numpy()
y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1] / 2) + 5 * (x[:, 2] - 0.5) ** 2 + 4 * x[:, 3]
     + 2 * x[:, 4] + 1.5 * x[:, 5] * x[:, 6] + 1.0 * codes + rng.normal(0, 1, len(df)))
out = df[num + ["cat_5", "cat_50"]].copy()
out["y"] = y
out.insert(0, "row", np.arange(len(out), dtype="int64"))
tmp = f"{data}/reg_{size}.parquet.tmp"
out.to_parquet(tmp, index=False)
os.replace(tmp, f"{data}/reg_{size}.parquet")
