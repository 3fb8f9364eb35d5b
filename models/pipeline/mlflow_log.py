"""Stage `track`: the MLflow FileStore (mlruns/) for the three training runs and the registered
model, as MLflow 2.x/3.x lays them out (MLflow itself cannot be installed here: no PyPI).

One experiment, `fashion-mnist`; one run per trained model with its params, full metric histories
("<timestamp_ms> <value> <step>" lines), the accuracies measured by the evaluate stage, tags
(mlflow.runName, mlflow.source.git.commit, ...) and an `artifacts/model/MLmodel` with the onnx
flavor. The ONNX bytes are versioned by DVC (dvc-remote/), not copied into mlruns/: MLmodel's
`metadata` names the DVC path and the file's md5 and sha256, which is how the gateway links a run to
the DVC-imported version. The registered model `fashion-classifier` has versions 1-3 (source
runs:/<run_id>/model) and the aliases baseline -> 1, champion -> 2.
"""
import hashlib
import json
import os
import shutil
import subprocess

import yaml

from common import ROOT

MLRUNS = os.path.join(ROOT, "mlruns")
EXPERIMENT = "fashion-mnist"
USER = "modelgate-demo"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def dump(path, data):
    write(path, yaml.safe_dump(data, sort_keys=True, default_flow_style=False))


def stable_id(*parts, digits=None):
    h = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return str(int(h[:15], 16))[:digits] if digits else h[:32]


def file_hashes(path):
    data = open(path, "rb").read()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data)


def main():
    dvc = yaml.safe_load(open(os.path.join(ROOT, "dvc.yaml")))
    evaluation = json.load(open(os.path.join(ROOT, "metrics", "evaluation.json")))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if os.path.exists(MLRUNS):
        shutil.rmtree(MLRUNS)
    runs = [(name, a) for name, a in dvc["artifacts"].items() if a["type"] == "model"]
    first_start = min(json.load(open(os.path.join(ROOT, "build", f"{r}.run.json")))["start_ms"] for r in ("baseline", "champion", "candidate"))
    exp_id = stable_id(EXPERIMENT, digits=18)
    exp_dir = os.path.join(MLRUNS, exp_id)
    dump(os.path.join(MLRUNS, "0", "meta.yaml"), {
        "artifact_location": f"file://{MLRUNS}/0", "creation_time": first_start, "experiment_id": "0",
        "last_update_time": first_start, "lifecycle_stage": "active", "name": "Default",
    })
    dump(os.path.join(exp_dir, "meta.yaml"), {
        "artifact_location": f"file://{exp_dir}", "creation_time": first_start, "experiment_id": exp_id,
        "last_update_time": first_start, "lifecycle_stage": "active", "name": EXPERIMENT,
    })
    registry = os.path.join(MLRUNS, "models", "fashion-classifier")
    aliases, last_update = {}, first_start
    for artifact, a in sorted(runs, key=lambda r: r[1]["meta"]["version"]):
        meta = a["meta"]
        stage = {1: "baseline", 2: "champion", 3: "candidate"}[meta["version"]]
        run = json.load(open(os.path.join(ROOT, "build", f"{stage}.run.json")))
        run_id = stable_id(artifact, run["start_ms"])
        run_dir = os.path.join(exp_dir, run_id)
        md5, sha256, size = file_hashes(os.path.join(ROOT, a["path"]))
        dump(os.path.join(run_dir, "meta.yaml"), {
            "artifact_uri": f"file://{run_dir}/artifacts", "end_time": run["end_ms"], "entry_point_name": "",
            "experiment_id": exp_id, "lifecycle_stage": "active", "run_id": run_id, "run_name": meta["mlflowRunName"],
            "run_uuid": run_id, "source_name": "", "source_type": 4, "source_version": "", "start_time": run["start_ms"],
            "status": 3, "tags": [], "user_id": USER,
        })
        for key, value in run["params"].items():
            write(os.path.join(run_dir, "params", key), str(value).lower() if isinstance(value, bool) else str(value))
        lines = {}
        for key, value, ts, step in run["history"]:
            lines.setdefault(key, []).append(f"{ts} {float(value)!r} {step}\n")
        ev = evaluation[artifact]
        final_step = run["history"][-1][3]
        for key, value in [("eval_accuracy", ev["eval"]["accuracy"]), ("smoke_accuracy", ev["smoke"]["accuracy"]),
                           ("model_size_bytes", float(ev["sizeBytes"]))] + \
                          ([("eval_accuracy_fp32", ev["fp32"]["eval"]["accuracy"])] if "fp32" in ev else []):
            lines.setdefault(key, []).append(f"{run['end_ms']} {float(value)!r} {final_step}\n")
        for key, content in lines.items():
            write(os.path.join(run_dir, "metrics", key), "".join(content))
        mlmodel = {
            "artifact_path": "model",
            "flavors": {"onnx": {"code": None, "data": "model.onnx", "onnx_session_options": None,
                                  "onnx_version": "1.12.0", "providers": ["CPUExecutionProvider"]}},
            "metadata": {"dvc_repo": "models", "dvc_path": a["path"], "dvc_artifact": artifact, "md5": md5, "sha256": sha256},
            "mlflow_version": "2.8.1",
            "model_size_bytes": size,
            "model_uuid": stable_id("model", artifact, md5),
            "run_id": run_id,
            "utc_time_created": "{}".format(__import__("datetime").datetime.utcfromtimestamp(run["end_ms"] / 1000).strftime("%Y-%m-%d %H:%M:%S.%f")),
        }
        dump(os.path.join(run_dir, "artifacts", "model", "MLmodel"), mlmodel)
        tags = {
            "mlflow.runName": meta["mlflowRunName"],
            "mlflow.source.git.commit": commit,
            "mlflow.source.name": "pipeline/train.py",
            "mlflow.source.type": "LOCAL",
            "mlflow.user": USER,
            "mlflow.log-model.history": json.dumps([{k: v for k, v in mlmodel.items() if k != "metadata"}]),
            "dvc.stage": f"train_{stage}",
            "arch": run["arch"],
        }
        for key, value in tags.items():
            write(os.path.join(run_dir, "tags", key), value)
        version = meta["version"]
        dump(os.path.join(registry, f"version-{version}", "meta.yaml"), {
            "creation_timestamp": run["end_ms"], "current_stage": "None", "description": a.get("desc"),
            "last_updated_timestamp": run["end_ms"], "name": "fashion-classifier", "run_id": run_id, "run_link": None,
            "source": f"runs:/{run_id}/model", "status": "READY", "status_message": None, "user_id": None, "version": version,
        })
        write(os.path.join(registry, f"version-{version}", "tags", "dvc.artifact"), artifact)
        for alias in meta.get("aliases", []):
            aliases[alias] = str(version)
            write(os.path.join(registry, "aliases", alias), str(version))
        last_update = max(last_update, run["end_ms"])
    dump(os.path.join(registry, "meta.yaml"), {
        "aliases": aliases, "creation_timestamp": first_start, "deployment_job_id": None, "deployment_job_state": None,
        "description": "Fashion-MNIST clothing classifier (10 classes, 28x28 grayscale photos).",
        "last_updated_timestamp": last_update, "name": "fashion-classifier",
    })


if __name__ == "__main__":
    main()
