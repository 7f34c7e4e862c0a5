#!/usr/bin/python3
"""Golden trajectories for the swd optimizer tests.

Implements the update rules of the authors' reference optimizers (swd_optim: SGDS, AdamS,
AdaiS, Adai) and of torch.optim (SGD, Adam, AdamW) independently of the C++ code, in float64,
on a small problem with two parameter groups, a parameter that never gets a gradient, and a
learning-rate drop mid-run. Rerun with Debian's python3-torch:

    /usr/bin/python3 tests/golden/make_golden.py > tests/golden/trajectories.json
"""
import json
import math

import torch

DTYPE = torch.float64  # explicit, so that importing this module changes no global default

STEPS = 120
LR_DROP_STEP = 60          # after this many steps group 0's lr is multiplied by LR_DROP
LR_DROP = 0.1
RECORD = sorted(set([1, 2, 3] + list(range(10, STEPS + 1, 10)) + [LR_DROP_STEP + 1]))

# Problem: grad(p) = a * (p - x_t) + c * p^3, elementwise, x_t a per-step target.
SHAPES = {"A": [4, 3], "b": [5], "C": [3, 2], "frozen": [2]}
GROUPS = [["A", "b"], ["C", "frozen"]]      # "frozen" never gets a gradient
CURVATURE = {"A": 1.0, "b": 0.05, "C": 3.0}
CUBIC = 0.1


def problem():
    gen = torch.Generator().manual_seed(20201123)
    init = {k: torch.randn(s, generator=gen, dtype=DTYPE) for k, s in SHAPES.items()}
    targets = [{k: torch.randn(SHAPES[k], generator=gen, dtype=DTYPE) * 0.5 for k in CURVATURE}
               for _ in range(STEPS)]
    return init, targets


def gradient(name, p, x):
    return CURVATURE[name] * (p - x) + CUBIC * p.pow(3)


def scenario_gradients(spec, params, targets, t):
    """The gradients of step t (from 1) under a scenario: a parameter listed in "starts" gets
    its first gradient at that step (none before), and "grad_decay" g scales every gradient by
    g^(t-1), so that gradients shrink over time."""
    starts = spec.get("starts", {})
    grads = {n: gradient(n, params[n], targets[t - 1][n]) for n in CURVATURE
             if t >= starts.get(n, 1)}
    if "grad_decay" in spec:
        grads = {n: g * spec["grad_decay"] ** (t - 1) for n, g in grads.items()}
    return grads


# --- Reference update rules (one step over all groups), transcribed from swd_optim and
# --- torch.optim 1.13. Each takes groups = [{"params": {name: tensor}, hyper...}], grads.

def sgd_step(groups, grads, state, decay):
    for g in groups:
        mu, d, lr, wd = g["momentum"], g["dampening"], g["lr"], g["weight_decay"]
        for name, p in g["params"].items():
            if name not in grads:
                continue
            d_p = grads[name]
            if decay == "l2" and wd != 0:
                d_p = d_p.add(p, alpha=wd)
            if decay == "decoupled" and wd != 0:
                p.mul_(1 - lr * wd)
            if decay == "stable" and wd != 0:          # swd_optim.SGDS
                p.mul_(1 - (1 - d) / (1 - mu) * lr * wd)
            if mu != 0:
                st = state.setdefault(name, {})
                if "buf" not in st:
                    buf = st["buf"] = torch.clone(d_p).detach()
                else:
                    buf = st["buf"]
                    buf.mul_(mu).add_(d_p, alpha=1 - d)
                d_p = d_p.add(buf, alpha=mu) if g["nesterov"] else buf
            p.add_(d_p, alpha=-lr)


