"""swd's optimizers as ``torch.optim.Optimizer`` subclasses (docs/PYTHON.md).

Each class keeps PyTorch's interface: ``param_groups`` (edits, by hand or by a
``torch.optim.lr_scheduler``, take effect at the next step), ``add_param_group``,
``state_dict()`` / ``load_state_dict()``, ``step(closure)``, ``zero_grad(set_to_none=...)``.
``step()`` runs swd's C++ step (docs/OPTIMIZERS.md) on the parameters, gradients and state in
place: the fused CPU kernels where they apply (float32/float64 CPU tensors), the op-by-op path
elsewhere. The per-parameter state lives in the C++ optimizer; ``optimizer.state`` is a
read-only view of it.

Names and defaults: ``AdamS``, ``SGDS``, ``AdaiS`` and ``Adai`` as in the authors'
``swd_optim``; ``SGD``, ``Adam``, ``AdamW`` as in ``torch.optim``; the families ``SGD``,
``Adam`` and ``Adai`` take the weight-decay mode as ``decay="l2" | "decoupled" | "stable"``.
"""
from collections.abc import Mapping

import torch
from torch.optim.optimizer import Optimizer, required

from . import _ext

__all__ = ["SGD", "SGDW", "SGDS", "Adam", "AdamW", "AdamS", "Adai", "AdaiS"]

_DECAY_CODES = {name: _ext.decay_code(name) for name in ("l2", "decoupled", "stable")}


class _SwdOptimizer(Optimizer):
    """What every swd optimizer shares. A subclass names its C++ family and the group keys
    that family reads (``betas`` is a pair, ``decay`` a mode name, the rest numbers)."""

    _family = None
    _options = ()

    def __init__(self, params, defaults, fused):
        self._impl = None  # Optimizer.__init__ calls add_param_group before it exists
        self._fused = 1.0 if fused else 0.0
        super().__init__(params, defaults)
        self._impl = _ext.Optimizer(self._family, self._groups())
        self.state = _StateView(self)

    # -- group options as the C++ optimizer reads them ------------------------------------
    def _numbers(self, group, index):
        numbers = {"fused": self._fused}
        for key in self._options:
            if key not in group:
                raise ValueError(f"parameter group {index} has no {key!r}")
            value = group[key]
            try:
                if key == "decay":
                    numbers[key] = _DECAY_CODES[value]
                elif key == "betas":
                    beta0, beta1 = value
                    numbers["betas.0"], numbers["betas.1"] = float(beta0), float(beta1)
                else:
                    numbers[key] = float(value)
            except (KeyError, TypeError, ValueError):
                expected = {"decay": "'l2', 'decoupled' or 'stable'",
                            "betas": "a pair of numbers"}.get(key, "a number")
                raise ValueError(f"invalid {key} {value!r} in parameter group {index} "
                                 f"(expected {expected})") from None
        return numbers

    def _groups(self):
        return [(group["params"], self._numbers(group, index))
                for index, group in enumerate(self.param_groups)]

    # -- torch.optim.Optimizer ------------------------------------------------------------
    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if self._impl is None:
            return
        try:  # validates the new group's options now rather than at the next step
            self._impl.sync(self._groups())
        except Exception:
            self.param_groups.pop()
            raise

    def _hook_for_profile(self):
        # torch.optim (1.13) wraps step() in a profiler record_function, which costs ~20 us a
        # call here even when no profiler runs; step() below enters it only while one runs.
        self._zero_grad_profile_name = f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"

    def step(self, closure=None):
        """One step of swd's update on every parameter that has a gradient; ``closure``, if
        given, is called first with gradients enabled and its value returned."""
        if torch.autograd._profiler_enabled():
            name = f"Optimizer.step#{type(self).__name__}.step"
            with torch.autograd.profiler.record_function(name):
                return self._step(closure)
        return self._step(closure)

    def _step(self, closure):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._impl.step(self._groups())
        return loss

    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [...]}`` as torch.optim has it; the
        state's tensors are the optimizer's own (as in torch.optim), so save or copy them
        before stepping again."""
        self._impl.sync(self._groups())
        _, params = self._impl.export_state()
        groups, starts, start = [], [], 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            groups.append(packed)
            starts.append(start)
            start += len(group["params"])
        state = {starts[g] + i: {**integers, **reals, **tensors}
                 for g, i, integers, reals, tensors in params}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores what state_dict() gave (or torch.optim's state of the same family), on an
        optimizer over parameters of the same shapes. Raises ValueError saying what does not
        fit; then nothing has changed."""
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(groups)}")
        for index, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict's parameter group {index} has "
                                 f"{len(saved['params'])} parameters, this optimizer's has "
                                 f"{len(group['params'])}")
            if saved.get("maximize", False):
                raise ValueError(f"loaded parameter group {index} has maximize=True, which "
                                 "swd.optim does not support")
        position = {key: (g, i) for g, saved in enumerate(saved_groups)
                    for i, key in enumerate(saved["params"])}
        merged = []
        for group, saved in zip(groups, saved_groups):
            new = dict(group)
            new.update((key, value) for key, value in saved.items() if key != "params")
            merged.append(new)
        records = []
        for key, entry in state_dict["state"].items():
            if key not in position:
                continue
            g, i = position[key]
            records.append((g, i) + _state_record(entry, groups[g]["params"][i]))
        numbers = [self._numbers(group, index) for index, group in enumerate(merged)]
        self._impl.import_state(numbers, records)
        for group, new in zip(groups, merged):
            group.clear()
            group.update(new)

    # -- swd ------------------------------------------------------------------------------
    @property
    def vbar(self):
        """The last step's global vbar, the mean of the bias-corrected second moment over every
        element of every parameter with a gradient (a 0-dim float64 tensor on the parameters'
        device), or None where the last step did not compute it (SGD, Adam without stable
        decay, no step yet)."""
        return self._impl.vbar

    @property
    def fused_parameters(self):
        """How many parameters the last step updated with the fused CPU kernels."""
        return self._impl.fused_parameters


