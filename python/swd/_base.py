"""What every swd.optim optimizer shares (docs/PYTHON.md): torch.optim.Optimizer's interface
over a C++ optimizer (swd._ext) that steps the parameters, gradients and state in place.

Python keeps ``param_groups`` as torch.optim does; every ``step()`` hands the groups'
parameters and options to the C++ optimizer, which validates them and steps. The state lives
in C++; ``state`` is a view onto it (_state.py). Arguments of the wrong type raise TypeError
as torch.optim's own checks do; values out of range raise ValueError (from the C++
validation, docs/OPTIMIZERS.md).
"""
import numbers
from collections.abc import Mapping, Sequence

import torch
from torch.optim.optimizer import Optimizer

from . import _ext
from ._state import StateView, check_entry, plain

_DECAY_CODES = {name: _ext.decay_code(name) for name in ("l2", "decoupled", "stable")}
_DECAY_NAMES = "'l2', 'decoupled' or 'stable'"
_STRUCTURED = frozenset(("decay", "betas", "amsgrad", "nesterov"))  # options that are no number


def _name(optimizer):
    """The class as users spell it in messages: swd.optim.AdamS."""
    return optimizer._swd_name


def _number(cls, key, value, where):
    if isinstance(value, numbers.Real):  # bool and numpy's numbers too, as torch.optim takes
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value)
    raise TypeError(f"{cls}: invalid {key} {value!r} in {where} (expected a number)")


def _put(numbers_, key, value, cls, where):
    """Writes one group option into `numbers_` as the C++ optimizer reads it."""
    if key == "decay":
        if not isinstance(value, str):
            raise TypeError(f"{cls}: invalid decay {value!r} in {where} (expected {_DECAY_NAMES})")
        if value not in _DECAY_CODES:
            raise ValueError(f"{cls}: invalid decay {value!r} in {where} (expected {_DECAY_NAMES})")
        numbers_[key] = _DECAY_CODES[value]
    elif key == "betas":
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            value = value.tolist()
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError(f"{cls}: invalid betas {value!r} in {where} (expected a pair of numbers)")
        if len(value) != 2:
            raise ValueError(f"{cls}: invalid betas {value!r} in {where} (expected a pair of "
                             "numbers)")
        numbers_["betas.0"] = _number(cls, "betas[0]", value[0], where)
        numbers_["betas.1"] = _number(cls, "betas[1]", value[1], where)
    elif key in ("amsgrad", "nesterov"):
        if not (isinstance(value, numbers.Integral) or type(value).__name__ == "bool_"):
            raise TypeError(f"{cls}: invalid {key} {value!r} in {where} (expected True or False)")
        numbers_[key] = 1.0 if value else 0.0
    else:
        numbers_[key] = _number(cls, key, value, where)


class _Shared:
    """A process group inside a copy's state: shared by copies, refused by pickle."""

    __slots__ = ("group",)

    def __init__(self, group):
        self.group = group

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("an swd.optim optimizer with a process_group cannot be pickled (a process "
                        "group cannot be): save its state_dict(), or set process_group=None first")


def _all_reduce(group):
    import torch.distributed as dist

    def reduce(totals):  # [sum of vhat, element count] of this process's parameters
        dist.all_reduce(totals, group=group)
    return reduce


