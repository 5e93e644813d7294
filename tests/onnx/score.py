"""Scores a CSV file with a model.onnx as a user would: onnx's full checker first, then
ONNX Runtime. Usage: score.py MODEL.onnx ROWS.csv  Prints one JSON object: the graph's
inputs and outputs and, per output, its values (lists).

Inputs are fed by name from the CSV's columns: float inputs as float32 with empty cells
as NaN, string inputs as strings (empty = missing)."""
import csv, json, sys
import numpy as np
import onnx
import onnxruntime as ort

model_path, rows_path = sys.argv[1], sys.argv[2]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
with open(rows_path, newline="") as f:
    rows = list(csv.DictReader(f))
sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
feed = {}
for i in sess.get_inputs():
    cells = [r[i.name] for r in rows]
    if i.type == "tensor(float)":
        feed[i.name] = np.array([[float(c) if c != "" else np.nan] for c in cells], dtype=np.float32)
    else:
        feed[i.name] = np.array([[c] for c in cells], dtype=object)
names = [o.name for o in sess.get_outputs()]
out = sess.run(names, feed)
print(json.dumps({
    "inputs": [[i.name, i.type] for i in sess.get_inputs()],
    "outputs": {n: v.tolist() for n, v in zip(names, out)},
}))
