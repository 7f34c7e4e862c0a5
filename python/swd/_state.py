"""Per-parameter state of swd.optim's optimizers as Python sees it (docs/PYTHON.md): entries
checked against the family's state before they go in, and ``optimizer.state`` as a view onto
the state the C++ optimizer keeps (its tensors, never copies)."""
import math
import numbers
from collections.abc import Mapping, MutableMapping

import torch

from . import _ext

# Each family's state fields and their kinds ("integer", "real", "tensor"), as the C++ state
# structs list them (include/swd/optim/*.h).
FIELDS = {family: dict(_ext.state_fields(family)) for family in _ext.family_names()}
# Tensors a parameter's state may lack: SGD's buffer (none without momentum; a missing one
# starts as torch's does, buf = g), AMSGrad's maximum where the group has no amsgrad. The
# reals (the fused path's running sum of v) are always optional: NaN or absent means "not
# known", and the fused path recomputes it.
_OPTIONAL_TENSORS = {"momentum_buffer"}


def required_fields(family, group):
    """The fields a parameter's state must hold when it holds any (the group's options after
    the change)."""
    required = [name for name, kind in FIELDS[family].items()
                if kind != "real" and name not in _OPTIONAL_TENSORS and name != "max_exp_avg_sq"]
    if "max_exp_avg_sq" in FIELDS[family] and group.get("amsgrad"):
        required.append("max_exp_avg_sq")
    return required


def _integer(value):
    """A non-negative whole number from an int, an integral float or a one-element tensor
    (torch.optim 1.13 keeps Adam's step as a float tensor), else None."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex():
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if not math.isfinite(value) or value != int(value) or value < 0:
        return None
    return int(value)


def _real(value):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex():
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _tensor(name, value, param):
    """(the tensor cast to the parameter's dtype and device, None) or (None, the problem)."""
    if not isinstance(value, torch.Tensor):
        return None, f"{name!r} is a {type(value).__name__} (expected a tensor)"
    if value.is_sparse:
        return None, f"{name!r} is a sparse tensor (expected a dense one)"
    if param.is_complex() != value.is_complex() or not (value.is_complex()
                                                       or value.is_floating_point()):
        expected = "complex" if param.is_complex() else "floating-point"
        return None, f"{name!r} is a {value.dtype} tensor (expected a {expected} tensor)"
    if value.shape != param.shape:
        return None, (f"{name!r} has shape {list(value.shape)} (expected the parameter's "
                      f"{list(param.shape)})")
    return value.to(device=param.device, dtype=param.dtype), None


def check_entry(family, group, param, entry):
    """One parameter's state as (integers, reals, tensors) for the C++ optimizer, and the list
    of what does not fit (empty when it fits). An empty entry (or SGD's buffer None) is no
    state: the parameter's next step starts afresh."""
    if not isinstance(entry, Mapping):
        return ({}, {}, {}), [f"its state is a {type(entry).__name__} (expected a dict)"]
    fields, problems, bad = FIELDS[family], [], set()
    integers, reals, tensors = {}, {}, {}
    for name, value in entry.items():
        kind = fields.get(name)
        if kind is None:
            problems.append(f"unexpected {name!r}")
        elif kind == "tensor":
            if value is None:  # torch.optim.SGD's momentum_buffer without momentum
                continue
            tensor, problem = _tensor(name, value, param)
            if problem:
                problems.append(problem)
                bad.add(name)
            else:
                tensors[name] = tensor
        else:
            number = _integer(value) if kind == "integer" else _real(value)
            if number is None:
                expected = "a whole number >= 0" if kind == "integer" else "a number"
                problems.append(f"{name!r} is {value!r} (expected {expected})")
                bad.add(name)
            elif kind == "integer":
                integers[name] = number
            elif not math.isnan(number):  # NaN: not known, as absent
                reals[name] = number
    if integers or reals or tensors or problems:
        missing = [name for name in required_fields(family, group)
                   if name not in integers and name not in tensors and name not in bad]
        if missing:
            problems.append("missing " + ", ".join(repr(name) for name in missing))
    return (integers, reals, tensors), problems


def plain(entry):
    """A dict of one parameter's state from the C++ (integers, reals, tensors)."""
    integers, reals, tensors = entry
    return {**integers, **reals, **tensors}


class ParamState(MutableMapping):
    """``optimizer.state[p]``: the state the optimizer keeps for ``p``, read when asked (the
    tensors are the optimizer's own). Assigning or deleting a key replaces ``p``'s state with
    the changed one, checked as ``load_state_dict`` checks it (the values are copied in);
    ``clear()`` drops it, so that ``p``'s next step starts afresh."""

    __slots__ = ("_optimizer", "_param")

    def __init__(self, optimizer, param):
        self._optimizer, self._param = optimizer, param

    def _entry(self):
        entry = self._optimizer._impl.param_state(self._param)
        return {} if entry is None else plain(entry)

    def __getitem__(self, key):
        return self._entry()[key]

    def __iter__(self):
        return iter(self._entry())

    def __len__(self):
        return len(self._entry())

    def __setitem__(self, key, value):
        entry = self._entry()
        entry[key] = value
        self._optimizer._set_param_state(self._param, entry)

    def __delitem__(self, key):
        entry = self._entry()
        del entry[key]
        self._optimizer._set_param_state(self._param, entry)

    def clear(self):
        self._optimizer._set_param_state(self._param, {})

    def __repr__(self):
        return repr(self._entry())


class StateView(MutableMapping):
    """``optimizer.state``: parameter -> :class:`ParamState`, for the parameters that have
    state, in group order. As in torch.optim, looking up a parameter without state gives an
    empty one (without adding it); ``state[p] = {}`` or ``del state[p]`` resets ``p``,
    ``state[p] = {...}`` sets its state (checked), and assigning a whole mapping to
    ``optimizer.state`` (``defaultdict(dict)`` to reset everything) replaces all of it."""

    __slots__ = ("_optimizer",)

    def __init__(self, optimizer):
        self._optimizer = optimizer

    def __getitem__(self, param):
        if not isinstance(param, torch.Tensor):
            raise KeyError(param)
        return ParamState(self._optimizer, param)

    def get(self, param, default=None):
        return self[param] if param in self else default

    def __contains__(self, param):
        return isinstance(param, torch.Tensor) and self._optimizer._impl.has_state(param)

    def __iter__(self):
        has_state = self._optimizer._impl.has_state
        return (p for group in self._optimizer.param_groups for p in group["params"]
                if has_state(p))

    def __len__(self):
        return sum(1 for _ in self)

    def __setitem__(self, param, entry):
        self._optimizer._set_param_state(param, entry)

    def __delitem__(self, param):
        if param not in self:
            raise KeyError(param)
        self._optimizer._set_param_state(param, {})

    def clear(self):
        self._optimizer._impl.clear_state()

    def __repr__(self):
        return repr({p: dict(self[p]) for p in self})
