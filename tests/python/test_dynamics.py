"""decay_per_step() of swd.optim (the rate the last step's decay applied) and swd.dynamics:
the Tracker's numbers against an independent computation from the weights saved around each
step, the decay budget against the schedule, and which weights scale_invariant_parameters
returns (checked by scaling them)."""
import math

import pytest
import torch

import swd.dynamics as dyn
import swd.optim as so


def params(seed=0, n=2):
    torch.manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(4, 3, dtype=torch.float64)) for _ in range(n)]


# -- decay_per_step -----------------------------------------------------------------------

@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("make,expected", [
    (lambda p, f: so.AdamW(p, lr=0.1, weight_decay=0.3, fused=f), lambda o: 0.1 * 0.3),
    (lambda p, f: so.SGDW(p, lr=0.2, momentum=0.9, weight_decay=0.1, fused=f),
     lambda o: 0.2 * 0.1),
    (lambda p, f: so.SGDS(p, lr=0.2, momentum=0.9, dampening=0.5, weight_decay=0.1, fused=f),
     lambda o: 0.2 * 0.1 * (1 - 0.5) / (1 - 0.9)),
    (lambda p, f: so.AdaiS(p, lr=0.2, weight_decay=0.1, fused=f), lambda o: 0.2 * 0.1),
    (lambda p, f: so.AdamS(p, lr=0.1, weight_decay=0.3, fused=f),
     lambda o: 0.1 * 0.3 / math.sqrt(o.vbar.item())),
])
def test_decay_per_step_is_the_factor_the_step_applied(make, expected, fused):
    """Parameter 0 has a zero gradient, so its step is the decay alone: w1 = (1 - d) w0.
    (Parameter 1's gradient makes AdamS's vbar positive.)"""
    p = params()
    optimizer = make(p, fused)
    assert optimizer.decay_per_step() == [None]  # no step yet
    before = p[0].detach().clone()
    p[0].grad = torch.zeros_like(p[0])
    p[1].grad = torch.ones_like(p[1])
    optimizer.step()
    (rate,) = optimizer.decay_per_step()
    assert rate == pytest.approx(expected(optimizer), rel=1e-12)
    torch.testing.assert_close(p[0].detach(), before * (1 - rate), rtol=1e-14, atol=0)


