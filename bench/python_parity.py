#!/usr/bin/python3
"""How closely swd.optim.AdamS follows the authors' AdamS in float64 and in float32, against
how closely two implementations of one rule follow each other (swd.optim.AdamW and
torch.optim.AdamW; torch.optim.AdamW's own foreach and for-loop), and how far one
implementation moves from itself when its initial weights move by one unit in the last place.

swd's MLP (784-256-256-10) trains on Fashion-MNIST (Debian's dataset-fashion-mnist; the first
batches of the training set, 128 images each) from one initialisation with each optimizer:
swd.optim.AdamS and the authors' AdamS (bench/train_throughput.py's transcription of
swd_optim.AdamS), lr 1e-3, weight decay 5e-4; swd.optim.AdamW and torch.optim.AdamW
(for-loop), and torch.optim.AdamW with foreach=True and foreach=False, lr 1e-3, weight decay
0.5 (5e-4 / lr, the paper's convention); and the authors' AdamS and torch.optim.AdamW each
against itself started from every initial weight moved one ulp up (torch.nextafter), the
training problem's own sensitivity to rounding. Each pair gets the same batches; the table
gives, at
some steps, the difference of the batch's loss (computed before that step's update) and the
largest parameter difference after the step, relative to the parameter's largest entry,
max |a - b| / max |b|, over the parameters.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_parity.py [--steps 300]
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import swd.optim  # noqa: E402
from train_throughput import MLP, AdamS as AuthorsAdamS, FashionMnist  # noqa: E402

ADAMS = dict(lr=1e-3, weight_decay=5e-4)
ADAMW = dict(lr=1e-3, weight_decay=0.5)
PAIRS = {  # label: (make a, make b, whether b starts one ulp up)
    "swd AdamS - authors' AdamS": (lambda p: swd.optim.AdamS(p, **ADAMS),
                                   lambda p: AuthorsAdamS(p, **ADAMS), False),
    "swd AdamW - torch AdamW": (lambda p: swd.optim.AdamW(p, **ADAMW),
                                lambda p: torch.optim.AdamW(p, foreach=False, **ADAMW), False),
    "torch AdamW foreach - for-loop": (lambda p: torch.optim.AdamW(p, foreach=True, **ADAMW),
                                       lambda p: torch.optim.AdamW(p, foreach=False, **ADAMW),
                                       False),
    "authors' AdamS - itself from one ulp up": (lambda p: AuthorsAdamS(p, **ADAMS),
                                                lambda p: AuthorsAdamS(p, **ADAMS), True),
    "torch AdamW - itself from one ulp up": (lambda p: torch.optim.AdamW(p, foreach=False, **ADAMW),
                                             lambda p: torch.optim.AdamW(p, foreach=False, **ADAMW),
                                             True),
}
REPORT = (1, 2, 5, 10, 25, 50, 100, 125, 150, 175, 200, 300, 500)


def run(make, dtype, batches, ulp_up=False):
    torch.manual_seed(0)
    net = MLP().to(dtype)
    if ulp_up:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.nextafter(p, torch.full_like(p, float("inf"))))
    optimizer = make(net.parameters())
    losses, params = [], []
    for x, y in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x.to(dtype)), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        params.append([p.detach().clone() for p in net.parameters()])
    return losses, params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = FashionMnist("train")
    batches = [(torch.stack([data[i][0] for i in range(s * 128, (s + 1) * 128)]),
                data.labels[s * 128:(s + 1) * 128]) for s in range(args.steps)]
    print(f"python_parity: torch {torch.__version__}, mlp on Fashion-MNIST, batch 128, "
          f"{args.steps} steps")
    for dtype in (torch.float64, torch.float32):
        for label, (make_a, make_b, ulp_up) in PAIRS.items():
            (loss_a, params_a), (loss_b, params_b) = (run(make_a, dtype, batches),
                                                      run(make_b, dtype, batches, ulp_up))
            print(f"\n{str(dtype).replace('torch.', '')}, {label}")
            print(f"  {'step':>5} {'|loss a - loss b|':>18} {'max param diff':>15}")
            for step in (s for s in REPORT if s <= args.steps):
                diff = max(((a - b).abs().max() / b.abs().max()).item()
                           for a, b in zip(params_a[step - 1], params_b[step - 1]))
                print(f"  {step:>5} {abs(loss_a[step - 1] - loss_b[step - 1]):>18.3g} "
                      f"{diff:>15.3g}")


if __name__ == "__main__":
    main()
