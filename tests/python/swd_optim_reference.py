"""Reference optimizers for the Python package's tests and benchmarks.

``Rules(params, family, decay, **defaults)`` is a torch.optim.Optimizer that steps with the
pure-Python transcription of the update rules in tests/golden/make_golden.py (the authors'
swd_optim and torch.optim 1.13, written from docs/OPTIMIZERS.md independently of the C++
code): family "sgd", "adam" or "adai", decay "l2", "decoupled" or "stable". ``AdamS``,
``SGDS``, ``AdaiS`` and ``Adai`` are the authors' classes with their constructor signatures
and defaults.
"""
import os
import sys

import torch
from torch.optim.optimizer import Optimizer, required

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import make_golden  # noqa: E402  (tests/golden)

RULES = {"sgd": make_golden.sgd_step, "adam": make_golden.adam_step,
         "adai": make_golden.adai_step}


class Rules(Optimizer):
    def __init__(self, params, family, decay, **defaults):
        self._rule, self._decay, self._rule_state = RULES[family], decay, {}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():  # the rules name parameters by key: here id(p)
            groups = [dict(g, params={id(p): p for p in g["params"]}) for g in self.param_groups]
            grads = {id(p): p.grad for g in self.param_groups for p in g["params"]
                     if p.grad is not None}
            self._rule(groups, grads, self._rule_state, self._decay)
        return loss


class AdamS(Rules):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4,
                 amsgrad=False):
        super().__init__(params, "adam", "stable", lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad)


class SGDS(Rules):
    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        super().__init__(params, "sgd", "stable", lr=lr, momentum=momentum,
                         dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)


class AdaiS(Rules):
    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0):
        super().__init__(params, "adai", "stable", lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay)


class Adai(Rules):
    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0):
        super().__init__(params, "adai", "l2", lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay)
