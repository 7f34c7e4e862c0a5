"""Learning dynamics of weight decay for any torch module's parameters (docs/PYTHON.md,
"Dynamics"): the numbers swd's trainer logs, measured around any optimizer's step.

In a network with normalisation most weights are scale-invariant (the output does not change
when the weight is multiplied by c > 0): weight decay then sets their norm, and with it the
size of each step on the unit sphere, rather than acting as a prior. :class:`Tracker` measures,
per tensor and aggregated, for the tensors it is given (usually
:func:`scale_invariant_parameters`):

- the weight norm ``|w|`` after the step;
- the angular update of the step, ``arccos(<w0, w1> / (|w0| |w1|))`` with w0, w1 the tensor
  before and after it (the cosine computed in float64 and clamped to [-1, 1]);
- the relative update ``|w1 - w0| / |w0|``;
- the decay rate ``d_t`` of the step (the tensor is multiplied by ``1 - d_t`` before the
  optimizer's update; 0 for a tensor without a gradient, which optimizers skip) and the decay
  budget ``sum_t d_t``, in e-folds: ``e^-budget`` is about ``prod_t (1 - d_t)``, the factor
  weight decay alone has shrunk the tensor by.

The decay rate comes from ``decay_rate(param)`` where given, else from the optimizer:
``swd.optim`` optimizers report theirs (``decay_per_step()``: decoupled and stable decay), and
``torch.optim.AdamW``'s is ``lr * weight_decay``. With neither (L2 decay, whose shrinking is
not a factor), the budget is None.

Aggregates: weight norm ``sqrt(sum |w|^2)`` over the tensors; angular update, relative update,
decay rate and budget the unweighted mean over the tensors where they are defined (a tensor of
norm 0 has no angle).
"""
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import torch

__all__ = ["Tracker", "Dynamics", "TensorDynamics", "scale_invariant_parameters",
           "named_scale_invariant_parameters"]


@dataclass(frozen=True)
class TensorDynamics:
    """One tensor's numbers for one step (None where not measured or not defined)."""
    weight_norm: Optional[float]
    angular_update: Optional[float]  # radians
    relative_update: Optional[float]
    decay_rate: Optional[float]
    decay_budget: Optional[float]  # e-folds, over every step so far


@dataclass(frozen=True)
class Dynamics:
    """One step's numbers: aggregates over the tensors, and each tensor's by name."""
    step: int  # steps tracked so far, this one included
    weight_norm: Optional[float]
    angular_update: Optional[float]
    relative_update: Optional[float]
    decay_rate: Optional[float]
    decay_budget: Optional[float]
    tensors: Dict[str, TensorDynamics]


def _mean(values):
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _as_real(t):
    return torch.view_as_real(t) if t.is_complex() else t


class Tracker:
    """Measures the dynamics around each optimizer step::

        tracker = swd.dynamics.Tracker(swd.dynamics.named_scale_invariant_parameters(model),
                                       optimizer)
        for x, y in loader:
            loss_fn(model(x), y).backward()
            tracker.before_step()
            optimizer.step()
            numbers = tracker.after_step()   # a Dynamics
            optimizer.zero_grad()

    Args:
        params: the tensors, as an iterable of tensors, of ``(name, tensor)`` pairs (as
            ``named_parameters()`` gives) or a dict name -> tensor.
        optimizer: where the decay rates come from (an ``swd.optim`` optimizer or
            ``torch.optim.AdamW``); optional.
        decay_rate: ``decay_rate(param)``, the rate the step just taken applied to ``param``
            (``1 - d`` the factor), or None where unknown; used instead of the optimizer's.

    ``before_step(measure=False)`` only notes which tensors have a gradient, so that the budget
    counts every step while the weights are compared only at the steps measured.
    """

    def __init__(self, params, optimizer=None, decay_rate: Optional[Callable] = None):
        if isinstance(params, Mapping):
            named = list(params.items())
        else:
            named = [item if isinstance(item, tuple) else (str(i), item)
                     for i, item in enumerate(params)]
        for name, tensor in named:
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"Tracker: {name} is a {type(tensor).__name__} (expected a "
                                "tensor)")
        if not named:
            raise ValueError("Tracker: no tensors to track")
        if decay_rate is not None and not callable(decay_rate):
            raise TypeError(f"Tracker: decay_rate must be callable, not {decay_rate!r}")
        self._named = named
        self._optimizer = optimizer
        self._decay_rate = decay_rate
        self._budget = [0.0] * len(named)
        self._steps = 0
        self._pending = None  # what before_step noted

    @property
    def names(self):
        return [name for name, _ in self._named]

    @property
    def budget(self):
        """name -> decay budget so far (None where a step's rate was unknown)."""
        return {name: b for (name, _), b in zip(self._named, self._budget)}

    def before_step(self, measure=True):
        """Call right before ``optimizer.step()``: notes which tensors have a gradient and, when
        `measure`, keeps a copy of each tensor to compare with after the step."""
        with torch.no_grad():
            stepped = [t.grad is not None for _, t in self._named]
            before = [t.detach().clone() for _, t in self._named] if measure else None
        self._pending = (stepped, before, self._torch_rates())

    def after_step(self):
        """Call right after ``optimizer.step()``; returns this step's :class:`Dynamics`."""
        if self._pending is None:
            raise RuntimeError("Tracker.after_step: call before_step() before the optimizer's "
                               "step")
        stepped, before, torch_rates = self._pending
        self._pending = None
        self._steps += 1
        rates = self._rates(stepped, torch_rates)
        tensors, squares = {}, 0.0
        for k, ((name, t), rate) in enumerate(zip(self._named, rates)):
            if self._budget[k] is not None:
                self._budget[k] = None if rate is None else self._budget[k] + rate
            norm = angle = relative = None
            if before is not None:
                norm, angle, relative = self._measure(before[k], t)
                squares += norm * norm
            tensors[name] = TensorDynamics(norm, angle, relative, rate, self._budget[k])
        values = list(tensors.values())
        return Dynamics(self._steps, math.sqrt(squares) if before is not None else None,
                        _mean(v.angular_update for v in values),
                        _mean(v.relative_update for v in values),
                        _mean(v.decay_rate for v in values), _mean(v.decay_budget for v in values),
                        tensors)

    @staticmethod
    def _measure(w0, w1):
        with torch.no_grad():
            a = _as_real(w0).double().flatten()
            b = _as_real(w1.detach()).double().flatten()
            n0, n1 = a.norm().item(), b.norm().item()
            relative = angle = None
            if n0 > 0:
                relative = (b - a).norm().item() / n0
                if n1 > 0:
                    cosine = max(-1.0, min(1.0, torch.dot(a, b).item() / (n0 * n1)))
                    angle = math.acos(cosine)
        return n1, angle, relative

    def _torch_rates(self):
        """torch.optim.AdamW's rates, read before its step: lr * weight_decay per group."""
        if not isinstance(self._optimizer, torch.optim.AdamW) or self._decay_rate is not None:
            return None
        return {id(p): g["lr"] * g["weight_decay"] for g in self._optimizer.param_groups
                for p in g["params"]}

    def _rates(self, stepped, torch_rates):
        if self._decay_rate is not None:
            found = [self._decay_rate(t) for _, t in self._named]
        elif torch_rates is not None:
            found = [torch_rates.get(id(t)) for _, t in self._named]
        elif hasattr(self._optimizer, "decay_per_step"):
            per_group = self._optimizer.decay_per_step()
            group_of = {id(p): g for g, group in enumerate(self._optimizer.param_groups)
                        for p in group["params"]}
            found = [per_group[group_of[id(t)]] if id(t) in group_of else None
                     for _, t in self._named]
        else:
            found = [None] * len(self._named)
        # a tensor without a gradient is not stepped, so not decayed
        return [0.0 if not s else (None if r is None else float(r))
                for s, r in zip(stepped, found)]

    def state_dict(self):
        """The running sums, to resume a run (``load_state_dict``)."""
        return {"steps": self._steps, "budget": self.budget}

    def load_state_dict(self, state):
        budget = state["budget"]
        if sorted(budget) != sorted(self.names):
            raise ValueError("Tracker.load_state_dict: the saved tensors "
                             f"{sorted(budget)} are not these {sorted(self.names)}")
        self._steps = int(state["steps"])
        self._budget = [budget[name] for name in self.names]


