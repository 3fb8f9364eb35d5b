"""Stage `prepare`: the evaluation and smoke sets, as PNG files plus a labels file.

Selection (documented in models/README.md): from the official test split (t10k, never used in
training), for each class c the test indices with label c are shuffled with
numpy.random.RandomState(seed + c); the first `eval_per_class` form the evaluation set, and the
first `smoke_per_class` of those also form the smoke set. Files are named by their t10k index.
"""
import csv
import io
import os
import shutil
import sys

import numpy as np
import yaml
from PIL import Image

from common import LABELS, ROOT, load_split


def write_set(out_dir, images, labels, indices):
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(os.path.join(out_dir, "images"))
    rows = []
    for i in sorted(indices):
        name = f"images/t10k-{i:05d}.png"
        buf = io.BytesIO()
        # Deterministic PNG bytes: no metadata, fixed compression.
        Image.fromarray(images[i], mode="L").save(buf, format="PNG", optimize=False, compress_level=9)
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(buf.getvalue())
        rows.append((name, int(labels[i]), LABELS[labels[i]]))
    with open(os.path.join(out_dir, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label", "class"])
        w.writerows(rows)
    return len(rows)


def main():
    params = yaml.safe_load(open(os.path.join(ROOT, "params.yaml")))["prepare"]
    images, labels = load_split(params["source"], "test")
    eval_idx, smoke_idx = [], []
    for c in range(len(LABELS)):
        idx = np.flatnonzero(labels == c)
        order = np.random.RandomState(params["seed"] + c).permutation(idx)
        eval_idx += order[: params["eval_per_class"]].tolist()
        smoke_idx += order[: params["smoke_per_class"]].tolist()
    n_eval = write_set(os.path.join(ROOT, "data", "fashion-eval"), images, labels, eval_idx)
    n_smoke = write_set(os.path.join(ROOT, "data", "fashion-smoke"), images, labels, smoke_idx)
    print(f"evaluation set: {n_eval} images, smoke set: {n_smoke} images", file=sys.stderr)


if __name__ == "__main__":
    main()
