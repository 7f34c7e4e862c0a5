#!/usr/bin/python3
"""Training throughput of a plain PyTorch script: the baseline of bench/train_throughput.sh.

Trains swd's `mlp` or `cnn` (same layers, same order) on Fashion-MNIST from Debian's
dataset-fashion-mnist with the paper's AdamS written the way its authors' `swd_optim.AdamS`
is (a torch.optim.Optimizer with two passes over the parameters and a host read of the
global mean), feeding it through torch.utils.data.DataLoader with a per-sample Dataset, as a
typical PyTorch script does. Prints one line: images/s over the timed batches.

    /usr/bin/python3 bench/train_throughput.py --model mlp --batches 300 --warmup 50
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


class FashionMnist(Dataset):
    """Per-sample access with (x/255 - mean)/std, the training set's statistics (as swd)."""

    def __init__(self, split):
        self.images = torch.from_numpy(read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz", 16).copy())
        self.images = self.images.view(-1, 1, 28, 28)
        self.labels = torch.from_numpy(read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz", 8).copy()).long()
        scaled = self.images.double() / 255
        self.mean, self.std = scaled.mean().item(), scaled.std().item()

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        return (self.images[i].float() / 255 - self.mean) / self.std, self.labels[i]


class MLP(nn.Module):  # swd's mlp: 784 -> 256 -> 256 -> 10, ReLU
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 256), nn.Linear(256, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class CNN(nn.Module):  # swd's cnn: conv32 -> pool -> relu -> conv64 -> pool -> relu -> 128 -> 10
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(64 * 7 * 7, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class AdamS(torch.optim.Optimizer):
    """Adam with stable weight decay (docs/OPTIMIZERS.md), structured like swd_optim.AdamS:
    pass 1 updates the moments and sums vhat; pass 2 decays by lr*wd/sqrt(vbar) and steps."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=5e-4):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def with_grad(self):
        """(group, parameter, its state) for every parameter that has a gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p, self.state[p]

    @torch.no_grad()
    def step(self):
        size, vhat_sum = 0, 0.0
        for group, p, state in self.with_grad():
            b1, b2 = group["betas"]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            state["exp_avg"].mul_(b1).add_(p.grad, alpha=1 - b1)
            state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            vhat_sum += state["exp_avg_sq"].sum() / (1 - b2 ** state["step"])
            size += p.numel()
        vbar_sqrt = math.sqrt(vhat_sum / size)  # the host read of the reference
        for group, p, state in self.with_grad():
            b1, b2 = group["betas"]
            if group["weight_decay"] != 0:
                p.mul_(1 - group["weight_decay"] * group["lr"] / vbar_sqrt)
            denom = (state["exp_avg_sq"] / (1 - b2 ** state["step"])).sqrt().add_(group["eps"])
            p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - b1 ** state["step"]))


def lean_batches(data, batch_size):
    """The lean loop's batches: every image normalised once, held in one tensor in memory."""
    if isinstance(data, TensorDataset):
        images, labels = data.tensors
    else:
        images = (data.images.float() / 255 - data.mean) / data.std
        labels = data.labels
    order = torch.randperm(images.shape[0])
    for start in range(0, images.shape[0] - batch_size + 1, batch_size):
        index = order[start:start + batch_size]
        yield images.index_select(0, index), labels.index_select(0, index)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["mlp", "cnn", "resnet20"], default="mlp",
                    help="resnet20: He et al.'s CIFAR ResNet on random 3x32x32 images")
    ap.add_argument("--channels-last", action="store_true",
                    help="model and batches in channels-last (NHWC) memory format")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--batches", type=int, default=300, help="timed training batches")
    ap.add_argument("--warmup", type=int, default=50, help="untimed batches before them")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader num_workers")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loader", choices=["dataloader", "tensors"], default="dataloader",
                    help="dataloader: torch.utils.data.DataLoader over a per-sample Dataset (a "
                         "typical script); tensors: the lean loop, the whole set normalised once "
                         "in one tensor, each batch an index_select of a shuffled order")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.model == "resnet20":  # swd's --dataset synthetic: random images and labels
        count = (args.warmup + args.batches + 1) * args.batch_size
        data = TensorDataset(torch.randn(count, 3, 32, 32), torch.randint(0, 10, (count,)))
    else:
        data = FashionMnist("train")
    if args.warmup + args.batches > len(data) // args.batch_size:
        raise SystemExit(f"--warmup + --batches = {args.warmup + args.batches} is more than the "
                         f"{len(data) // args.batch_size} batches of an epoch")
    if args.loader == "dataloader":
        loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, drop_last=True,
                            num_workers=args.workers, persistent_workers=False)
    else:
        loader = lean_batches(data, args.batch_size)
    if args.model == "resnet20":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
        from model_param_counts import CifarResNet  # the reference definition of the zoo's tests
        model = CifarResNet(20, 10)
    else:
        model = MLP() if args.model == "mlp" else CNN()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = AdamS(model.parameters())
    model.train()
    running_loss = 0.0
    start = None
    for i, (x, y) in enumerate(loader):
        if i == args.warmup:
            start = time.perf_counter()
        if i == args.warmup + args.batches:
            break
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    seconds = time.perf_counter() - start
    print(f"images/s {args.batches * args.batch_size / seconds:.1f} "
          f"(python {args.model}, {args.loader}, {args.batches} batches of {args.batch_size} in {seconds:.3f} s, "
          f"mean loss {running_loss / (args.warmup + args.batches):.4f})")


if __name__ == "__main__":
    main()
