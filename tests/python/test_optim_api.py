"""swd.optim as a torch.optim.Optimizer: state_dict round trips (bitwise resume, torch.optim's
own state), param_groups edited by schedulers, by hand and by add_param_group, closures,
zero_grad, bad arguments, vbar, and what happens with NaN and all-zero gradients."""
import io

import pytest
import torch

import swd.optim as so
import swd_optim_reference as ref


def model(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    return net.to(dtype)


def batch(t, dtype=torch.float64):
    gen = torch.Generator().manual_seed(1000 + t)
    return torch.randn(16, 6, generator=gen, dtype=dtype), torch.randint(0, 3, (16,), generator=gen)


def train_step(net, optimizer, t):
    x, y = batch(t, next(net.parameters()).dtype)
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def two_groups(net, **second):
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    return [{"params": weights}, dict(params=biases, **second)]


MAKERS = {
    "AdamS": lambda params: so.AdamS(params, lr=0.01, weight_decay=0.1),
    "AdamS amsgrad": lambda params: so.AdamS(params, lr=0.01, weight_decay=0.1, amsgrad=True),
    "AdamW": lambda params: so.AdamW(params, lr=0.01),
    "SGDS": lambda params: so.SGDS(params, lr=0.1, momentum=0.9, weight_decay=0.01),
    "SGD nesterov": lambda params: so.SGD(params, lr=0.1, momentum=0.9, nesterov=True,
                                          weight_decay=0.01),
    "AdaiS": lambda params: so.AdaiS(params, lr=0.1, weight_decay=0.01),
    "Adai": lambda params: so.Adai(params, lr=0.1, weight_decay=0.01),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_resumed_run_continues_bitwise(name):
    net = model()
    optimizer = MAKERS[name](two_groups(net, lr=0.003))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[15], gamma=0.1)
    for t in range(10):
        train_step(net, optimizer, t)
        scheduler.step()
    saved = io.BytesIO()
    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, saved)
    for t in range(10, 25):
        train_step(net, optimizer, t)
        scheduler.step()

    saved.seek(0)
    checkpoint = torch.load(saved)
    resumed = model(seed=1)
    resumed.load_state_dict(checkpoint["model"])
    optimizer2 = MAKERS[name](two_groups(resumed, lr=0.5))  # lr from the checkpoint wins
    optimizer2.load_state_dict(checkpoint["optimizer"])
    scheduler2 = torch.optim.lr_scheduler.MultiStepLR(optimizer2, milestones=[15], gamma=0.1)
    scheduler2.load_state_dict(checkpoint["scheduler"])
    for t in range(10, 25):
        train_step(resumed, optimizer2, t)
        scheduler2.step()
    for a, b in zip(net.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert [g["lr"] for g in optimizer2.param_groups] == [g["lr"] for g in optimizer.param_groups]


def test_state_dict_has_torch_layout_and_live_state():
    net = model()
    optimizer = so.AdamS(two_groups(net, weight_decay=0.0))
    train_step(net, optimizer, 0)
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2, 3]]
    assert state["param_groups"][1]["weight_decay"] == 0.0
    assert state["param_groups"][0]["decay"] == "stable"
    assert sorted(state["state"]) == [0, 1, 2, 3]
    entry = state["state"][0]
    assert entry["step"] == 1 and set(entry) >= {"exp_avg", "exp_avg_sq"}
    weight = net[0].weight
    assert torch.equal(optimizer.state[weight]["exp_avg"], entry["exp_avg"])
    assert len(optimizer.state) == 4
    # vbar: the mean of exp_avg_sq / (1 - beta2^t) over every element (docs/OPTIMIZERS.md)
    total = sum(s["exp_avg_sq"].sum().item() for s in state["state"].values())
    elements = sum(p.numel() for p in net.parameters())
    assert optimizer.vbar.item() == pytest.approx(total / (1 - 0.999) / elements, rel=1e-12)


