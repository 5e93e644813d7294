#!/usr/bin/env python3
"""Markdown tables from the raw benchmark results (hyperfine JSON, RSS files, measure.py JSONL).

Usage: summarize.py snapshot|drift RESULTS_DIR
"""
import json
import os
import statistics
import sys

mode, res = sys.argv[1], sys.argv[2]


def hf(path):
    return {r["command"]: r for r in json.load(open(path))["results"]}


def rss_mb(path, runs=None):
    """Peak RSS (MB) of every run in an append-mode /usr/bin/time -f %M file: the last `runs`
    lines (the kept attempt's measured runs; without `runs`, all lines, warm-up included)."""
    if not os.path.exists(path):
        return None
    v = [int(l) / 1024 for l in open(path) if l.strip().isdigit()]
    if runs:
        v = v[-runs:]
    return v or None


def fmt_rss(v):
    if not v:
        return "—"
    return f"{statistics.median(v):.0f} ({min(v):.0f}–{max(v):.0f})"


def fmt_t(r):
    return f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})"


def load_interference():
    p = os.path.join(res, "interference.jsonl")
    out = {}
    if os.path.exists(p):
        for l in open(p):
            d = json.loads(l)
            out[d["block"]] = d  # the latest record of each block
    return out


INT = load_interference()


def note(block):
    d = INT.get(block)
    if not d:
        return "—"
    return (f"other processes: {d['other_cpu_s']} CPU s in {d['wall_s']} s (attempt {d['attempt']}); "
            f"rustc {d['rustc_before']}/{d['rustc_after']}")


def snapshot():
    d = os.path.join(res, "snapshot")
    data = {j["dir"]: j for j in map(json.loads, open(os.path.join(d, "data.jsonl")))}
    hb = data["hash"]["bytes"]
    print(f"### Hashing, warm page cache: {data['hash']['files']} CSV files, {hb / 1e9:.3f} GB "
          f"({hb} bytes), {len(next(iter(hf(os.path.join(d, 'hash_anchors.json')).values()))['times'])} runs\n")
    print("| command | median s (min–max) | GB/s (median) | GB/s (best run) | peak RSS MB median (min–max) | machine during block |")
    print("|---|---|---|---|---|---|")
    rows = []
    a = hf(os.path.join(d, "hash_anchors.json"))
    rssf = {"cat": "hash_cat", "b3sum": "hash_b3sum", "md5sum": "hash_md5sum",
            "retrain snapshot (unchanged)": "hash_retrain"}
    for name, r in a.items():
        rows.append((name, r, rss_mb(os.path.join(d, "rss", rssf[name] + ".txt"), len(r["times"])), "hash_anchors"))
    for ct in ("default", "hardlink"):
        p = os.path.join(d, f"hash_dvc_{ct}.json")
        if os.path.exists(p):
            for name, r in hf(p).items():
                rows.append((name, r, rss_mb(os.path.join(d, "rss", f"hash_dvc_{ct}.txt"), len(r["times"])), f"hash_dvc_{ct}"))
    med = {}
    for name, r, rss, blk in rows:
        med[name] = r["median"]
        print(f"| `{name}` | {fmt_t(r)} | {hb / r['median'] / 1e9:.2f} | {hb / r['min'] / 1e9:.2f} | {fmt_rss(rss)} | {note(blk)} |")
    rt = med["retrain snapshot (unchanged)"]
    print("\n| ratio (throughput, medians) | value | target |")
    print("|---|---|---|")
    print(f"| retrain / b3sum | {med['b3sum'] / rt:.2f} | ≥ 0.8 |")
    print(f"| retrain / md5sum | {med['md5sum'] / rt:.2f} | — |")
    for ct in ("default", "hardlink"):
        k = f"dvc add ({ct} cache.type)"
        if k in med:
            print(f"| retrain / {k} | {med[k] / rt:.1f}× | ≥ 3× |")
    p = os.path.join(d, "hash1.json")
    if os.path.exists(p):
        fb = data["prof-10m"]["bytes"]
        h = hf(p)
        print(f"\n### Hashing one file: prof-10m's Parquet file, {fb / 1e9:.3f} GB, warm page cache\n")
        print("| command | median s (min–max) | GB/s (median) | peak RSS MB median (min–max) | machine during block |")
        print("|---|---|---|---|---|")
        rf = {"b3sum": "hash1_b3sum", "retrain snapshot (unchanged)": "hash1_retrain"}
        for name, r in h.items():
            print(f"| `{name}` | {fmt_t(r)} | {fb / r['median'] / 1e9:.2f} | "
                  f"{fmt_rss(rss_mb(os.path.join(d, 'rss', rf[name] + '.txt'), len(r['times'])))} | {note('hash1')} |")
        print(f"\nretrain / b3sum (one file): {h['b3sum']['median'] / h['retrain snapshot (unchanged)']['median']:.2f}")
    print("\n### Snapshot from scratch (hash + profile every column), 24 columns, warm page cache\n")
    print("| data | files | bytes | rows | median s (min–max) | mean ± sd s | user+sys s (mean) | peak RSS MB median (min–max) | machine during block |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("prof-1m", "prof-1m-p10", "prof-10m", "prof-10m-p10", "hash"):
        p = os.path.join(d, f"profile_{name}.json")
        if not os.path.exists(p):
            continue
        r = next(iter(hf(p).values()))
        o = json.load(open(os.path.join(d, f"profile_{name}_output.json")))
        o = o["snapshots"][0] if "snapshots" in o else o
        dd = data[name]
        label = "hash (CSV, the hashing data)" if name == "hash" else f"{name} (Parquet)"
        print(f"| {label} | {dd['files']} | {dd['bytes'] / 1e6:.0f} MB | {o['rows']:,} | {fmt_t(r)} | "
              f"{r['mean']:.3f} ± {r['stddev']:.3f} | {r['user'] + r['system']:.2f} | "
              f"{fmt_rss(rss_mb(os.path.join(d, 'rss', f'profile_{name}.txt'), len(r['times'])))} | {note('profile_' + name)} |")


def peer_rows(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path)]


