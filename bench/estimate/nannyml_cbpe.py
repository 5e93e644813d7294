"""NannyML's CBPE on the same scores as retrain's (bench/estimate/run.sh).

nannyml_cbpe.py REFERENCE.csv ANALYSIS.csv CHUNK POSITIVE: REFERENCE holds the
champion's evaluation holdout as `retrain predict` scored it (labels included), ANALYSIS
the new rows; prints one JSON line per chunk of ANALYSIS (estimated and realized
accuracy and ROC AUC, NannyML's own sampling-error band)."""
import json
import sys
import time

import nannyml as nml
import pandas as pd

ref_path, ana_path, chunk, positive = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def load(path):
    df = pd.read_csv(path, dtype={"label": str, "prediction": str})
    return pd.DataFrame({
        "y_true": (df["label"] == positive).astype(int),
        "y_pred": (df["prediction"] == positive).astype(int),
        "y_pred_proba": df[f"proba_{positive}"].astype(float),
    })


reference, analysis = load(ref_path), load(ana_path)
t = time.perf_counter()
cbpe = nml.CBPE(
    y_pred_proba="y_pred_proba",
    y_pred="y_pred",
    y_true="y_true",
    problem_type="classification_binary",
    metrics=["accuracy", "roc_auc"],
    chunk_size=chunk,
)
cbpe.fit(reference)
est = cbpe.estimate(analysis.drop(columns=["y_true"])).filter(period="analysis").to_df()
seconds = time.perf_counter() - t
for i, row in est.iterrows():
    start = int(row[("chunk", "start_index")])
    end = int(row[("chunk", "end_index")]) + 1
    part = analysis.iloc[start:end]
    print(json.dumps({
        "chunk": i,
        "rows": end - start,
        "estimated_accuracy": float(row[("accuracy", "value")]),
        "sampling_error": float(row[("accuracy", "sampling_error")]),
        "estimated_roc_auc": float(row[("roc_auc", "value")]),
        "realized_accuracy": float((part["y_true"] == part["y_pred"]).mean()),
        "seconds": round(seconds, 3),
    }))
