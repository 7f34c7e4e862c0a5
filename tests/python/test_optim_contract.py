"""torch.optim's contract kept where it is easy to break (issue 27): complex parameters,
load_state_dict that checks the whole state dict first, copies (deepcopy, pickle,
torch.save), optimizer.state as a view with torch's reset and assignment, and TypeError for
arguments of the wrong type."""
import copy
import io
import pickle
from collections import defaultdict

import pytest
import torch

import swd.optim as so
import swd_optim_reference as ref


def model(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(),
                               torch.nn.Linear(5, 3)).to(dtype)


def train_step(net, optimizer, t):
    gen = torch.Generator().manual_seed(1000 + t)
    x = torch.randn(16, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (16,), generator=gen)
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()


def stepped(opt, steps=3):
    for p in (p for g in opt.param_groups for p in g["params"]):
        p.grad = torch.ones_like(p)
    for _ in range(steps):
        opt.step()
    return opt


MAKERS = {
    "AdamS": lambda p: so.AdamS(p, lr=0.01, weight_decay=0.1),
    "AMSGradS": lambda p: so.AdamS(p, lr=0.01, weight_decay=0.1, amsgrad=True),
    "AdamW": lambda p: so.AdamW(p, lr=0.01),
    "SGDS": lambda p: so.SGDS(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "AdaiS": lambda p: so.AdaiS(p, lr=0.1, weight_decay=0.01),
}


# -- complex parameters ------------------------------------------------------------------

COMPLEX_TWINS = {  # swd class, torch class, options; torch steps complex tensors as real pairs
    "adam_l2": (so.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "adamw": (so.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "sgd_nesterov": (so.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True,
                                                   weight_decay=0.01)),
}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", sorted(COMPLEX_TWINS))
def test_complex_parameters_follow_torch(name, fused):
    ours_cls, torch_cls, options = COMPLEX_TWINS[name]
    torch.manual_seed(0)
    init = [torch.randn(4, 3, dtype=torch.complex128), torch.randn(5, dtype=torch.float64)]
    mine = [torch.nn.Parameter(t.clone()) for t in init]
    theirs = [torch.nn.Parameter(t.clone()) for t in init]
    ours = ours_cls(mine, fused=fused, **options)
    twin = torch_cls(theirs, foreach=False, **options)
    for t in range(20):
        for a, b in zip(mine, theirs):
            a.grad = torch.randn_like(a) * (t + 1)
            b.grad = a.grad.clone()
        ours.step()
        twin.step()
        for a, b in zip(mine, theirs):
            assert ((a - b).abs().max() / b.abs().max()).item() < 1e-12, (name, t)
    assert ours.fused_parameters == (2 if fused else 0)
    assert mine[0].dtype == torch.complex128 and torch.is_complex(mine[0])
    # the state is complex, as torch.optim's, and loads into torch.optim and back
    for key, value in ours.state[mine[0]].items():
        if isinstance(value, torch.Tensor):
            assert value.dtype == torch.complex128 and value.shape == mine[0].shape, key
    state = ours.state_dict()
    again = torch_cls([torch.nn.Parameter(p.detach().clone()) for p in mine], foreach=False,
                      **options)
    again.load_state_dict(state)
    back = ours_cls([torch.nn.Parameter(p.detach().clone()) for p in mine], **options)
    back.load_state_dict(twin.state_dict())
    torch.testing.assert_close(back.state_dict()["state"], state["state"], rtol=1e-12, atol=0)


def test_complex_adams_is_adams_on_the_real_pairs():
    """Where torch has no twin (stable decay): the same steps as the authors' AdamS on
    view_as_real of the parameter (vbar counts real and imaginary parts as elements)."""
    torch.manual_seed(1)
    z = torch.randn(6, 2, dtype=torch.complex128)
    mine = torch.nn.Parameter(z.clone())
    theirs = torch.nn.Parameter(torch.view_as_real(z).clone())
    ours, twin = so.AdamS([mine], lr=0.01, weight_decay=0.1), ref.AdamS([theirs], lr=0.01,
                                                                         weight_decay=0.1)
    for t in range(15):
        mine.grad = torch.randn_like(mine)
        theirs.grad = torch.view_as_real(mine.grad).clone()
        ours.step()
        twin.step()
    torch.testing.assert_close(torch.view_as_real(mine.detach()), theirs.detach(), rtol=1e-12,
                               atol=0)


def test_a_complex_state_follows_a_replaced_data():
    p = torch.nn.Parameter(torch.randn(3, dtype=torch.complex64))
    optimizer = stepped(so.AdamW([p], lr=0.1), 2)
    exp_avg = optimizer.state[p]["exp_avg"].clone()
    old = p.data
    p.data = p.data.clone()  # a new storage: the optimizer's real view must follow it
    moved_from = p.detach().clone()
    p.grad = torch.full_like(p, -1)
    optimizer.step()
    assert optimizer.state[p]["step"] == 3
    torch.testing.assert_close(optimizer.state[p]["exp_avg"], 0.9 * exp_avg + 0.1 * p.grad)
    assert not torch.equal(p.detach(), moved_from) and torch.equal(old, moved_from)


# -- load_state_dict checks everything first ------------------------------------------------

def assert_unchanged(optimizer, before):
    now = optimizer.state_dict()
    assert now["param_groups"] == before["param_groups"]
    torch.testing.assert_close(now["state"], before["state"], rtol=0, atol=0)


@pytest.mark.parametrize("edit,match", [
    (lambda s: s["state"][0].pop("exp_avg"), r"parameter 0 \(group 0, index 0\): missing 'exp_avg'"),
    (lambda s: s["state"][1].update(exp_avg=[1.0]), r"parameter 1 .*'exp_avg' is a list \(expected a tensor\)"),
    (lambda s: s["state"][1].update(step="3"), r"'step' is '3' \(expected a whole number >= 0\)"),
    (lambda s: s["state"][1].update(step=-1), r"'step' is -1"),
    (lambda s: s["state"][1].update(step=2.5), r"'step' is 2.5"),
    (lambda s: s["state"][0].update(exp_avg=torch.zeros(5, 6, dtype=torch.int64)),
     r"'exp_avg' is a torch.int64 tensor \(expected a floating-point tensor\)"),
    (lambda s: s["state"][0].update(momentum_buffer=torch.zeros(5, 6)), r"unexpected 'momentum_buffer'"),
    (lambda s: s["state"].update({9: {}}), r"state for parameter 9, which no saved parameter group lists"),
    (lambda s: s["param_groups"][0].pop("betas"), r"saved parameter group 0: missing 'betas'"),
    (lambda s: s["param_groups"][0].update(lr="0.1"), r"invalid lr '0.1' in saved parameter group 0"),
    (lambda s: s["param_groups"][0].update(amsgrad=True), r"missing 'max_exp_avg_sq'"),
])
def test_a_state_dict_that_does_not_fit_names_the_keys_and_changes_nothing(edit, match):
    net = model()
    optimizer = stepped(so.AdamS(net.parameters(), lr=0.01))
    before = copy.deepcopy(optimizer.state_dict())
    broken = copy.deepcopy(before)
    edit(broken)
    with pytest.raises(ValueError, match=match):
        optimizer.load_state_dict(broken)
    assert_unchanged(optimizer, before)


@pytest.mark.parametrize("source,target,match", [
    (lambda p: so.SGDS(p, lr=0.1, momentum=0.9), lambda p: so.AdamS(p),
     r"missing 'betas', 'eps', 'amsgrad'.*unexpected 'momentum_buffer', missing 'step', "
     r"'exp_avg', 'exp_avg_sq'"),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), lambda p: so.AdamW(p),
     r"unexpected 'momentum_buffer'"),
    (lambda p: so.AdamS(p), lambda p: so.AdaiS(p, lr=0.1), r"missing 'beta1_prod'"),
    (lambda p: torch.optim.AdamW(p), lambda p: so.SGD(p, lr=0.1, momentum=0.9),
     r"missing 'momentum', 'dampening', 'nesterov'.*unexpected 'exp_avg'"),
])
def test_another_familys_state_is_refused(source, target, match):
    net = model()
    theirs = stepped(source(net.parameters()))
    ours = stepped(target(model(1).parameters()))
    before = copy.deepcopy(ours.state_dict())
    with pytest.raises(ValueError, match=match):
        ours.load_state_dict(theirs.state_dict())
    assert_unchanged(ours, before)