def _state_record(entry, param):
    """(integers, reals, tensors) of one parameter's saved state; floating-point tensors are
    cast to the parameter's dtype and device, as torch.optim does."""
    integers, reals, tensors = {}, {}, {}
    for name, value in entry.items():
        if name == "step":  # an int here, a 0-dim tensor in torch.optim's Adam
            integers[name] = int(value)
        elif isinstance(value, torch.Tensor):
            if value.is_floating_point():
                value = value.to(device=param.device, dtype=param.dtype)
            tensors[name] = value
        elif isinstance(value, float):
            reals[name] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            integers[name] = value
    return integers, reals, tensors


class _StateView(Mapping):
    """``optimizer.state``: parameter -> its state as swd keeps it (the tensors are the
    optimizer's own). Read-only; parameters without state are absent."""

    def __init__(self, optimizer):
        self._optimizer = optimizer

    def _entries(self):
        optimizer = self._optimizer
        optimizer._impl.sync(optimizer._groups())
        _, params = optimizer._impl.export_state()
        return {optimizer.param_groups[g]["params"][i]: {**integers, **reals, **tensors}
                for g, i, integers, reals, tensors in params}

    def __getitem__(self, param):
        return self._entries()[param]

    def __iter__(self):
        return iter(self._entries())

    def __len__(self):
        return len(self._entries())

    def __repr__(self):
        return repr(self._entries())


# -- the classes ------------------------------------------------------------------------------

class SGD(_SwdOptimizer):
    """SGD with momentum (dampening, Nesterov); ``decay`` is how ``weight_decay`` acts:
    "l2" (torch.optim.SGD), "decoupled" (SGDW) or "stable" (SGDS, the paper's)."""

    _family = "sgd"
    _options = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "decay")

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, decay="l2", fused=True):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, decay=decay),
                         fused)


class SGDW(SGD):
    """SGD with decoupled weight decay: theta *= 1 - lr * weight_decay before each step."""

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, fused=True):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov,
                         decay="decoupled", fused=fused)


class SGDS(SGD):
    """SGD with stable weight decay (swd_optim.SGDS): theta *= 1 - lr * weight_decay *
    (1 - dampening) / (1 - momentum) before each step."""

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, fused=True):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov,
                         decay="stable", fused=fused)


class Adam(_SwdOptimizer):
    """Adam / AMSGrad; ``decay`` is how ``weight_decay`` acts: "l2" (torch.optim.Adam),
    "decoupled" (torch.optim.AdamW) or "stable" (AdamS, the paper's)."""

    _family = "adam"
    _options = ("lr", "betas", "eps", "weight_decay", "amsgrad", "decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, decay="l2", fused=True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, decay=decay), fused)


class AdamW(Adam):
    """Adam with decoupled weight decay, torch.optim.AdamW's defaults."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, fused=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decay="decoupled",
                         fused=fused)


class AdamS(Adam):
    """Adam with stable weight decay (swd_optim.AdamS): theta *= 1 - lr * weight_decay /
    sqrt(vbar) before each step, vbar the global mean of the bias-corrected second moment."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4,
                 amsgrad=False, *, fused=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decay="stable",
                         fused=fused)


class Adai(_SwdOptimizer):
    """Adai (adaptive inertia; betas = (beta0, beta2), eps the inertia bound). ``decay="l2"``
    is swd_optim.Adai, "stable" (= "decoupled") swd_optim.AdaiS."""

    _family = "adai"
    _options = ("lr", "betas", "eps", "weight_decay", "decay")

    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0, *,
                 decay="l2", fused=True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decay=decay), fused)


class AdaiS(Adai):
    """Adai with stable weight decay (swd_optim.AdaiS): theta *= 1 - lr * weight_decay."""

    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0, *,
                 fused=True):
        super().__init__(params, lr, betas, eps, weight_decay, decay="stable", fused=fused)
