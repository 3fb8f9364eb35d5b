"""Prints the per-model table of models/README.md from the pipeline's own records:
build/<name>.run.json (training) and metrics/evaluation.json (the evaluate stage, which reran the
ONNX files with onnxruntime-node).

    python3 pipeline/report.py
"""
import json
import os

import yaml

from common import ROOT


def main():
    dvc = yaml.safe_load(open(os.path.join(ROOT, "dvc.yaml")))
    evaluation = json.load(open(os.path.join(ROOT, "metrics", "evaluation.json")))
    stages = {1: "baseline", 2: "champion", 3: "candidate"}
    print("| version | artifact | architecture | parameters | committed file | training here | eval accuracy, committed file | eval accuracy, fp32 | smoke accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, a in sorted(dvc["artifacts"].items(), key=lambda kv: kv[1].get("meta", {}).get("version", 99)):
        if a["type"] != "model":
            continue
        v = a["meta"]["version"]
        run = json.load(open(os.path.join(ROOT, "build", f"{stages[v]}.run.json")))
        ev = evaluation[name]
        fp32 = ev.get("fp32", {"eval": ev["eval"], "sizeBytes": ev["sizeBytes"]})
        minutes = run["train_seconds"] / 60
        print(
            f"| v{v} ({', '.join(a['meta'].get('aliases') or ['-'])}) | `{a['path']}` | {run['arch']} | {run['params']['parameters']:,} | "
            f"{ev['sizeBytes'] / 1e6:.2f} MB | {minutes:.0f} min ({run['params']['epochs']} epochs) | "
            f"{ev['eval']['accuracy'] * 100:.2f}% | {fp32['eval']['accuracy'] * 100:.2f}% ({fp32['sizeBytes'] / 1e6:.1f} MB) | "
            f"{ev['smoke']['accuracy'] * 100:.0f}% |"
        )


if __name__ == "__main__":
    main()