@pytest.mark.parametrize("torch_cls,swd_cls,options", [
    (torch.optim.Adam, so.Adam, dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    (torch.optim.AdamW, so.AdamW, dict(lr=0.01, weight_decay=0.05)),
    (torch.optim.SGD, so.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (torch.optim.SGD, so.SGD, dict(lr=0.1)),  # no momentum: buffers None in torch's state
])
def test_torch_optim_state_loads_where_it_fits_and_continues_as_torch(torch_cls, swd_cls,
                                                                      options):
    net, twin = model(), model()
    theirs = torch_cls(twin.parameters(), **options)
    for t in range(5):
        train_step(twin, theirs, t)
    net.load_state_dict(twin.state_dict())
    ours = swd_cls(net.parameters(), lr=0.5)
    ours.load_state_dict(theirs.state_dict())
    for t in range(5, 15):
        train_step(net, ours, t)
        train_step(twin, theirs, t)
    for a, b in zip(net.parameters(), twin.parameters()):
        assert ((a - b).abs().max() / b.abs().max()).item() < 1e-12


# -- copies --------------------------------------------------------------------------------

def through_pickle(obj):
    return pickle.loads(pickle.dumps(obj))


def through_torch_save(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer)


@pytest.mark.parametrize("how", [copy.deepcopy, through_pickle, through_torch_save],
                         ids=["deepcopy", "pickle", "torch.save"])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_copy_continues_bitwise_as_the_original(name, how):
    net = model()
    optimizer = MAKERS[name]([{"params": list(net.parameters())[:2]},
                              {"params": list(net.parameters())[2:], "lr": 0.003}])
    for t in range(5):
        train_step(net, optimizer, t)
    copied = how({"model": net, "optimizer": optimizer})
    net2, optimizer2 = copied["model"], copied["optimizer"]
    assert type(optimizer2) is type(optimizer)
    assert optimizer2.param_groups[1]["params"][0] is list(net2.parameters())[2]
    assert optimizer2.decay_per_step() == optimizer.decay_per_step()
    assert (optimizer2.vbar is None) == (optimizer.vbar is None)
    if optimizer.vbar is not None:
        assert torch.equal(optimizer2.vbar, optimizer.vbar)
    for t in range(5, 12):
        train_step(net, optimizer, t)
        train_step(net2, optimizer2, t)
    for a, b in zip(net.parameters(), net2.parameters()):
        assert torch.equal(a, b)


def test_a_deepcopy_steps_copies_of_the_parameters():
    net = model()
    optimizer = stepped(so.AdamS(net.parameters(), lr=0.1))
    copied = copy.deepcopy(optimizer)
    before = [p.detach().clone() for p in net.parameters()]
    stepped(copied, 2)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert copied.state_dict()["state"][0]["step"] == 5 and optimizer.state[
        next(net.parameters())]["step"] == 3


# -- optimizer.state ----------------------------------------------------------------------

def test_state_reset_as_in_torch():
    net, fresh_net = model(), model()
    optimizer = MAKERS["AdamS"](net.parameters())
    for t in range(4):
        train_step(net, optimizer, t)
    fresh_net.load_state_dict(net.state_dict())
    optimizer.state = defaultdict(dict)  # the common reset
    assert len(optimizer.state) == 0 and optimizer.state_dict()["state"] == {}
    fresh = MAKERS["AdamS"](fresh_net.parameters())
    for t in range(4, 8):
        train_step(net, optimizer, t)
        train_step(fresh_net, fresh, t)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), fresh_net.parameters()))

    first, second = list(net.parameters())[:2]
    optimizer.state[first] = {}  # one parameter: its next step starts afresh
    assert first not in optimizer.state and second in optimizer.state and len(optimizer.state) == 3
    del optimizer.state[second]
    with pytest.raises(KeyError):
        del optimizer.state[second]
    assert optimizer.state.get(second) is None and len(optimizer.state[second]) == 0
    train_step(net, optimizer, 9)
    assert [optimizer.state[p]["step"] for p in net.parameters()] == [1, 1, 5, 5]