def test_decay_per_step_is_the_last_steps_and_none_for_l2():
    p = params(n=3)
    optimizer = so.AdamW([{"params": p[:1]}, {"params": p[1:2], "weight_decay": 0.5}], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for q in p:
        q.grad = torch.ones_like(q)
    optimizer.step()
    scheduler.step()  # lr is now 0.05; the step just taken used 0.1
    assert optimizer.decay_per_step() == pytest.approx([0.1 * 1e-2, 0.1 * 0.5], rel=1e-15)
    optimizer.add_param_group({"params": p[2:]})
    assert optimizer.decay_per_step()[2] is None  # not stepped yet
    assert so.Adam(params(), lr=0.1, weight_decay=0.1).decay_per_step() == [None]
    l2 = so.SGD(p, lr=0.1, weight_decay=0.1)
    l2.step()
    assert l2.decay_per_step() == [None]


# -- Tracker --------------------------------------------------------------------------------

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(
            torch.nn.Linear(10, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
            torch.nn.Linear(16, 16, bias=False), torch.nn.LayerNorm(16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.features(x))


def batch(t):
    gen = torch.Generator().manual_seed(t)
    return (torch.randn(32, 10, generator=gen, dtype=torch.float64),
            torch.randint(0, 3, (32,), generator=gen))


def independent(w0, w1):
    """Angle, relative update and norm from two saved weights, with no code of swd.dynamics."""
    a, b = w0.double().reshape(-1), w1.double().reshape(-1)
    cosine = float((a * b).sum() / (a.pow(2).sum().sqrt() * b.pow(2).sum().sqrt()))
    return (math.acos(min(1.0, max(-1.0, cosine))),
            float((b - a).pow(2).sum().sqrt() / a.pow(2).sum().sqrt()),
            float(b.pow(2).sum().sqrt()))


@pytest.mark.parametrize("make", [
    lambda p: so.AdamW(p, lr=0.05, weight_decay=0.2),
    lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.2),
], ids=["swd.optim.AdamW", "torch.optim.AdamW"])
def test_tracker_against_the_saved_weights_and_the_schedule(make):
    net = Net().double()
    optimizer = make(net.parameters())
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    named = dyn.named_scale_invariant_parameters(net)
    assert [name for name, _ in named] == ["features.0.weight", "features.3.weight"]
    tracker = dyn.Tracker(named, optimizer)
    budget = 0.0
    for t in range(12):
        x, y = batch(t)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        saved = [w.detach().clone() for _, w in named]
        tracker.before_step(measure=t % 3 == 0)
        optimizer.step()
        numbers = tracker.after_step()
        budget += 0.05 * 0.9 ** t * 0.2  # the schedule's lr at this step, times weight decay
        scheduler.step()
        assert numbers.step == t + 1
        assert numbers.decay_budget == pytest.approx(budget, rel=1e-12)
        if t % 3:
            assert numbers.angular_update is None and numbers.weight_norm is None
            continue
        expected = [independent(w0, w) for w0, (_, w) in zip(saved, named)]
        for (name, _), (angle, relative, norm) in zip(named, expected):
            got = numbers.tensors[name]
            assert got.angular_update == pytest.approx(angle, rel=1e-9)
            assert got.relative_update == pytest.approx(relative, rel=1e-12)
            assert got.weight_norm == pytest.approx(norm, rel=1e-12)
            assert got.decay_budget == pytest.approx(budget, rel=1e-12)
        assert numbers.angular_update == pytest.approx(sum(e[0] for e in expected) / 2, rel=1e-9)
        assert numbers.weight_norm == pytest.approx(
            math.sqrt(sum(e[2] ** 2 for e in expected)), rel=1e-12)
    assert tracker.budget == pytest.approx({name: budget for name, _ in named}, rel=1e-12)


def test_a_pure_decay_step_is_a_rescaling():
    """Zero gradients: the step only multiplies by 1 - d, so no rotation, |dw|/|w| = d, and
    the budget's e^-budget follows prod(1 - d) to second order."""
    p = params()
    optimizer = so.SGDS(p, lr=0.1, momentum=0.5, weight_decay=0.2)
    tracker = dyn.Tracker(p, optimizer)
    start = [q.detach().clone() for q in p]
    for _ in range(40):
        for q in p:
            q.grad = torch.zeros_like(q)
        tracker.before_step()
        optimizer.step()
        numbers = tracker.after_step()
        d = 0.1 * 0.2 / (1 - 0.5)
        assert numbers.angular_update < 1e-7
        assert numbers.relative_update == pytest.approx(d, rel=1e-12)
        assert numbers.decay_rate == pytest.approx(d, rel=1e-15)
    shrink = (p[0].norm() / start[0].norm()).item()
    assert numbers.decay_budget == pytest.approx(40 * d, rel=1e-12)
    assert shrink == pytest.approx((1 - d) ** 40, rel=1e-12)
    assert math.exp(-numbers.decay_budget) == pytest.approx(shrink, rel=40 * d * d)


def test_budget_sources_and_tensors_without_gradients():
    p = params(n=3)
    tracker = dyn.Tracker({"a": p[0], "b": p[1]}, so.AdamW(p, lr=0.1, weight_decay=0.1))
    custom = dyn.Tracker(p, decay_rate=lambda param: 0.25 if param is p[0] else None)
    l2 = dyn.Tracker(p, torch.optim.SGD(p, lr=0.1, weight_decay=0.1))
    for t in range(3):
        for q in p:
            q.grad = torch.ones_like(q)
        p[1].grad = None if t == 1 else p[1].grad  # not stepped, so not decayed
        for tr in (tracker, custom, l2):
            tr.before_step(measure=False)
        tracker._optimizer.step()
        numbers, own, none = tracker.after_step(), custom.after_step(), l2.after_step()
    assert tracker.budget == pytest.approx({"a": 3 * 0.01, "b": 2 * 0.01}, rel=1e-12)
    assert numbers.tensors["b"].decay_rate == pytest.approx(0.01)
    assert custom.budget["0"] == 0.75 and custom.budget["2"] is None
    assert own.decay_budget == 0.75  # the mean over the tensors whose budget is known
    assert none.decay_budget is None and none.tensors["0"].decay_budget is None
    resumed = dyn.Tracker({"a": p[0], "b": p[1]}, tracker._optimizer)
    resumed.load_state_dict(tracker.state_dict())
    assert resumed.budget == tracker.budget
    with pytest.raises(RuntimeError, match="call before_step"):
        resumed.after_step()
    with pytest.raises(TypeError, match="expected a tensor"):
        dyn.Tracker([1.0])


# -- scale_invariant_parameters ---------------------------------------------------------------

class Mixed(torch.nn.Module):
    """Each weight followed by a norm layer, and whether scaling it leaves the output as is."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        c = torch.nn
        self.body = c.Sequential(
            c.Conv2d(3, 4, 3), c.BatchNorm2d(4), c.ReLU(),                    # 0: yes
            c.Conv2d(4, 4, 3, bias=False), c.GroupNorm(2, 4), c.ReLU(),       # 3: yes, no bias
            c.Conv2d(4, 4, 1), c.GroupNorm(2, 4), c.ReLU(),                   # 6: no, bias mixed
            c.Conv2d(4, 4, 1), c.GroupNorm(4, 4), c.ReLU(),                   # 9: yes, 1 per group
            c.Conv2d(4, 4, 1), c.LayerNorm([4, 4]), c.ReLU(),                 # 12: yes, within a channel
            c.Conv2d(4, 4, 1), c.LayerNorm([4, 4, 4]), c.ReLU(),              # 15: no, across them
            c.Flatten(), c.Linear(64, 8, bias=False), c.LayerNorm(8), c.ReLU(),  # 19: yes
            c.Linear(8, 8), c.LayerNorm(8), c.ReLU(),                         # 22: no, bias
            c.Linear(8, 3))

        for layer in self.body:  # eps makes the invariance approximate: take it out
            if hasattr(layer, "eps"):
                layer.eps = 1e-12

    def forward(self, x):
        return self.body(x)


def test_scale_invariant_parameters_are_the_invariant_ones():
    net = Mixed().double().train()
    named = dyn.named_scale_invariant_parameters(net)
    assert [name for name, _ in named] == ["body.0.weight", "body.3.weight", "body.9.weight",
                                           "body.12.weight", "body.19.weight"]
    x = torch.randn(8, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    returned = {id(w) for _, w in named}

    def logits_with(weight, c):
        with torch.no_grad():
            kept = weight.detach().clone()
            weight.mul_(c)
            out = net(x)
            weight.copy_(kept)
        return out

    reference = logits_with(net.body[0].weight, 1.0)
    for name, weight in net.named_parameters():
        if not name.endswith("weight") or weight.dim() < 2:
            continue
        change = max((logits_with(weight, c) - reference).abs().max().item() for c in (0.5, 3.0))
        if id(weight) in returned:
            assert change < 1e-9, name
        elif name in ("body.6.weight", "body.15.weight", "body.22.weight", "body.25.weight"):
            assert change > 1e-4, name
    assert dyn.scale_invariant_parameters(net) == [w for _, w in named]
