"""swd.optim step for step against the authors' update rules (swd_optim_reference.py), against
torch.optim where torch has the class, and against the golden trajectories
(tests/golden/trajectories.json), on the float64 problem of tests/golden/make_golden.py: two
parameter groups with their own lr and weight decay, a parameter that never gets a gradient,
and group 0's learning rate dropped at step 60 by a torch scheduler. Relative error below 1e-9
at every step, on the fused path and on the op-by-op path.
"""
import json
import os

import pytest
import torch

import swd.optim as so
import swd_optim_reference as ref
from swd_optim_reference import make_golden as golden

TOLERANCE = 1e-9
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden",
                       "trajectories.json")) as f:
    GOLDEN = json.load(f)

FAMILY = {"sgd": so.SGD, "adam": so.Adam, "adai": so.Adai}
NAMED = {("sgd", "decoupled"): so.SGDW, ("sgd", "stable"): so.SGDS,
         ("adam", "decoupled"): so.AdamW, ("adam", "stable"): so.AdamS,
         ("adai", "stable"): so.AdaiS}
AUTHORS = {("sgd", "stable"): ref.SGDS, ("adam", "stable"): ref.AdamS,
           ("adai", "stable"): ref.AdaiS, ("adai", "l2"): ref.Adai}


def max_rel_error(a, b):
    """max |a - b| / max(|b|, 1e-12) over the elements (tests/support.cpp's measure)."""
    return ((a - b).abs() / b.abs().clamp(min=1e-12)).max().item()


def options_of(spec):
    options = dict(spec["options"])
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    return options


def build(make, spec, init):
    """An optimizer over a fresh copy of the problem's parameters: (params, optimizer,
    scheduler dropping group 0's lr after step 60)."""
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    groups = [dict(options_of({"options": hyper}), params=[params[n] for n in names])
              for hyper, names in zip(spec["groups"], golden.GROUPS)]
    optimizer = make(groups)
    drop = lambda epoch: golden.LR_DROP if epoch >= golden.LR_DROP_STEP else 1.0  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [drop, lambda epoch: 1.0])
    return params, optimizer, scheduler


def subjects(name, spec, fused):
    """The swd classes that must follow scenario `name`: the family with decay=..., and the
    class named after the mode where there is one."""
    family, decay, options = spec["family"], spec["decay"], options_of(spec)
    made = {f"{FAMILY[family].__name__}(decay={decay!r})":
            lambda groups: FAMILY[family](groups, decay=decay, fused=fused, **options)}
    if (family, decay) in NAMED:
        cls = NAMED[(family, decay)]
        made[cls.__name__] = lambda groups: cls(groups, fused=fused, **options)
    return made


def references(name, spec):
    family, decay, options = spec["family"], spec["decay"], options_of(spec)
    made = {"rules": lambda groups: ref.Rules(groups, family, decay, **options)}
    if (family, decay) in AUTHORS:
        made["authors' " + AUTHORS[(family, decay)].__name__] = \
            lambda groups: AUTHORS[(family, decay)](groups, **options)
    if name in golden.TORCH_TWINS:
        cls = golden.TORCH_TWINS[name][0]
        made["torch.optim." + cls.__name__] = lambda groups: cls(groups, **options)
    return made


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "op-by-op"])
@pytest.mark.parametrize("name", sorted(golden.SCENARIOS))
def test_follows_the_reference_rules_torch_and_the_golden_trajectory(name, fused):
    spec = golden.SCENARIOS[name]
    init, targets = golden.problem()
    runs = {label: build(make, spec, init)
            for label, make in {**subjects(name, spec, fused), **references(name, spec)}.items()}
    ours = list(subjects(name, spec, fused))
    trajectory = GOLDEN["scenarios"][name]["trajectory"]
    for t in range(1, golden.STEPS + 1):
        for params, optimizer, scheduler in runs.values():
            with torch.no_grad():  # the scenario's schedule: late first gradients, shrinking
                grads = golden.scenario_gradients(spec, params, targets, t)
            for n, g in grads.items():
                params[n].grad = g
            optimizer.step()
            scheduler.step()
        for label in ours:
            params, optimizer, _ = runs[label]
            assert optimizer.fused_parameters == (len(grads) if fused else 0)
            for other, (theirs, _, _) in runs.items():
                if other in ours:
                    continue
                for n, p in params.items():
                    err = max_rel_error(p.detach(), theirs[n].detach())
                    assert err < TOLERANCE, f"{label} vs {other}, step {t}, {n}: {err:.3g}"
            if str(t) in trajectory:
                for n, p in params.items():
                    expected = torch.tensor(trajectory[str(t)][n], dtype=torch.float64)
                    err = max_rel_error(p.detach().flatten(), expected)
                    assert err < TOLERANCE, f"{label} vs golden, step {t}, {n}: {err:.3g}"
        assert torch.equal(runs[ours[0]][0]["frozen"], init["frozen"])


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("name", ["sgds", "adams", "amsgrads", "adais", "adai"])
def test_each_dtype_against_the_rules_in_that_dtype(name, dtype, tolerance):
    """float32 and float64 parameters, in one optimizer too (the fused kernels per dtype)."""
    spec = golden.SCENARIOS[name]
    init, targets = golden.problem()
    init = {k: v.to(dtype) for k, v in init.items()}
    init["C"] = init["C"].double()  # a float64 parameter among float32 ones
    family, decay, options = spec["family"], spec["decay"], options_of(spec)
    mine = build(lambda groups: FAMILY[family](groups, decay=decay, **options), spec, init)
    theirs = build(lambda groups: ref.Rules(groups, family, decay, **options), spec, init)
    for t in range(1, 31):
        for params, optimizer, _ in (mine, theirs):
            for n in golden.CURVATURE:
                with torch.no_grad():
                    params[n].grad = golden.gradient(n, params[n], targets[t - 1][n].to(dtype))
            optimizer.step()
    assert mine[1].fused_parameters == 3
    for n, p in mine[0].items():
        assert p.dtype == init[n].dtype
        # normwise, as the library's fused/op-by-op bounds are stated
        err = ((p - theirs[0][n]).norm() / theirs[0][n].norm()).item()
        assert err < tolerance, f"{n}: {err:.3g}"