def test_state_is_a_view_of_the_optimizers_own_tensors():
    net = model()
    optimizer = stepped(MAKERS["SGDS"](net.parameters()), 1)
    weight = next(net.parameters())
    view = optimizer.state[weight]
    buffer = view["momentum_buffer"]
    assert buffer.data_ptr() == optimizer.state[weight]["momentum_buffer"].data_ptr()
    assert buffer.data_ptr() == optimizer.state_dict()["state"][0]["momentum_buffer"].data_ptr()
    buffer.zero_()  # in place, as with torch.optim's state
    before = weight.detach().clone()
    weight.grad = torch.zeros_like(weight)
    optimizer.step()  # zero buffer, zero gradient: only the decay acts
    torch.testing.assert_close(weight.detach(), before * (1 - 0.1 * 0.01 / (1 - 0.9)),
                               rtol=1e-15, atol=0)
    assert list(optimizer.state) == list(net.parameters())
    assert [k for k, _ in optimizer.state.items()] == list(net.parameters())


def test_state_assignment_is_checked_and_copied_in():
    net = model()
    optimizer = stepped(MAKERS["AdamS"](net.parameters()), 2)
    weight = next(net.parameters())
    replacement = torch.full_like(weight, 0.25)
    optimizer.state[weight]["exp_avg"] = replacement
    assert torch.equal(optimizer.state[weight]["exp_avg"], replacement)
    optimizer.state[weight]["step"] = torch.tensor(7.0)  # torch.optim's step, as ZeRO copies it
    assert optimizer.state[weight]["step"] == 7
    before = copy.deepcopy(optimizer.state_dict())
    for bad, match in ((lambda: optimizer.state[weight].__setitem__("exp_avg", torch.zeros(2)),
                        r"'exp_avg' has shape \[2\]"),
                       (lambda: optimizer.state[weight].__setitem__("momentum", 0.9),
                        r"unexpected 'momentum'"),
                       (lambda: optimizer.state[weight].__delitem__("exp_avg"),
                        r"missing 'exp_avg'"),
                       (lambda: optimizer.state.__setitem__(torch.zeros(3), {}),
                        r"not a parameter of this optimizer"),
                       (lambda: setattr(optimizer, "state", {weight: {"step": 1}}),
                        r"parameter 0 of group 0: missing 'exp_avg', 'exp_avg_sq'")):
        with pytest.raises(ValueError, match=match):
            bad()
    assert_unchanged(optimizer, before)
    with pytest.raises(TypeError, match=r"takes a mapping"):
        optimizer.state = [1]
    whole = {p: dict(optimizer.state[p]) for p in net.parameters()}
    optimizer.state = {}
    optimizer.state = whole  # a whole mapping replaces everything
    assert_unchanged(optimizer, before)


