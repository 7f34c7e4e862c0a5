#!/usr/bin/python3
"""Step time of swd.optim.AdamS from Python against the authors' AdamS and torch.optim.AdamW.

On the CIFAR ResNet-18 parameter set (11,173,962 parameters in 62 tensors) and swd's
Fashion-MNIST MLP (269,322 in 6), both from scripts/model_param_counts.py, in float32 and in
bfloat16, every optimizer steps on its own copy of the same parameters with the same
gradients: swd.optim.AdamS and AdamW with their default fused=True (the fused C++ steps) and
with fused=False (the op-by-op path: the operations that the multi-tensor path, CUDA's
default, runs over a group's tensors at once), the authors' AdamS as bench/train_throughput.py
writes it (two passes, a host read of vbar, as swd_optim.AdamS), and torch.optim.AdamW with
foreach=False and foreach=True. Cases are interleaved round by round; each figure is the median
over the rounds of a round's mean step time, and the ratios come from these medians, all from
the same run.

--clock cpu times with the process's CPU time (every thread's) instead of the wall clock: on
a machine shared with other work it counts only this process's own, which with one thread is
its step time on an idle machine, give or take contention for caches and memory.

The Python call overhead is what a step costs when no parameter has a gradient (no kernel
runs), on the MLP: swd.optim.AdamS.step() in full, and its crossing into C++ alone
(the extension's step with the groups already converted).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_optim.py [--threads N] [--rounds R]
                                                                   [--clock wall|cpu]
"""
import argparse
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "scripts")]
import model_param_counts  # noqa: E402  (scripts/: the reference models)
import swd.optim  # noqa: E402
from train_throughput import AdamS as AuthorsAdamS  # noqa: E402  (bench/)