def test_torch_optim_state_loads_and_continues_as_torch():
    """torch.optim.AdamW's state_dict (step as a tensor, torch's extra group keys) into
    swd.optim.AdamW, which then follows torch.optim.AdamW."""
    net, twin = model(), model()
    theirs = torch.optim.AdamW(twin.parameters(), lr=0.01, weight_decay=0.05)
    for t in range(5):
        train_step(twin, theirs, t)
    net.load_state_dict(twin.state_dict())
    ours = so.AdamW(net.parameters())
    ours.load_state_dict(theirs.state_dict())
    assert ours.param_groups[0]["weight_decay"] == 0.05
    for t in range(5, 15):
        train_step(net, ours, t)
        train_step(twin, theirs, t)
    for a, b in zip(net.parameters(), twin.parameters()):
        assert ((a - b).abs().max() / b.abs().max()).item() < 1e-12


def test_edits_to_param_groups_take_effect_at_the_next_step():
    """By hand (lr, weight decay) and by add_param_group, against the reference."""
    net, twin = model(), model()
    extra = torch.nn.Parameter(torch.linspace(-1, 1, 4, dtype=torch.float64))
    twin_extra = torch.nn.Parameter(extra.detach().clone())
    ours = so.Adam(two_groups(net), lr=0.01, weight_decay=0.1, decay="stable")
    theirs = ref.AdamS(two_groups(twin), lr=0.01, weight_decay=0.1)
    for t in range(20):
        if t == 5:
            for opt in (ours, theirs):
                opt.param_groups[1]["weight_decay"] = 0.5
                opt.param_groups[0]["lr"] = 0.02
        if t == 8:
            ours.add_param_group({"params": [extra], "lr": 0.05})
            theirs.add_param_group({"params": [twin_extra], "lr": 0.05})
        if t == 12:  # the first bias leaves the optimizer: from now on it does not move
            for opt in (ours, theirs):
                opt.param_groups[1]["params"] = opt.param_groups[1]["params"][1:]
            dropped = net[0].bias.detach().clone()
        for opt, n, e in ((ours, net, extra), (theirs, twin, twin_extra)):
            x, y = batch(t)
            for p in n.parameters():
                p.grad = None
            torch.nn.functional.cross_entropy(n(x), y).backward()
            e.grad = e.detach() - 0.3 * t
            opt.step()
    assert ours.fused_parameters == 4 and len(ours.state) == 4
    assert torch.equal(net[0].bias, dropped)
    for a, b in zip(list(net.parameters()) + [extra], list(twin.parameters()) + [twin_extra]):
        assert ((a - b).abs() / b.abs().clamp(min=1e-12)).max().item() < 1e-9


def test_the_decay_mode_is_a_group_key_and_our_state_loads_into_torch():
    """Stable decay for 5 steps, then group edits switch to decoupled: from there the run
    follows torch.optim.AdamW started from our state_dict."""
    net, twin = model(), model()
    ours = so.Adam(net.parameters(), lr=0.01, weight_decay=0.05, decay="stable")
    for t in range(5):
        train_step(net, ours, t)
    twin.load_state_dict(net.state_dict())
    theirs = torch.optim.AdamW(twin.parameters())
    theirs.load_state_dict(ours.state_dict())
    ours.param_groups[0]["decay"] = "decoupled"
    for t in range(5, 15):
        train_step(net, ours, t)
        train_step(twin, theirs, t)
    for a, b in zip(net.parameters(), twin.parameters()):
        assert ((a - b).abs().max() / b.abs().max()).item() < 1e-12


def test_closure_and_zero_grad():
    net, twin = model(), model()
    ours, theirs = so.SGDS(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01), \
        ref.SGDS(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for t in range(5):
        x, y = batch(t)
        losses = []
        for n, opt in ((net, ours), (twin, theirs)):
            def closure():
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(n(x), y)
                loss.backward()
                return loss
            with torch.no_grad():  # step enables gradients for the closure itself
                losses.append(opt.step(closure))
        assert losses[0].item() == losses[1].item()
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=0)
    ours.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in net.parameters())
    before = [p.detach().clone() for p in net.parameters()]
    ours.step()  # nothing has a gradient: nothing moves
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    train_step(net, ours, 0)
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())


def test_a_profiler_sees_the_step():
    net = model()
    optimizer = so.AdamS(net.parameters())
    with torch.profiler.profile() as profile:
        train_step(net, optimizer, 0)
    assert "Optimizer.step#AdamS.step" in [event.name for event in profile.events()]
