"""Sharded training with process_group (docs/PYTHON.md): 2 gloo processes on 127.0.0.1, each
stepping half of the parameters, take the same steps as one process stepping all of them, with
the shards split by hand and by torch's ZeroRedundancyOptimizer; without process_group each
shard's vbar covers its own parameters only, and the run differs. Also a step where one
process's parameters have no gradient (it still takes part in the all-reduce), ZeRO's
consolidated state dict resuming bitwise, and copies of an optimizer with a process group."""
import copy
import functools
import gc
import os
import pickle
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.optim import ZeroRedundancyOptimizer

import swd.optim as so

WORLD = 2
STEPS = 12
CASES = {
    "AdamS": lambda params, **kw: so.AdamS(params, lr=0.01, weight_decay=0.5, **kw),
    "AMSGradS": lambda params, **kw: so.AdamS(params, lr=0.01, weight_decay=0.5, amsgrad=True,
                                              **kw),
    "AdaiS": lambda params, **kw: so.AdaiS(params, lr=0.1, weight_decay=0.05, **kw),
}


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6),
                               torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()


def gradients(net, t):
    """The same full gradients on every process (the data-parallel all-reduce done)."""
    gen = torch.Generator().manual_seed(100 + t)
    x = torch.randn(32, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=gen)
    for p in net.parameters():
        p.grad = None
    torch.nn.functional.cross_entropy(net(x), y).backward()
    if t == 5:  # a step where the second process's parameters (odd ones) have no gradient
        for p in list(net.parameters())[1::2]:
            p.grad = None


def unsharded(case):
    net = model()
    optimizer = CASES[case](net.parameters())
    for t in range(STEPS):
        gradients(net, t)
        optimizer.step()
    return [p.detach() for p in net.parameters()]


def by_hand(case, group):
    """Process r steps parameters r, r + 2, ...; then each owner broadcasts its parameters."""
    net = model()
    params = list(net.parameters())
    rank = dist.get_rank()
    optimizer = CASES[case](params[rank::WORLD], process_group=group)
    for t in range(STEPS):
        gradients(net, t)
        optimizer.step()
        for i, p in enumerate(params):
            dist.broadcast(p.data, src=i % WORLD)
    return [p.detach() for p in params], optimizer


def zero(net, case):
    return ZeroRedundancyOptimizer(
        net.parameters(),
        optimizer_class=functools.partial(CASES[case], process_group=dist.group.WORLD))


def with_zero(case):
    """ZeRO for all the steps, with a checkpoint half way: its consolidated state dict loads
    into a new ZeRO over a copy of the model, which then takes the same steps bitwise."""
    net = model()
    optimizer = zero(net, case)
    for t in range(STEPS):
        if t == STEPS // 2:
            saved = None
            for to in range(WORLD):  # every rank gets the whole state dict
                optimizer.consolidate_state_dict(to=to)
                if to == dist.get_rank():
                    saved = copy.deepcopy(optimizer.state_dict())
            twin = model()
            twin.load_state_dict(net.state_dict())
            resumed = zero(twin, case)
            resumed.load_state_dict(saved)
        gradients(net, t)
        optimizer.step()
        if t >= STEPS // 2:
            gradients(twin, t)
            resumed.step()
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b), case
    return [p.detach() for p in net.parameters()]


def relative_difference(a, b):
    return max(((x - y).norm() / y.norm()).item() for x, y in zip(a, b))


def worker(rank, rendezvous):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # gloo's connections on 127.0.0.1
    # the ranks meet through a file: no port to pick that another process could take first
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=WORLD, timeout=timedelta(seconds=60))
    try:
        for case in CASES:
            check(case)
    finally:
        # Nothing may hold the process group when it goes: a gloo group freed only at the
        # interpreter's exit can abort it there ("terminate called without an active
        # exception"), whoever holds it (ZeRO, an optimizer).
        gc.collect()
        dist.destroy_process_group()


def check(case):
    expected = unsharded(case)
    sharded, optimizer = by_hand(case, dist.group.WORLD)
    assert relative_difference(sharded, expected) < 1e-12, case
    assert relative_difference(with_zero(case), expected) < 1e-12, case
    alone, _ = by_hand(case, None)  # each shard's own vbar: another run
    assert relative_difference(alone, expected) > 1e-4, case
    check_copies(optimizer)


def check_copies(optimizer):
    copied = copy.deepcopy(optimizer)
    assert copied.process_group is optimizer.process_group
    with pytest.raises(TypeError, match=r"with a process_group cannot be pickled"):
        pickle.dumps(optimizer)
    copied.process_group = None
    pickle.loads(pickle.dumps(copied))


def test_sharded_stable_decay_equals_unsharded(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / "rendezvous"),), nprocs=WORLD, join=True)