class SwdOptimizer(Optimizer):
    """What every swd optimizer shares. A subclass names its C++ family and the group keys
    that family reads (``betas`` is a pair, ``decay`` a mode name, the rest numbers)."""

    _family = None
    _options = ()
    _refused_dtypes = {}  # dtype -> why
    _swd_name = "swd.optim optimizer"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._swd_name = f"swd.optim.{cls.__name__}"

    def __init__(self, params, defaults, fused, process_group=None):
        cls = _name(self)
        if not isinstance(fused, bool):
            raise TypeError(f"{cls}: invalid fused {fused!r} (expected True or False)")
        self._impl = None  # Optimizer.__init__ calls add_param_group before it exists
        self._fused = 1.0 if fused else 0.0
        self._state_view = StateView(self)
        self._process_group = None
        self._restored = None  # a copy's last step (vbar, decay_per_step) until its own
        super().__init__(params, defaults)
        self._impl = _ext.Optimizer(self._family, self._groups())
        self.process_group = process_group

    # -- group options as the C++ optimizer reads them ------------------------------------
    def _numbers(self, group, where):
        numbers_ = {"fused": self._fused}
        for key in self._options:
            try:
                value = group[key]
            except KeyError:
                raise ValueError(f"{_name(self)}: {where} has no {key!r}") from None
            if type(value) is float and key not in _STRUCTURED:
                numbers_[key] = value
            else:
                _put(numbers_, key, value, _name(self), where)
        return numbers_

    def _groups(self):
        return [(group["params"], self._numbers(group, f"parameter group {index}"))
                for index, group in enumerate(self.param_groups)]

    # -- torch.optim.Optimizer ------------------------------------------------------------
    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group, index = self.param_groups[-1], len(self.param_groups) - 1
        try:
            for i, param in enumerate(group["params"]):
                if not (param.is_floating_point() or param.is_complex()):
                    raise TypeError(f"{_name(self)} can only optimize floating-point and "
                                    f"complex tensors, but parameter {i} of parameter group "
                                    f"{index} is {param.dtype}")
                if param.dtype in self._refused_dtypes:
                    raise TypeError(f"{_name(self)} cannot optimize {param.dtype} tensors "
                                    f"(parameter {i} of parameter group {index}): "
                                    f"{self._refused_dtypes[param.dtype]}")
            if group.get("maximize", False):
                raise ValueError(f"{_name(self)}: parameter group {index} has "
                                 "maximize=True, which swd.optim does not support")
            if self._impl is not None:  # the constructor checks every group at once
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
        self._restored = None
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
        state = {starts[g] + i: plain(entry) for g, i, *entry in params}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores what state_dict() gave, or torch.optim's state where it fits (Adam and
        AdamW into the Adam family, SGD into the SGD family), on an optimizer over parameters
        of the same shapes. The whole state dict is checked first: ValueError names every
        missing, unexpected or mistyped key and bad value, and then nothing has changed."""
        cls = f"{_name(self)}.load_state_dict"
        if not (isinstance(state_dict, Mapping) and isinstance(state_dict.get("state"), Mapping)
                and isinstance(state_dict.get("param_groups"), Sequence)):
            raise ValueError(f"{cls}: expected a dict with 'state' (a dict) and 'param_groups' "
                             f"(a list), as state_dict() gives, not {type(state_dict).__name__}")
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"{cls}: the loaded state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(groups)}")
        problems, merged, position = [], [], {}
        for index, (group, saved) in enumerate(zip(groups, saved_groups)):
            if not isinstance(saved, Mapping) or not isinstance(saved.get("params"), Sequence):
                raise ValueError(f"{cls}: saved parameter group {index} is not a dict with "
                                 "'params'")
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{cls}: the loaded state dict's parameter group {index} has "
                                 f"{len(saved['params'])} parameters, this optimizer's has "
                                 f"{len(group['params'])}")
            position.update((key, (index, i)) for i, key in enumerate(saved["params"]))
            # torch.optim's groups have every option but swd's decay mode, which stays
            missing = [key for key in self._options if key != "decay" and key not in saved]
            if missing:
                problems.append(f"saved parameter group {index}: missing "
                                + ", ".join(repr(key) for key in missing))
            if saved.get("maximize", False):
                problems.append(f"saved parameter group {index} has maximize=True, which "
                                "swd.optim does not support")
            new = dict(group)
            new.update((key, value) for key, value in saved.items() if key != "params")
            merged.append(new)
        numbers_ = []
        for index, new in enumerate(merged):
            try:
                numbers_.append(self._numbers(new, f"saved parameter group {index}"))
            except (TypeError, ValueError) as e:
                problems.append(str(e).split(": ", 1)[-1])
        records = []
        for key, entry in state_dict["state"].items():
            if key not in position:
                problems.append(f"state for parameter {key!r}, which no saved parameter group "
                                "lists")
                continue
            g, i = position[key]
            record, entry_problems = check_entry(self._family, merged[g], groups[g]["params"][i],
                                                 entry)
            if entry_problems:
                problems.append(f"parameter {key!r} (group {g}, index {i}): "
                                + ", ".join(entry_problems))
            if any(record):
                records.append((g, i) + record)
        if problems:
            raise ValueError(f"{cls}: the state dict does not fit: " + "; ".join(problems))
        self._impl.sync(self._groups())
        self._impl.import_state(numbers_, records)
        for group, new in zip(groups, merged):
            group.clear()
            group.update(new)

    # -- state ----------------------------------------------------------------------------
    @property
    def state(self):
        """The per-parameter state as a view onto the C++ optimizer's (docs/PYTHON.md): no
        copies on lookup; assignment and reset as in torch.optim."""
        return self._state_view

    @state.setter
    def state(self, value):
        if self._impl is None:  # Optimizer.__init__'s defaultdict(dict): no state yet
            return
        if value is self._state_view:
            return
        cls = _name(self)
        if not isinstance(value, Mapping):
            raise TypeError(f"{cls}.state takes a mapping from parameters to their state, not "
                            f"a {type(value).__name__}")
        self._impl.sync(self._groups())
        position = {id(p): (g, i) for g, group in enumerate(self.param_groups)
                    for i, p in enumerate(group["params"])}
        records, problems = [], []
        for param, entry in value.items():
            if not isinstance(param, torch.Tensor) or id(param) not in position:
                problems.append(f"{type(param).__name__} {id(param):#x} is not a parameter of "
                                "this optimizer")
                continue
            g, i = position[id(param)]
            record, entry_problems = check_entry(self._family, self.param_groups[g], param, entry)
            if entry_problems:
                problems.append(f"parameter {i} of group {g}: " + ", ".join(entry_problems))
            if any(record):
                records.append((g, i) + record)
        if problems:
            raise ValueError(f"{cls}.state: the new state does not fit: " + "; ".join(problems))
        numbers_ = [self._numbers(group, f"parameter group {index}")
                    for index, group in enumerate(self.param_groups)]
        self._impl.import_state(numbers_, records)

    def _set_param_state(self, param, entry):
        """Replaces one parameter's state (an empty entry: none, its next step starts afresh)."""
        cls = _name(self)
        where = next(((g, i) for g, group in enumerate(self.param_groups)
                      for i, p in enumerate(group["params"]) if p is param), None)
        if where is None:
            raise ValueError(f"{cls}.state: the {type(param).__name__} given is not a "
                             "parameter of this optimizer")
        g, i = where
        record, problems = check_entry(self._family, self.param_groups[g], param, entry)
        if problems:
            raise ValueError(f"{cls}.state: parameter {i} of group {g}: " + ", ".join(problems))
        if any(record):
            self._impl.set_param_state(param, record)
        else:
            self._impl.clear_param_state(param)

    # -- copies ---------------------------------------------------------------------------
    def __getstate__(self):
        """What copy.deepcopy, pickle and torch.save keep: the groups (with their parameters),
        the state by parameter, the options; a copy is rebuilt from them (__setstate__)."""
        self._impl.sync(self._groups())
        _, params = self._impl.export_state()
        state = {self.param_groups[g]["params"][i]: plain(entry) for g, i, *entry in params}
        group = self._process_group
        return {"defaults": self.defaults, "param_groups": self.param_groups, "state": state,
                "fused": self._fused == 1.0,
                "process_group": None if group is None else _Shared(group),
                "last_step": {"vbar": self.vbar, "decay_per_step": self.decay_per_step()}}

    def __setstate__(self, saved):
        self._impl = None
        self._state_view = StateView(self)
        self._process_group = None
        self._restored = None
        self.defaults, self.param_groups = saved["defaults"], saved["param_groups"]
        self._fused = 1.0 if saved["fused"] else 0.0
        self._hook_for_profile()
        self._impl = _ext.Optimizer(self._family, self._groups())
        self.state = saved["state"]
        shared = saved["process_group"]
        self.process_group = None if shared is None else shared.group
        self._restored = saved["last_step"]

    # -- swd ------------------------------------------------------------------------------
    @property
    def process_group(self):
        """The ``torch.distributed`` process group over which vbar is averaged (sharded
        training, docs/PYTHON.md), or None: vbar over this process's parameters alone."""
        return self._process_group

    @process_group.setter
    def process_group(self, group):
        if group is not None:
            import torch.distributed as dist
            if not (dist.is_available() and isinstance(group, dist.ProcessGroup)):
                raise TypeError(f"{_name(self)}: invalid process_group {group!r} "
                                "(expected a torch.distributed.ProcessGroup or None)")
        self._impl.set_vbar_reducer(None if group is None else _all_reduce(group))
        self._process_group = group

    @property
    def vbar(self):
        """The last step's global vbar, the mean of the bias-corrected second moment over every
        element of every parameter with a gradient (a 0-dim float64 tensor on the parameters'
        device), or None where the last step did not compute it (SGD, Adam without stable
        decay, no step yet)."""
        if self._restored is not None:
            return self._restored["vbar"]
        return self._impl.vbar

    def decay_per_step(self):
        """Each parameter group's weight-decay rate d of the last step, the parameters with a
        gradient multiplied by 1 - d before the family's update (docs/OPTIMIZERS.md):
        lr * weight_decay for decoupled decay, lr * weight_decay * (eta_eff / eta) for stable
        decay, with the lr and weight decay that step used; None for L2 decay (not a factor),
        for a group added since, and before the first step."""
        if self._restored is not None:
            rates = list(self._restored["decay_per_step"])
            return rates + [None] * (len(self.param_groups) - len(rates))
        return self._impl.decay_per_step()

    @property
    def fused_parameters(self):
        """How many parameters the last step updated with the fused CPU kernels."""
        return self._impl.fused_parameters