def adam_step(groups, grads, state, decay):
    # First pass (swd_optim.AdamS): moments, and the sum of vhat for the global vbar.
    size, vhat_sum = 0, 0.0
    for g in groups:
        b1, b2 = g["betas"]
        for name, p in g["params"].items():
            if name not in grads:
                continue
            grad = grads[name]
            if decay == "l2" and g["weight_decay"] != 0:
                grad = grad.add(p, alpha=g["weight_decay"])
            st = state.setdefault(name, {"step": 0, "m": torch.zeros_like(p),
                                         "v": torch.zeros_like(p), "vmax": torch.zeros_like(p)})
            st["step"] += 1
            st["m"].mul_(b1).add_(grad, alpha=1 - b1)
            st["v"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            if g["amsgrad"]:
                torch.max(st["vmax"], st["v"], out=st["vmax"])
            v = st["vmax"] if g["amsgrad"] else st["v"]
            vhat_sum += (v / (1 - b2 ** st["step"])).sum()
            size += p.numel()
    vbar_sqrt = math.sqrt(vhat_sum / size)
    for g in groups:
        b1, b2 = g["betas"]
        lr, wd = g["lr"], g["weight_decay"]
        for name, p in g["params"].items():
            if name not in grads:
                continue
            st = state[name]
            if decay == "decoupled" and wd != 0:         # torch.optim.AdamW
                p.mul_(1 - lr * wd)
            if decay == "stable" and wd != 0:            # swd_optim.AdamS
                p.mul_(1 - wd * lr / vbar_sqrt)
            v = st["vmax"] if g["amsgrad"] else st["v"]
            denom = (v / (1 - b2 ** st["step"])).sqrt().add(g["eps"])
            p.addcdiv_(st["m"], denom, value=-lr / (1 - b1 ** st["step"]))


def adai_step(groups, grads, state, decay):
    # swd_optim.Adai (decay "l2") and swd_optim.AdaiS (decay "stable" / "decoupled").
    size, vhat_sum, eff = 0, 0.0, {}
    for g in groups:
        b0, b2 = g["betas"]
        for name, p in g["params"].items():
            if name not in grads:
                continue
            grad = grads[name]
            if decay == "l2" and g["weight_decay"] != 0:
                grad = grad.add(p, alpha=g["weight_decay"])
            eff[name] = grad
            st = state.setdefault(name, {"step": 0, "m": torch.zeros_like(p),
                                         "v": torch.zeros_like(p), "prod": torch.ones_like(p)})
            st["step"] += 1
            st["v"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            vhat_sum += (st["v"] / (1 - b2 ** st["step"])).sum()
            size += p.numel()
    vbar = vhat_sum / size
    for g in groups:
        b0, b2 = g["betas"]
        lr, wd = g["lr"], g["weight_decay"]
        for name, p in g["params"].items():
            if name not in grads:
                continue
            st = state[name]
            if decay != "l2" and wd != 0:
                p.mul_(1 - lr * wd)
            vhat = st["v"] / (1 - b2 ** st["step"])
            beta1 = (1.0 - (vhat / vbar).mul(b0)).clamp(0.0, 1 - g["eps"])
            st["prod"].mul_(beta1)
            st["m"].mul_(beta1).addcmul_(1 - beta1, eff[name])
            p.add_(st["m"] / (1 - st["prod"]), alpha=-lr)


STEP = {"sgd": sgd_step, "adam": adam_step, "adai": adai_step}

SGD_BASE = {"momentum": 0.9, "dampening": 0.0, "nesterov": False}
ADAM_BASE = {"betas": [0.9, 0.999], "eps": 1e-8, "amsgrad": False}
ADAI_BASE = {"betas": [0.1, 0.99], "eps": 1e-3}


def scenario(family, decay, base, groups, extra=None, **changes):
    """extra: "starts" and "grad_decay" (see scenario_gradients). A group may also override
    the shared options (betas, eps, amsgrad, ...)."""
    opts = dict(base, **changes)
    return dict({"family": family, "decay": decay, "options": opts, "groups": groups},
                **(extra or {}))


LATE = {"starts": {"b": 5}}
SHRINKING = {"grad_decay": 0.95}
SGD_GROUPS = [{"lr": 0.05, "weight_decay": 0.05}, {"lr": 0.02, "weight_decay": 0.2}]
ADAM_GROUPS = [{"lr": 0.01, "weight_decay": 0.05}, {"lr": 0.003, "weight_decay": 0.3}]
ADAI_GROUPS = [{"lr": 0.05, "weight_decay": 0.05}, {"lr": 0.02, "weight_decay": 0.2}]
MIXED_ADAM_GROUPS = [dict(ADAM_GROUPS[0]),
                     dict(ADAM_GROUPS[1], betas=[0.8, 0.99], eps=1e-6, amsgrad=True)]
WD0_GROUPS = [dict(ADAM_GROUPS[0]), dict(ADAM_GROUPS[1], weight_decay=0.0)]

SCENARIOS = {
    "sgd": scenario("sgd", "l2", SGD_BASE, SGD_GROUPS),
    "sgdw": scenario("sgd", "decoupled", SGD_BASE, SGD_GROUPS),
    "sgds": scenario("sgd", "stable", SGD_BASE, SGD_GROUPS),
    "sgds_dampening": scenario("sgd", "stable", SGD_BASE, SGD_GROUPS, dampening=0.3),
    "sgds_nesterov": scenario("sgd", "stable", SGD_BASE, SGD_GROUPS, nesterov=True),
    "sgds_no_momentum": scenario("sgd", "stable", SGD_BASE, SGD_GROUPS, momentum=0.0),
    "adam": scenario("adam", "l2", ADAM_BASE, ADAM_GROUPS),
    "adamw": scenario("adam", "decoupled", ADAM_BASE, ADAM_GROUPS),
    "adams": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS),
    "amsgrad": scenario("adam", "l2", ADAM_BASE, ADAM_GROUPS, amsgrad=True),
    "amsgrads": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS, amsgrad=True),
    "adams_betas": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS, betas=[0.8, 0.99],
                            eps=1e-6),
    "adai": scenario("adai", "l2", ADAI_BASE, ADAI_GROUPS),
    "adais": scenario("adai", "stable", ADAI_BASE, ADAI_GROUPS),
    # "b" gets its first gradient at step 5: per-parameter step counts, bias corrections and
    # first momentum buffers (buf = g, not (1-d)*g); vbar counts b's elements from step 5 on.
    "sgds_late": scenario("sgd", "stable", SGD_BASE, SGD_GROUPS, LATE, dampening=0.3),
    "adams_late": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS, LATE),
    "amsgrads_late": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS, LATE, amsgrad=True),
    "adai_late": scenario("adai", "l2", ADAI_BASE, ADAI_GROUPS, LATE),
    "adais_late": scenario("adai", "stable", ADAI_BASE, ADAI_GROUPS, LATE),
    # Groups with different betas, eps and amsgrad (each group uses its own in both passes).
    "adam_mixed_groups": scenario("adam", "l2", ADAM_BASE, MIXED_ADAM_GROUPS),
    "adams_mixed_groups": scenario("adam", "stable", ADAM_BASE, MIXED_ADAM_GROUPS),
    # Gradients shrinking by 0.95 per step and b2 = 0.95: max(v) stays well above v (checked
    # below).
    "amsgrad_shrinking": scenario("adam", "l2", ADAM_BASE, ADAM_GROUPS, SHRINKING,
                                  amsgrad=True, betas=[0.9, 0.95]),
    "amsgrads_shrinking": scenario("adam", "stable", ADAM_BASE, ADAM_GROUPS, SHRINKING,
                                   amsgrad=True, betas=[0.9, 0.95]),
    # beta0 = 0.5: beta1 = 1 - beta0*vhat/vbar is clamped at 0 wherever vhat > 2*vbar.
    "adai_clamp": scenario("adai", "l2", ADAI_BASE, ADAI_GROUPS, betas=[0.5, 0.99]),
    "adais_clamp": scenario("adai", "stable", ADAI_BASE, ADAI_GROUPS, betas=[0.5, 0.99]),
    # Group 1 without weight decay: not decayed, but its elements count in vbar.
    "adams_wd0_group": scenario("adam", "stable", ADAM_BASE, WD0_GROUPS),
}