# -- TypeError where torch.optim raises one -------------------------------------------------

@pytest.mark.parametrize("make,match", [
    (lambda p: so.AdamW(p, lr="0.1"), r"invalid lr '0.1' in parameter group 0 \(expected a number\)"),
    (lambda p: so.AdamS(p, lr=None), r"invalid lr None"),
    (lambda p: so.SGD(p, lr=[0.1]), r"invalid lr \[0.1\]"),
    (lambda p: so.Adam(p, betas=0.9), r"invalid betas 0.9 .*\(expected a pair of numbers\)"),
    (lambda p: so.Adam(p, betas=("0.9", 0.999)), r"invalid betas\[0\] '0.9'"),
    (lambda p: so.AdamS(p, eps="1e-8"), r"invalid eps"),
    (lambda p: so.AdamS(p, weight_decay=None), r"invalid weight_decay None"),
    (lambda p: so.Adam(p, amsgrad="yes"), r"invalid amsgrad 'yes' .*\(expected True or False\)"),
    (lambda p: so.Adam(p, decay=2), r"invalid decay 2"),
    (lambda p: so.AdamS(p, fused="no"), r"invalid fused 'no'"),
    (lambda p: so.AdamS(p, process_group="world"), r"invalid process_group 'world'"),
    (lambda p: so.AdamS([torch.zeros(3, dtype=torch.int64, requires_grad=False)]),
     r"can only optimize floating-point and complex tensors.* torch.int64"),
    (lambda p: so.AdamS(p[0]), r"should be an iterable of Tensors or dicts"),  # torch's own
    (lambda p: so.AdamS([1.0]), r"can only optimize Tensors"),  # torch's own
])
def test_type_mistakes_raise_type_error(make, match):
    params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(TypeError, match=match):
        make(params)


def test_torch_raises_type_error_for_the_same_mistakes():
    params = [torch.nn.Parameter(torch.ones(3))]
    for make in (lambda: torch.optim.AdamW(params, lr="0.1"),
                 lambda: torch.optim.Adam(params, betas=0.9),
                 lambda: torch.optim.SGD(params, lr=None)):
        with pytest.raises(TypeError):
            make()


def test_a_mistyped_group_edit_raises_type_error_at_step_and_moves_nothing():
    p = torch.nn.Parameter(torch.ones(3))
    optimizer = so.AdamS([p], lr=0.1)
    p.grad = torch.ones(3)
    optimizer.param_groups[0]["lr"] = "0.1"
    with pytest.raises(TypeError, match=r"invalid lr '0.1' in parameter group 0"):
        optimizer.step()
    assert torch.equal(p, torch.ones(3)) and len(optimizer.state) == 0
    with pytest.raises(TypeError, match=r"invalid momentum 'high' in parameter group 1"):
        so.SGD([p], lr=0.1).add_param_group({"params": [torch.nn.Parameter(torch.ones(1))],
                                             "momentum": "high"})


def test_numbers_of_other_types_are_taken_as_torch_takes_them():
    p = [torch.nn.Parameter(torch.ones(3)) for _ in range(2)]
    ours = so.AdamW([p[0]], lr=torch.tensor(0.01), betas=[0.9, 0.999], weight_decay=1)
    theirs = so.AdamW([p[1]], lr=0.01, betas=(0.9, 0.999), weight_decay=1.0)
    for q in p:
        q.grad = torch.ones(3)
    ours.step()
    theirs.step()
    assert torch.equal(p[0], p[1])


def test_maximize_is_refused():
    with pytest.raises(ValueError, match=r"maximize=True, which swd.optim does not support"):
        so.AdamS([{"params": [torch.nn.Parameter(torch.ones(1))], "maximize": True}])
