"""bfloat16 parameters: the fused kernels take them (computing in float32 and rounding where
they store), stay at least as close to a float32 run as torch.optim's bfloat16 loop does, and
Adai refuses them (its state would divide by zero)."""
import pytest
import torch

import swd.optim as so


def net(dtype):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, 5)).to(dtype)


def step_with_float32_gradients(yard, yard_opt, runs, t):
    """One step of the float32 yardstick; the bfloat16 runs step with its gradients, rounded,
    so that they differ from it by their optimizer's rounding only."""
    gen = torch.Generator().manual_seed(t)
    x, y = torch.randn(64, 20, generator=gen), torch.randint(0, 5, (64,), generator=gen)
    yard.zero_grad()
    torch.nn.functional.cross_entropy(yard(x), y).backward()
    for model, opt in runs:
        for p, q in zip(model.parameters(), yard.parameters()):
            p.grad = q.grad.to(p.dtype)
        opt.step()
    yard_opt.step()


def error(model, reference):
    return max(((p.double() - q.double()).norm() / q.double().norm()).item()
               for p, q in zip(model.parameters(), reference.parameters()))


@pytest.mark.parametrize("ours,theirs", [
    (lambda p: so.AdamW(p, lr=1e-2, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1, foreach=False)),
    (lambda p: so.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True),
     lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True, foreach=False)),
    (lambda p: so.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
], ids=["adamw", "amsgrad", "sgd"])
def test_bfloat16_is_fused_and_as_close_to_float32_as_torch(ours, theirs):
    yard, mine, torchs = net(torch.float32), net(torch.bfloat16), net(torch.bfloat16)
    yard_opt, mine_opt, torch_opt = (theirs(yard.parameters()), ours(mine.parameters()),
                                     theirs(torchs.parameters()))
    for t in range(40):
        step_with_float32_gradients(yard, yard_opt, [(mine, mine_opt), (torchs, torch_opt)], t)
    assert mine_opt.fused_parameters == 4
    assert all(p.dtype == torch.bfloat16 for p in mine.parameters())
    ours_error, torch_error = error(mine, yard), error(torchs, yard)
    assert ours_error <= torch_error * 1.1 + 1e-3, (ours_error, torch_error)
    assert ours_error < 0.1  # bfloat16 rounds to 2^-8 = 4e-3 at each of 40 steps
    # and torch's bfloat16 state loads into ours, and ours into torch's
    again = ours(net(torch.bfloat16).parameters())
    again.load_state_dict(torch_opt.state_dict())
    theirs(net(torch.bfloat16).parameters()).load_state_dict(mine_opt.state_dict())


def test_adams_bfloat16_keeps_vbar_of_the_float32_run():
    yard, mine = net(torch.float32), net(torch.bfloat16)
    yard_opt = so.AdamS(yard.parameters(), lr=1e-2, weight_decay=0.1)
    mine_opt = so.AdamS(mine.parameters(), lr=1e-2, weight_decay=0.1)
    for t in range(20):
        step_with_float32_gradients(yard, yard_opt, [(mine, mine_opt)], t)
    assert mine_opt.fused_parameters == 4
    assert mine_opt.vbar.item() == pytest.approx(yard_opt.vbar.item(), rel=2e-2)
    assert error(mine, yard) < 0.05


@pytest.mark.parametrize("cls", [so.AdaiS, so.Adai])
def test_adai_refuses_bfloat16(cls):
    with pytest.raises(TypeError, match=r"cannot optimize torch.bfloat16 tensors .*divides by "
                                         r"zero"):
        cls(net(torch.bfloat16).parameters(), lr=0.1)
