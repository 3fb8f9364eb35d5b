"""Shared by the pipeline stages: data loading, the three architectures, paths."""
import gzip
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # models/

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Mean and std of the training split's pixels after ToTensor (x / 255): the models normalize with them.
MEAN = 0.2860
STD = 0.3530


def read_idx(path):
    """Reads an IDX file (gzip) as a numpy array: images (N, 28, 28) uint8 or labels (N,) uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(source, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels


def to_tensor(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28), normalized exactly as the inputSpec says."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD


def resnet50():
    """torchvision's ResNet-50 unchanged but for the first conv (1 channel, 3x3, stride 2, for 28x28
    inputs) and the classifier (10 classes). zero_init_residual (torchvision's option: each block's
    last batch norm starts at zero) keeps training from scratch stable at the peak learning rate."""
    model = torchvision.models.resnet50(num_classes=10, zero_init_residual=True)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1, bias=False)
    return model


def small_cnn():
    """A deliberately small CNN (~0.2 MB of weights): two convolutions and one linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def bn_cnn():
    """A better small CNN: batch norm, three stages, global average pooling (any input size)."""
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(
        *block(1, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        *block(64, 128), *block(128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 10),
    )


ARCHS = {"resnet50": resnet50, "small-cnn": small_cnn, "bn-cnn": bn_cnn}


def param_count(model):
    return sum(p.numel() for p in model.parameters())
