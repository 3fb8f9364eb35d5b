"""A stand-in for `dvc repro` + `dvc push`, writing DVC 3's own formats (DVC itself cannot be
installed here: no PyPI).

    python3 pipeline/dvc_repro.py [stage ...] [--force]
    python3 pipeline/dvc_repro.py [stage ...] --commit   # record (and push) what the workspace holds, like `dvc commit`

For each stage of dvc.yaml (in file order, or the ones named): when its deps, params or outs differ
from dvc.lock, runs its cmd; then records deps/params/outs in dvc.lock exactly as DVC 3 does
(`hash: md5`, raw-byte md5, `<md5>.dir` for directories with a JSON manifest sorted by relpath,
`size`, `nfiles`), pushes every out not marked `push: false` to the default local remote in DVC 3's
content-addressed layout (`files/md5/ab/cdef...`), and lists workspace outs in .gitignore files the
way DVC does (metrics with `cache: false` stay in git).
"""
import configparser
import hashlib
import json
import os
import shutil
import subprocess
import sys

import yaml

from common import ROOT

LOCK = os.path.join(ROOT, "dvc.lock")


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dir_manifest(path):
    """DVC's .dir object: [{"md5", "relpath"}] sorted by relpath, json.dumps(sort_keys=True)."""
    entries, size = [], 0
    for base, _, files in os.walk(path):
        for name in files:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            entries.append({"md5": md5_file(full), "relpath": rel})
            size += os.path.getsize(full)
    entries.sort(key=lambda e: e["relpath"])
    body = json.dumps(entries, sort_keys=True).encode("utf-8")
    return body, entries, size


def hash_entry(rel):
    """The lock entry of one dep or out: path, hash, md5, size (+ nfiles for a directory)."""
    full = os.path.join(ROOT, rel)
    if os.path.isdir(full):
        body, entries, size = dir_manifest(full)
        return {"path": rel, "hash": "md5", "md5": hashlib.md5(body).hexdigest() + ".dir", "size": size, "nfiles": len(entries)}
    return {"path": rel, "hash": "md5", "md5": md5_file(full), "size": os.path.getsize(full)}


def out_specs(stage):
    """[(path, options)] for outs and metrics, options being DVC's per-output flags."""
    specs = []
    for key in ("outs", "metrics", "plots"):
        for item in stage.get(key, []):
            if isinstance(item, str):
                specs.append((item, {}))
            else:
                (path, opts), = item.items()
                specs.append((path, opts or {}))
    return specs


def params_of(stage, all_params):
    out = {}
    for p in stage.get("params", []):
        if isinstance(p, str):
            node = all_params
            for part in p.split("."):
                node = node[part]
            out[p] = node
    return {"params.yaml": out} if out else {}


def remote_dir():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, ".dvc", "config"))
    name = cfg["core"]["remote"]
    url = cfg[f"'remote \"{name}\"'"]["url"]
    # Relative remote URLs are relative to the .dvc folder, as in DVC.
    return os.path.normpath(os.path.join(ROOT, ".dvc", url))


def push(rel, entry):
    remote = os.path.join(remote_dir(), "files", "md5")
    full = os.path.join(ROOT, rel)

    def put(src_bytes_or_path, md5):
        dest = os.path.join(remote, md5[:2], md5[2:])
        if os.path.exists(dest):
            return
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if isinstance(src_bytes_or_path, bytes):
            with open(dest, "wb") as f:
                f.write(src_bytes_or_path)
        else:
            shutil.copyfile(src_bytes_or_path, dest)
        os.chmod(dest, 0o444)

    if entry["md5"].endswith(".dir"):
        body, entries, _ = dir_manifest(full)
        for e in entries:
            put(os.path.join(full, e["relpath"]), e["md5"])
        put(body, entry["md5"])
    else:
        put(full, entry["md5"])


def gitignore(rel):
    """DVC lists a cached output as `/name` in the .gitignore beside it."""
    parent, name = os.path.split(rel)
    path = os.path.join(ROOT, parent, ".gitignore")
    lines = open(path).read().splitlines() if os.path.exists(path) else []
    if f"/{name}" not in lines:
        lines.append(f"/{name}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")


def main(argv):
    force = "--force" in argv
    commit_only = "--commit" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    dvc = yaml.safe_load(open(os.path.join(ROOT, "dvc.yaml")))
    all_params = yaml.safe_load(open(os.path.join(ROOT, "params.yaml")))
    lock = yaml.safe_load(open(LOCK)) if os.path.exists(LOCK) else {"schema": "2.0", "stages": {}}
    for name, stage in dvc["stages"].items():
        if wanted and name not in wanted:
            continue
        deps = sorted(stage.get("deps", []))
        outs = out_specs(stage)
        params = params_of(stage, all_params)
        old = lock["stages"].get(name)
        current_deps = [hash_entry(d) for d in deps]
        up_to_date = (
            not force and old is not None and old.get("cmd") == stage["cmd"]
            and old.get("deps", []) == current_deps and old.get("params", {}) == params
            and all(os.path.exists(os.path.join(ROOT, p)) for p, _ in outs)
            and old.get("outs", []) == sorted((hash_entry(p) for p, _ in outs), key=lambda e: e["path"])
        )
        if up_to_date:
            print(f"Stage '{name}' didn't change, skipping", file=sys.stderr)
            continue
        if commit_only:
            print(f"Recording stage '{name}' as the workspace holds it", file=sys.stderr)
        else:
            print(f"Running stage '{name}':\n> {stage['cmd']}", file=sys.stderr, flush=True)
            # `python3` in a cmd means the interpreter running this script (Debian's, with torch).
            env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
            subprocess.run(stage["cmd"], shell=True, cwd=ROOT, check=True, env=env)
        entry = {"cmd": stage["cmd"]}
        if deps:
            entry["deps"] = [hash_entry(d) for d in deps]
        if params:
            entry["params"] = params
        if outs:
            entry["outs"] = sorted((hash_entry(p) for p, _ in outs), key=lambda e: e["path"])
            for (p, opts), e in zip(sorted(outs), entry["outs"]):
                if opts.get("cache", True):
                    gitignore(p)
                    if opts.get("push", True):
                        push(p, e)
        lock["stages"][name] = entry
        # Stages keep dvc.yaml's order in the lock.
        lock["stages"] = {k: lock["stages"][k] for k in dvc["stages"] if k in lock["stages"]}
        with open(LOCK, "w") as f:
            yaml.safe_dump(lock, f, sort_keys=False, width=100)


if __name__ == "__main__":
    main(sys.argv[1:])
