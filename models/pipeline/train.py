"""Stages `train_<name>`: trains one model on the training split and records the run.

    python3 pipeline/train.py <baseline|champion|candidate>

Writes build/<name>.pt (the weights) and build/<name>.run.json: params, per-step and per-epoch
metric histories with timestamps, start/end times. The MLflow FileStore is written from it later.
55,000 training images train; the last 5,000 of the training split validate (the test split is
never seen here).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from common import ARCHS, ROOT, load_split, param_count, to_tensor

VALIDATION = 5000


def augment(x):
    """Random crop with 2 pixels of padding and a random horizontal flip, per image."""
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2), mode="constant", value=float(x.min()))
    dx = torch.randint(0, 5, (n,))
    dy = torch.randint(0, 5, (n,))
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, dy[i] : dy[i] + 28, dx[i] : dx[i] + 28]
    flip = torch.rand(n) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def evaluate(model, x, y, batch=500):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i : i + batch])
            loss += F.cross_entropy(logits, y[i : i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i : i + batch]).sum().item()
    return correct / len(x), loss / len(x)


def main(name):
    params = yaml.safe_load(open(os.path.join(ROOT, "params.yaml")))
    p = params[f"train_{name}"]
    torch.manual_seed(p["seed"])
    np.random.seed(p["seed"])
    torch.set_num_threads(os.cpu_count() or 2)
    images, labels = load_split(params["prepare"]["source"], "train")
    x, y = to_tensor(images), torch.from_numpy(labels.astype(np.int64))
    x_train, y_train = x[:-VALIDATION], y[:-VALIDATION]
    x_val, y_val = x[-VALIDATION:], y[-VALIDATION:]

    model = ARCHS[p["arch"]]()
    opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=0.9, nesterov=True, weight_decay=p["weight_decay"])
    steps_per_epoch = math.ceil(len(x_train) / p["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=p["lr"], epochs=p["epochs"], steps_per_epoch=steps_per_epoch)
    history = []  # [key, value, timestamp ms, step]
    start = time.time()
    step = 0
    for epoch in range(p["epochs"]):
        model.train()
        perm = torch.randperm(len(x_train))
        seen, correct, total_loss = 0, 0, 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * p["batch_size"] : (b + 1) * p["batch_size"]]
            xb, yb = x_train[idx], y_train[idx]
            if p["augment"]:
                xb = augment(xb)
            opt.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            if step % 50 == 0:
                now = int(time.time() * 1000)
                history.append(["train_loss", round(loss.item(), 6), now, step])
                history.append(["learning_rate", sched.get_last_lr()[0], now, step])
                print(f"{name} epoch {epoch + 1} step {step}/{steps_per_epoch * p['epochs']} loss {loss.item():.4f} "
                      f"{(time.time() - start) / step:.2f} s/step", file=sys.stderr, flush=True)
        val_acc, val_loss = evaluate(model, x_val, y_val)
        now = int(time.time() * 1000)
        history += [
            ["epoch_train_loss", round(total_loss / seen, 6), now, epoch + 1],
            ["epoch_train_accuracy", round(correct / seen, 6), now, epoch + 1],
            ["val_loss", round(val_loss, 6), now, epoch + 1],
            ["val_accuracy", round(val_acc, 6), now, epoch + 1],
        ]
        print(f"{name} epoch {epoch + 1}: train loss {total_loss / seen:.4f} acc {correct / seen:.4f}, "
              f"val loss {val_loss:.4f} acc {val_acc:.4f}", file=sys.stderr, flush=True)
    end = time.time()
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(ROOT, "build", f"{name}.pt"))
    run = {
        "name": name,
        "arch": p["arch"],
        "params": {**{k: v for k, v in p.items()}, "train_images": len(x_train), "val_images": len(x_val),
                   "parameters": param_count(model), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "history": history,
        "start_ms": int(start * 1000),
        "end_ms": int(end * 1000),
        "train_seconds": round(end - start, 1),
    }
    with open(os.path.join(ROOT, "build", f"{name}.run.json"), "w") as f:
        json.dump(run, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