# -- which weights are scale-invariant ----------------------------------------------------------

_NORMS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm,
          torch.nn.GroupNorm, torch.nn.LayerNorm)


def _invariant(layer, norm):
    """Whether scaling `layer`'s weight leaves `norm`'s output unchanged (training mode). A
    norm that takes the mean over one output channel only (BatchNorm, InstanceNorm, GroupNorm
    with one channel a group, LayerNorm over dimensions after the channel's) removes the
    layer's bias with it; one that mixes channels does only where there is no bias."""
    if isinstance(norm, (torch.nn.modules.batchnorm._BatchNorm,
                         torch.nn.modules.instancenorm._InstanceNorm)):
        return True
    if layer.bias is None:
        return True
    if isinstance(norm, torch.nn.GroupNorm):
        return norm.num_channels == norm.num_groups
    # LayerNorm: a Linear's features are its last dimension; a ConvNd's channel comes before
    # its N spatial dimensions
    spatial = 0 if isinstance(layer, torch.nn.Linear) else len(layer.kernel_size)
    return len(norm.normalized_shape) <= spatial


def named_scale_invariant_parameters(module):
    """``[(name, weight)]`` of the weights of ``module`` whose output feeds a normalisation
    layer directly, found in ``torch.nn.Sequential`` order: a ``Linear`` or ``Conv*d`` (also
    transposed) followed at once, in the same ``Sequential``, by a ``BatchNorm*``,
    ``InstanceNorm*``, ``GroupNorm`` or ``LayerNorm`` whose output does not change when the
    weight is scaled (in training mode: BatchNorm's running statistics make eval mode
    differ; and up to the norm's ``eps``, which is small against the variance). Where the norm mixes output channels (GroupNorm with several channels a group,
    LayerNorm over the channel) and the layer has a bias, only weight and bias together are
    scale-invariant, and the weight is not returned. Layers called in ``forward`` but not
    placed in a ``Sequential`` (a ResNet block's conv1, bn1) are not seen."""
    found, seen = [], set()
    for prefix, sequential in module.named_modules():
        if not isinstance(sequential, torch.nn.Sequential):
            continue
        children = list(sequential.named_children())
        for (name, layer), (_, norm) in zip(children, children[1:]):
            if (isinstance(layer, (torch.nn.Linear, torch.nn.modules.conv._ConvNd))
                    and isinstance(norm, _NORMS) and _invariant(layer, norm)
                    and id(layer.weight) not in seen):
                seen.add(id(layer.weight))
                found.append((f"{prefix}.{name}.weight" if prefix else f"{name}.weight",
                              layer.weight))
    return found


def scale_invariant_parameters(module):
    """The weights of :func:`named_scale_invariant_parameters`, without their names."""
    return [weight for _, weight in named_scale_invariant_parameters(module)]