LR, WEIGHT_DECAY = 1e-3, 5e-4
CASES = {
    "swd.optim.AdamS": lambda p: swd.optim.AdamS(p, lr=LR, weight_decay=WEIGHT_DECAY),
    "swd.optim.AdamW": lambda p: swd.optim.AdamW(p, lr=LR, weight_decay=WEIGHT_DECAY),
    "swd AdamS fused=False": lambda p: swd.optim.AdamS(p, lr=LR, weight_decay=WEIGHT_DECAY,
                                                       fused=False),
    "swd AdamW fused=False": lambda p: swd.optim.AdamW(p, lr=LR, weight_decay=WEIGHT_DECAY,
                                                       fused=False),
    "authors' AdamS": lambda p: AuthorsAdamS(p, lr=LR, weight_decay=WEIGHT_DECAY),
    "torch AdamW for-loop": lambda p: torch.optim.AdamW(p, lr=LR, weight_decay=WEIGHT_DECAY,
                                                        foreach=False),
    "torch AdamW foreach": lambda p: torch.optim.AdamW(p, lr=LR, weight_decay=WEIGHT_DECAY,
                                                       foreach=True),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def parameter_set(name, dtype=torch.float32):
    """The model's parameters and one gradient per parameter, shared by every case."""
    build = {case[0]: case[3] for case in model_param_counts.CASES}[name]
    shape = {case[0]: (case[1][0], case[2]) for case in model_param_counts.CASES}[name]
    torch.manual_seed(0)
    params = [p.detach().to(dtype) for p in build(*shape).parameters()]
    grads = [torch.randn_like(p) * 1e-2 for p in params]
    return params, grads


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCK["wall"]


def time_rounds(runs, steps, rounds):
    """{label: median over rounds of seconds per call}; runs: {label: callable}."""
    samples = {label: [] for label in runs}
    for r in range(rounds + 1):  # round 0 warms up (state allocation, caches)
        for label, run in runs.items():
            start = clock()
            for _ in range(steps):
                run()
            if r > 0:
                samples[label].append((clock() - start) / steps)
    return {label: statistics.median(s) for label, s in samples.items()}


def step_times(model, dtype, steps, rounds):
    params, grads = parameter_set(model, dtype)
    runs = {}
    for label, make in CASES.items():
        copies = [torch.nn.Parameter(p.clone()) for p in params]
        for p, g in zip(copies, grads):
            p.grad = g
        runs[label] = make(copies).step
    elements = sum(p.numel() for p in params)
    return time_rounds(runs, steps, rounds), len(params), elements


def overhead(steps, rounds):
    params, _ = parameter_set("mlp")
    copies = [torch.nn.Parameter(p.clone()) for p in params]  # no gradients: no kernel runs
    optimizer = swd.optim.AdamS(copies)
    groups = optimizer._groups()
    torch_adamw = torch.optim.AdamW([torch.nn.Parameter(p.clone()) for p in params])
    return time_rounds({"swd.optim.AdamS.step()": optimizer.step,
                        "its C++ call alone": lambda: optimizer._impl.step(groups),
                        "torch.optim.AdamW.step()": torch_adamw.step}, steps, rounds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--clock", choices=sorted(CLOCK), default="wall")
    args = ap.parse_args()
    global clock
    clock = CLOCK[args.clock]
    torch.set_num_threads(args.threads)
    print(f"python_optim: torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds (median of per-round means), {args.clock} clock")
    results = {}
    for model, steps in (("resnet18", 3), ("mlp", 200)):
        for dtype_name, dtype in DTYPES.items():
            times, tensors, elements = step_times(model, dtype, steps, args.rounds)
            results[model, dtype_name] = times
            authors = times["authors' AdamS"]
            loop = times["torch AdamW for-loop"]
            best_torch = min(loop, times["torch AdamW foreach"])
            print(f"\n{model}, {dtype_name}: {tensors} tensors, {elements:,} parameters")
            print(f"  {'optimizer':<22} {'ms/step':>9} {'/ authors AdamS':>16} "
                  f"{'/ best torch AdamW':>19} {'/ torch for-loop':>17}")
            for label, seconds in times.items():
                print(f"  {label:<22} {seconds * 1e3:>9.3f} {seconds / authors:>15.2f}x "
                      f"{seconds / best_torch:>18.2f}x {seconds / loop:>16.2f}x")
    calls = overhead(2000, args.rounds)
    print("\nPython call overhead, a step with no gradient (mlp)")
    for label, seconds in calls.items():
        print(f"  {label:<26} {seconds * 1e6:>7.1f} us")

    times = results["resnet18", "float32"]
    ours = times["swd.optim.AdamS"]
    best_torch = min(times["torch AdamW for-loop"], times["torch AdamW foreach"])
    per_call = calls["swd.optim.AdamS.step()"] * 1e6
    checks = [
        ("resnet18 AdamS step <= 0.5x the authors' AdamS (issue 14)",
         ours / times["authors' AdamS"], 0.5, "x"),
        ("resnet18 AdamS step <= 0.6x torch AdamW, the faster of foreach/for-loop (issue 14)",
         ours / best_torch, 0.6, "x"),
        ("Python call overhead per step on the mlp < 30 us (issue 14)", per_call, 30, " us")]
    for model in ("resnet18", "mlp"):  # issue 27: at least torch's speed outside float32 fused
        bf16 = results[model, "bfloat16"]
        best = min(bf16["torch AdamW for-loop"], bf16["torch AdamW foreach"])
        for label in ("swd.optim.AdamS", "swd.optim.AdamW"):
            checks.append((f"{model} bfloat16 {label} <= 1.0x torch AdamW (the faster loop)",
                           bf16[label] / best, 1.0, "x"))
        for dtype_name in DTYPES:
            t = results[model, dtype_name]
            for label in ("swd AdamS fused=False", "swd AdamW fused=False"):
                checks.append((f"{model} {dtype_name} {label} <= 1.0x torch AdamW for-loop",
                               t[label] / t["torch AdamW for-loop"], 1.0, "x"))
    print("\ntargets")
    for text, value, limit, unit in checks:
        print(f"  {text}: {value:.2f}{unit} {'met' if value <= limit else 'MISSED'}")


if __name__ == "__main__":
    main()
