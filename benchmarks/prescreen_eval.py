"""Precision and recall of the sensitive-content pre-screen (sottovoce/review/prescreen.py).

Flagged = any category (what keeps a clip out of the general queue); per category too. On the
labelled set (benchmarks/prescreen_set.py: DEV and TEST) and the false-flag rate on SLURP's test
sentences (real assistant commands, taken as not sensitive; each flagged one is printed with
``--show`` so a reader can judge it). Wilson 95% intervals.

    python benchmarks/prescreen_eval.py [--json] [--show] [--quick]

SLURP text: /work/shared/corpus/slurp-text (CC BY 4.0), or BENCH_CORPUS_DIR/slurp-text.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.prescreen_set import DEV, TEST  # noqa: E402
from sottovoce.review.prescreen import CATEGORIES, screen  # noqa: E402

CORPUS = Path(os.environ.get("BENCH_CORPUS_DIR", "/work/shared/corpus"))


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [0.0, 0.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def evaluate(rows: list[tuple[str, str]]) -> dict:
    predicted = [(screen(text), label) for text, label in rows]
    out: dict = {"n": len(rows), "positives": sum(1 for _, label in rows if label)}
    tp = sum(1 for p, label in predicted if p and label)
    fp = sum(1 for p, label in predicted if p and not label)
    fn = sum(1 for p, label in predicted if not p and label)
    out["flagged"] = {
        "precision": round(tp / max(1, tp + fp), 3), "precision_ci95": wilson(tp, tp + fp),
        "recall": round(tp / max(1, tp + fn), 3), "recall_ci95": wilson(tp, tp + fn), "tp": tp, "fp": fp, "fn": fn,
    }
    for category in CATEGORIES:
        ctp = sum(1 for p, label in predicted if p == category and label == category)
        cfp = sum(1 for p, label in predicted if p == category and label != category)
        cfn = sum(1 for p, label in predicted if p != category and label == category)
        out[category] = {"precision": round(ctp / max(1, ctp + cfp), 3), "recall": round(ctp / max(1, ctp + cfn), 3), "tp": ctp, "fp": cfp, "fn": cfn}
    out["misses"] = [text for (p, label), (text, _) in zip(predicted, rows, strict=True) if label and not p]
    out["false_flags"] = [f"{p}: {text}" for (p, label), (text, _) in zip(predicted, rows, strict=True) if p and not label]
    return out


def slurp(limit: int | None) -> dict:
    path = CORPUS / "slurp-text" / "dataset" / "slurp" / "test.jsonl"
    if not path.exists():
        return {"skipped": f"{path} not found"}
    sentences = [json.loads(line)["sentence"] for line in path.read_text().splitlines() if line.strip()][:limit]
    started = time.process_time()
    flagged = [(screen(s), s) for s in sentences]
    cpu = time.process_time() - started
    hits = [f"{c}: {s}" for c, s in flagged if c]
    return {"n": len(sentences), "flagged": len(hits), "flag_rate": round(len(hits) / max(1, len(sentences)), 4),
            "flag_rate_ci95": wilson(len(hits), len(sentences)), "cpu_us_per_text": round(1e6 * cpu / max(1, len(sentences)), 1), "examples": hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="print misses and false flags")
    parser.add_argument("--quick", action="store_true", help="500 SLURP sentences only")
    args = parser.parse_args()
    report = {"dev": evaluate(DEV), "test": evaluate(TEST), "slurp_test": slurp(500 if args.quick else None)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| set | n | positives | precision (95% CI) | recall (95% CI) | fp | fn |")
    print("|---|---|---|---|---|---|---|")
    for name in ("dev", "test"):
        r, f = report[name], report[name]["flagged"]
        print(f"| {name} | {r['n']} | {r['positives']} | {f['precision']} {f['precision_ci95']} | {f['recall']} {f['recall_ci95']} | {f['fp']} | {f['fn']} |")
    s = report["slurp_test"]
    if "n" in s:
        print(f"\nSLURP test: {s['flagged']} of {s['n']} flagged ({s['flag_rate']:.2%}, 95% CI {s['flag_rate_ci95']}), {s['cpu_us_per_text']} µs CPU per text")
    for name in ("dev", "test"):
        print(f"\n{name} per category: " + "; ".join(f"{c} P {report[name][c]['precision']} R {report[name][c]['recall']}" for c in CATEGORIES))
    if args.show:
        for name in ("dev", "test"):
            print(f"\n{name} misses:", *report[name]["misses"], sep="\n  ")
            print(f"{name} false flags:", *report[name]["false_flags"], sep="\n  ")
        print("\nSLURP flagged:", *s.get("examples", []), sep="\n  ")


if __name__ == "__main__":
    main()
