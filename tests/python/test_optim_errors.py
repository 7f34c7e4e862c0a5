"""swd.optim on bad input (ValueError naming the argument, nothing changed), and on
gradients that are NaN or all zero."""
import copy
import math

import pytest
import torch

import swd.optim as so


def params(n=2, dtype=torch.float64):
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(3, 2, dtype=dtype)) for _ in range(n)]


@pytest.mark.parametrize("make,match", [
    (lambda p: so.AdamS(p, lr=-1.0), r"invalid lr -1 .*lr >= 0"),
    (lambda p: so.AdamW(p, betas=(1.0, 0.999)), r"betas\[0\] 1 "),
    (lambda p: so.Adam(p, betas=(0.9, -0.1)), r"betas\[1\] -0.1"),
    (lambda p: so.Adam(p, eps=-1e-8), r"invalid eps"),
    (lambda p: so.AdamS(p, weight_decay=-1e-4), r"invalid weight_decay"),
    (lambda p: so.SGD(p, lr=0.1, momentum=-0.5), r"invalid momentum"),
    (lambda p: so.SGDS(p, lr=0.1, momentum=1.0), r"invalid momentum 1 "),
    (lambda p: so.SGD(p, lr=0.1, dampening=2.0), r"invalid dampening"),
    (lambda p: so.SGD(p, lr=0.1, nesterov=True), r"invalid momentum 0 "),
    (lambda p: so.Adai(p, lr=0.1, eps=2.0), r"invalid eps 2 "),
    (lambda p: so.AdaiS(p, lr=0.1, betas=(0.1, 1.0)), r"betas\[1\] 1 "),
    (lambda p: so.Adam(p, decay="weird"), r"invalid decay 'weird'.*'l2', 'decoupled' or 'stable'"),
    (lambda p: so.Adam(p, betas=(0.9, 0.99, 0.999)), r"invalid betas .* a pair of numbers"),
    (lambda p: so.SGD(p), r"required optimization parameter lr"),
    (lambda p: so.AdaiS([]), r"empty parameter list"),
    (lambda p: so.AdamS([{"params": p[:1]}, {"params": p[1:], "lr": -0.1}]),
     r"invalid lr -0.1 in parameter group 1"),
])
def test_bad_arguments_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make(params())


def test_a_bad_group_edit_raises_at_step_and_moves_nothing():
    p = params()
    optimizer = so.AdamS([{"params": p[:1]}, {"params": p[1:]}], lr=0.1)
    for q in p:
        q.grad = torch.ones_like(q)
    optimizer.step()
    before = [q.detach().clone() for q in p]
    saved = copy.deepcopy(optimizer.state_dict())
    optimizer.param_groups[1]["weight_decay"] = float("nan")
    with pytest.raises(ValueError, match=r"invalid weight_decay nan in parameter group 1"):
        optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(before, p))
    optimizer.param_groups[1]["weight_decay"] = saved["param_groups"][1]["weight_decay"]
    torch.testing.assert_close(optimizer.state_dict()["state"], saved["state"], rtol=0, atol=0)
    optimizer.step()
    assert optimizer.state_dict()["state"][0]["step"] == 2


def test_a_bad_new_group_is_refused_and_not_added():
    p = params(3)
    optimizer = so.SGDS(p[:2], lr=0.1)
    with pytest.raises(ValueError, match=r"invalid momentum 1 in parameter group 1"):
        optimizer.add_param_group({"params": p[2:], "momentum": 1.0})
    assert len(optimizer.param_groups) == 1
    optimizer.add_param_group({"params": p[2:], "momentum": 0.5})
    assert len(optimizer.param_groups) == 2


def test_a_state_dict_that_does_not_fit_is_refused_and_changes_nothing():
    p = params()
    optimizer = so.AdamS(p, lr=0.1)
    for q in p:
        q.grad = torch.ones_like(q)
    optimizer.step()
    good = copy.deepcopy(optimizer.state_dict())

    other = so.AdamS([torch.nn.Parameter(torch.zeros(4, dtype=torch.float64)), p[1]])
    other_state = copy.deepcopy(other.state_dict())
    with pytest.raises(ValueError, match=r"parameter 0 \(group 0, index 0\): 'exp_avg' has shape "
                                         r"\[3, 2\] \(expected the parameter's \[4\]\)"):
        other.load_state_dict(good)
    assert other.state_dict() == other_state and len(other.state) == 0

    with pytest.raises(ValueError, match=r"has 2 parameter groups, this optimizer has 1"):
        optimizer.load_state_dict({"state": {}, "param_groups": good["param_groups"] * 2})
    short = copy.deepcopy(good)
    short["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match=r"group 0 has 1 parameters, this optimizer's has 2"):
        optimizer.load_state_dict(short)
    bad_lr = copy.deepcopy(good)
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"invalid lr -1 in saved parameter group 0"):
        optimizer.load_state_dict(bad_lr)
    now = optimizer.state_dict()
    assert now["param_groups"] == good["param_groups"]
    torch.testing.assert_close(now["state"], good["state"], rtol=0, atol=0)


def test_sparse_gradients_are_refused():
    p = params(1)
    optimizer = so.AdamS(p)
    p[0].grad = torch.ones_like(p[0]).to_sparse()
    with pytest.raises(ValueError, match=r"sparse gradients \(parameter 0 of parameter group 0\)"):
        optimizer.step()


@pytest.mark.parametrize("cls,options", [(so.AdamS, {}), (so.AdaiS, {}),
                                         (so.SGDS, {"momentum": 0.9})])
@pytest.mark.parametrize("fused", [True, False])
def test_a_nan_gradient_stays_visible(cls, options, fused):
    p = params()
    optimizer = cls(p, lr=0.1, weight_decay=0.1, fused=fused, **options)
    p[0].grad = torch.ones_like(p[0])
    p[1].grad = torch.ones_like(p[1])
    p[1].grad[0, 0] = float("nan")
    optimizer.step()
    assert optimizer.fused_parameters == (2 if fused else 0)
    assert math.isnan(p[1][0, 0].item())
    if optimizer.vbar is not None:  # a global mean over a NaN is NaN, and so is every
        assert math.isnan(optimizer.vbar.item())  # parameter's step or decay through it
        assert torch.isnan(p[0]).all()


@pytest.mark.parametrize("make,factor", [
    (lambda p: so.AdamS(p, lr=0.1, weight_decay=0.1), 1.0),           # nothing moves
    (lambda p: so.Adai(p, lr=0.1), 1.0),                              # nothing moves
    (lambda p: so.AdaiS(p, lr=0.1, weight_decay=0.1), 1 - 0.1 * 0.1),  # the decay alone
])
def test_an_all_zero_first_gradient_makes_no_nan(make, factor):
    """Where the authors' AdamS divides by zero and their Adai writes NaN (docs/PYTHON.md)."""
    p = params()
    optimizer = make(p)
    for q in p:
        q.grad = torch.zeros_like(q)
    before = [q.detach().clone() for q in p]
    optimizer.step()
    assert optimizer.vbar.item() == 0.0
    for a, b in zip(before, p):
        torch.testing.assert_close(b.detach(), a * factor, rtol=1e-15, atol=0)
    for q in p:  # and the next step with a gradient proceeds normally
        q.grad = torch.ones_like(q)
    optimizer.step()
    assert all(not torch.equal(a, b) and torch.isfinite(b).all() for a, b in zip(before, p))