def drift():
    d = os.path.join(res, "drift")
    sizes = [s for s in ("100k", "1m", "10m") if os.path.exists(os.path.join(d, f"retrain_check_{s}.json"))]
    print("### Drift: time and peak RSS (whole process, warm page cache)\n")
    print("| rows (each side) | tool | runs | wall s median (min–max) | CPU s user+sys (median) | peak RSS MB median (min–max) | machine during block |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for s in sizes:
        ref = next(iter(hf(os.path.join(d, f"retrain_ref_{s}.json")).values()))
        chk = next(iter(hf(os.path.join(d, f"retrain_check_{s}.json")).values()))
        for label, r, f, blk in (("retrain snapshot (reference: hash + profile)", ref, f"retrain_ref_{s}", f"retrain_reference_snapshot_{s}"),
                                 ("retrain check (current: snapshot + read + drift)", chk, f"retrain_check_{s}", f"retrain_check_{s}")):
            print(f"| {s} | {label} | {len(r['times'])} | {fmt_t(r)} | {r['user'] + r['system']:.2f} (mean) | "
                  f"{fmt_rss(rss_mb(os.path.join(d, 'rss', f + '.txt'), len(r['times'])))} | {note(blk)} |")
        tot = ref["median"] + chk["median"]
        print(f"| {s} | retrain total (reference snapshot + check), medians | — | {tot:.3f} | — | — | — |")
        summary[s] = {"retrain_check": chk["median"], "retrain_total": tot,
                      "retrain_rss": max(max(rss_mb(os.path.join(d, 'rss', f'retrain_ref_{s}.txt'), len(ref['times'])) or [0]),
                                         max(rss_mb(os.path.join(d, 'rss', f'retrain_check_{s}.txt'), len(chk['times'])) or [0]))}
        for tag, label in (("scipy_polars", "polars + scipy (peers' scipy_drift.py)"),
                           ("evidently", "Evidently DataDriftPreset defaults (peers' evidently_drift.py)")):
            rows = [r for r in peer_rows(os.path.join(d, f"peer_{tag}_{s}.jsonl")) if r.get("rc") == 0]
            if not rows:
                continue
            w = [r["wall_s"] for r in rows]
            cpu = [r["user_s"] + r["sys_s"] for r in rows]
            rss = [r["max_rss_mb"] for r in rows]
            other = [r.get("other_cpu_s") for r in rows]
            print(f"| {s} | {label} | {len(rows)} | {statistics.median(w):.2f} ({min(w):.2f}–{max(w):.2f}) | "
                  f"{statistics.median(cpu):.2f} | {fmt_rss(rss)} | {note(tag + '_' + s)}; measure.py other CPU s per run {other} |")
            summary[s][tag] = (statistics.median(w), statistics.median(rss))
    print("\n| rows | Evidently / retrain check | Evidently / retrain (snapshot + check) | polars+scipy / retrain check | polars+scipy / retrain (snapshot + check) | peak RSS: retrain max / Evidently / polars+scipy (MB) |")
    print("|---|---|---|---|---|---|")
    for s, v in summary.items():
        ev = v.get("evidently", (float("nan"), float("nan")))
        sp = v.get("scipy_polars", (float("nan"), float("nan")))
        print(f"| {s} | {ev[0] / v['retrain_check']:.1f}× | {ev[0] / v['retrain_total']:.1f}× | "
              f"{sp[0] / v['retrain_check']:.1f}× | {sp[0] / v['retrain_total']:.1f}× | "
              f"{v['retrain_rss']:.0f} / {ev[1]:.0f} / {sp[1]:.0f} |")
    print()
    for s in sizes:
        print(f"### Drift verdicts per column, {s} rows (truth: num_00, num_04, num_08, num_12, num_16, cat_50)\n")
        out = json.load(open(os.path.join(d, f"retrain_check_output_{s}.json")))
        out = out["checks"][0] if "checks" in out else out  # one model: a single object
        cols = {c["column"]: c for c in out["drift"]["columns"]}
        ev = [r for r in peer_rows(os.path.join(d, f"peer_evidently_{s}.jsonl")) if r.get("rc") == 0]
        ev = ev[-1]["result"] if ev else None
        sp = [r for r in peer_rows(os.path.join(d, f"peer_scipy_polars_{s}.jsonl")) if r.get("rc") == 0]
        sp = sp[-1]["result"] if sp else None
        truth = {"num_00", "num_04", "num_08", "num_12", "num_16", "cat_50"}
        print("| column | truth | retrain method | retrain statistic | threshold | retrain drifted | approx. | Evidently score | Evidently drifted | Δ statistic | agree |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        mism = []
        for name, c in cols.items():
            es = ev["scores"].get(name) if ev else None
            ed = (name in ev["flagged"]) if ev else None
            st = c.get("statistic")
            agree = "—" if ed is None else ("yes" if ed == c["drifted"] else "**NO**")
            if ed is not None and ed != c["drifted"]:
                mism.append(name)
            delta = f"{st - es:+.6f}" if (st is not None and es is not None) else "—"
            print(f"| {name} | {'drift' if name in truth else ''} | {c['method']} | "
                  f"{'—' if st is None else f'{st:.6f}'} | {c['threshold']} | {c['drifted']} | {c.get('approximate')} | "
                  f"{'—' if es is None else f'{es:.6f}'} | {ed} | {delta} | {agree} |")
        flagged = [n for n, c in cols.items() if c["drifted"]]
        print(f"\nretrain flagged: {flagged}; missed {sorted(truth - set(flagged))}, false positives {sorted(set(flagged) - truth)}")
        if ev:
            print(f"Evidently flagged: {ev['flagged']}")
        print(f"disagreements with Evidently: {mism or 'none'}")
        if sp:
            print(f"polars+scipy flagged: KS p<0.05 {sp['ks_flagged']}, chi2 p<0.05 {sp['chi2_flagged']}, PSI>0.1 {sp['psi_flagged']}")
        dr = out["drift"]
        print(f"retrain dataset drift: {dr['drifted']}/{dr['tested']} columns (share {dr['share']:.3f}, threshold {dr['share_threshold']}), "
              f"reference rows {dr['reference_rows']}, current rows {dr['current_rows']}\n")


snapshot() if mode == "snapshot" else drift()