def run(spec, init, targets):
    params = {k: v.clone() for k, v in init.items()}
    groups = [dict(spec["options"], **hyper, params={n: params[n] for n in names})
              for hyper, names in zip(spec["groups"], GROUPS)]
    state, record = {}, {}
    for t in range(1, STEPS + 1):
        grads = scenario_gradients(spec, params, targets, t)
        STEP[spec["family"]](groups, grads, state, spec["decay"])
        observe(spec, groups, state)
        if t == LR_DROP_STEP:
            groups[0]["lr"] *= LR_DROP
        if t in RECORD:
            record[str(t)] = {k: v.flatten().tolist() for k, v in params.items()}
    return record


SEEN = {}   # scenario features the checks below require to be active


def observe(spec, groups, state):
    """Records, for the checks in main(), how far max(v) rose above v (AMSGrad) and how many
    inertias were clamped at 0 (Adai) in this step."""
    if spec["family"] == "adam" and spec["options"]["amsgrad"]:
        ratio = max((st["vmax"] / st["v"]).max().item() for st in state.values())
        SEEN["vmax_over_v"] = max(SEEN.get("vmax_over_v", 0), ratio)
    if spec["family"] == "adai":
        size = sum(st["v"].numel() for st in state.values())
        vbar = sum((st["v"] / (1 - spec["options"]["betas"][1] ** st["step"])).sum()
                   for st in state.values()) / size
        b0, b2 = spec["options"]["betas"]
        clamped = sum(int((1 - b0 * st["v"] / (1 - b2 ** st["step"]) / vbar <= 0).sum())
                      for st in state.values())
        SEEN["clamped"] = SEEN.get("clamped", 0) + clamped


TORCH_TWINS = {  # scenario -> the torch.optim class whose trajectory must equal ours
    "sgd": (torch.optim.SGD, {}), "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}), "amsgrad": (torch.optim.Adam, {}),
    "adam_mixed_groups": (torch.optim.Adam, {}), "amsgrad_shrinking": (torch.optim.Adam, {}),
}


def run_torch(name, init, targets):
    """The same scenario through torch.optim itself: a self-check of the transcription."""
    cls, _ = TORCH_TWINS[name]
    spec = SCENARIOS[name]
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    groups = [dict(spec["options"], **hyper, params=[params[n] for n in names])
              for hyper, names in zip(spec["groups"], GROUPS)]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt = cls(groups, lr=1.0)
    for t in range(1, STEPS + 1):
        with torch.no_grad():
            for n, g in scenario_gradients(spec, params, targets, t).items():
                params[n].grad = g
        opt.step()
        if t == LR_DROP_STEP:
            opt.param_groups[0]["lr"] *= LR_DROP
    return {k: v.detach().flatten().tolist() for k, v in params.items()}


def self_check(init, targets, results):
    for name in TORCH_TWINS:
        ours = results[name][str(STEPS)]
        theirs = run_torch(name, init, targets)
        for k in ours:
            a, b = torch.tensor(ours[k], dtype=DTYPE), torch.tensor(theirs[k], dtype=DTYPE)
            err = ((a - b).abs() / b.abs().clamp(min=1e-12)).max().item()
            assert err < 1e-12, f"{name}/{k}: transcription differs from torch.optim ({err})"


def main():
    init, targets = problem()
    out = {
        "generator": "tests/golden/make_golden.py",
        "steps": STEPS, "lr_drop_step": LR_DROP_STEP, "lr_drop": LR_DROP,
        "cubic": CUBIC, "curvature": CURVATURE,
        "shapes": SHAPES, "groups": GROUPS,
        "init": {k: v.flatten().tolist() for k, v in init.items()},
        "targets": [{k: v.flatten().tolist() for k, v in x.items()} for x in targets],
        "scenarios": {},
    }
    results = {}
    for name, spec in SCENARIOS.items():
        SEEN.clear()
        results[name] = run(spec, init, targets)
        if "shrinking" in name:
            assert SEEN["vmax_over_v"] > 10, f"{name}: max(v) too close to v ({SEEN})"
        if "clamp" in name:
            assert SEEN["clamped"] > 100, f"{name}: too few inertias clamped at 0 ({SEEN})"
    self_check(init, targets, results)
    for name, spec in SCENARIOS.items():
        out["scenarios"][name] = dict(spec, trajectory=results[name])
    print(json.dumps(out, indent=None, separators=(",", ":")))


if __name__ == "__main__":
    main()
