"""swd's optimizers as ``torch.optim.Optimizer`` subclasses (docs/PYTHON.md).

Each class keeps PyTorch's interface: ``param_groups`` (edits, by hand or by a
``torch.optim.lr_scheduler``, take effect at the next step), ``add_param_group``,
``state_dict()`` / ``load_state_dict()``, ``step(closure)``, ``zero_grad(set_to_none=...)``,
``state`` (a view onto the state kept in C++), ``copy.deepcopy``, pickling and ``torch.save``.
``step()`` runs swd's C++ step (docs/OPTIMIZERS.md) on the parameters, gradients and state in
place: the fused CPU kernels where they apply (float32, float64 and bfloat16 CPU tensors), the
op-by-op path elsewhere. Complex parameters are stepped as pairs of real numbers, as
torch.optim steps them.

Names and defaults: ``AdamS``, ``SGDS``, ``AdaiS`` and ``Adai`` as in the authors'
``swd_optim``; ``SGD``, ``Adam``, ``AdamW`` as in ``torch.optim``; the families ``SGD``,
``Adam`` and ``Adai`` take the weight-decay mode as ``decay="l2" | "decoupled" | "stable"``.

Keyword arguments every class takes:

- ``fused`` (bool, default True): take swd's fused CPU kernels where they apply; False sends
  every parameter through the op-by-op path (the same update; on CUDA, True takes the
  multi-tensor path). Unlike ``fused=`` in torch 2.x, which selects a CUDA kernel, it never
  changes which devices or dtypes are supported.
- ``process_group`` (a ``torch.distributed.ProcessGroup`` or None, default None): sharded
  training, where each process steps only its own parameters (``ZeroRedundancyOptimizer``):
  the global vbar of stable decay (AdamS, AMSGradS, AdaiS) and of Adai is then averaged over
  every process's parameters by an all-reduce of its sum and element count, so that a sharded
  run equals an unsharded one. Without it, each process's vbar covers its own parameters only.
"""
import torch
from torch.optim.optimizer import required

from ._base import SwdOptimizer

__all__ = ["SGD", "SGDW", "SGDS", "Adam", "AdamW", "AdamS", "Adai", "AdaiS"]


class SGD(SwdOptimizer):
    """SGD with momentum, dampening and Nesterov momentum; ``decay`` is how ``weight_decay``
    acts: "l2" (``torch.optim.SGD``: the gradient gets ``weight_decay * theta``), "decoupled"
    (SGDW: ``theta *= 1 - lr * weight_decay`` before each step) or "stable" (SGDS, the paper's:
    ``theta *= 1 - lr * weight_decay * (1 - dampening) / (1 - momentum)``).

    Args:
        params: parameters to optimize, or dicts of parameter groups.
        lr (float): learning rate (required).
        momentum (float): momentum factor mu (default 0); below 1 with stable decay.
        dampening (float): dampening d of the momentum, in [0, 1] (default 0).
        weight_decay (float): weight decay lambda (default 0).
        nesterov (bool): Nesterov momentum (default False; needs momentum > 0, dampening 0).
        decay (str): "l2", "decoupled" or "stable" (keyword; default "l2").
        fused (bool), process_group: see the module's documentation.
    """

    _family = "sgd"
    _options = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "decay")

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, decay="l2", fused=True, process_group=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, decay=decay),
                         fused, process_group)


class SGDW(SGD):
    """SGD with decoupled weight decay: ``theta *= 1 - lr * weight_decay`` before each step.
    Arguments as :class:`SGD`, without ``decay``."""

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, fused=True, process_group=None):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov,
                         decay="decoupled", fused=fused, process_group=process_group)


class SGDS(SGD):
    """SGD with stable weight decay (``swd_optim.SGDS``, the paper's SGDS):
    ``theta *= 1 - lr * weight_decay * (1 - dampening) / (1 - momentum)`` before each step,
    the decay scaled by the effective learning rate of momentum SGD. Arguments as
    :class:`SGD`, without ``decay``."""

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, fused=True, process_group=None):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov,
                         decay="stable", fused=fused, process_group=process_group)


class Adam(SwdOptimizer):
    """Adam and AMSGrad; ``decay`` is how ``weight_decay`` acts: "l2" (``torch.optim.Adam``),
    "decoupled" (``torch.optim.AdamW``: ``theta *= 1 - lr * weight_decay``) or "stable"
    (AdamS, the paper's: ``theta *= 1 - lr * weight_decay / sqrt(vbar)``, vbar the mean of the
    bias-corrected second moment over every element of every parameter with a gradient).

    Args:
        params: parameters to optimize, or dicts of parameter groups.
        lr (float): learning rate (default 1e-3).
        betas (tuple of two floats): (beta1, beta2), the moments' averaging factors, each in
            [0, 1) (default (0.9, 0.999)).
        eps (float): added to the denominator (default 1e-8).
        weight_decay (float): weight decay lambda (default 0).
        amsgrad (bool): AMSGrad, the maximum of the second moment (default False).
        decay (str): "l2", "decoupled" or "stable" (keyword; default "l2").
        fused (bool), process_group: see the module's documentation.
    """

    _family = "adam"
    _options = ("lr", "betas", "eps", "weight_decay", "amsgrad", "decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, decay="l2", fused=True, process_group=None):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, decay=decay), fused, process_group)


class AdamW(Adam):
    """Adam with decoupled weight decay, ``torch.optim.AdamW``'s update and defaults
    (``weight_decay=1e-2``). Arguments as :class:`Adam`, without ``decay``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, fused=True, process_group=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decay="decoupled",
                         fused=fused, process_group=process_group)


class AdamS(Adam):
    """Adam with stable weight decay (``swd_optim.AdamS``, the paper's AdamS):
    ``theta *= 1 - lr * weight_decay / sqrt(vbar)`` before each step, vbar the global mean of
    the bias-corrected second moment (``optimizer.vbar``). Its weight decay is not AdamW's:
    the paper uses 5e-4 for CIFAR (docs/PYTHON.md). Arguments as :class:`Adam`, without
    ``decay``; ``weight_decay`` defaults to 1e-4 as in the authors' class."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4,
                 amsgrad=False, *, fused=True, process_group=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decay="stable",
                         fused=fused, process_group=process_group)


class Adai(SwdOptimizer):
    """Adai, adaptive inertia (``swd_optim.Adai``): the momentum factor of each element is
    ``beta1 = clamp(1 - beta0 * vhat / vbar, 0, 1 - eps)``. ``decay="l2"`` is the authors'
    Adai; "stable" (which equals "decoupled": Adai's effective learning rate is lr) is AdaiS,
    ``theta *= 1 - lr * weight_decay``.

    Args:
        params: parameters to optimize, or dicts of parameter groups.
        lr (float): learning rate (required).
        betas (tuple of two floats): ``(beta0, beta2)``, not Adam's pair: beta0 scales the
            adaptive inertia, beta2 averages the second moment; each in [0, 1) (default
            (0.1, 0.99)).
        eps (float): the inertia bound, ``beta1 <= 1 - eps``, in [0, 1] (default 1e-3).
        weight_decay (float): weight decay lambda (default 0).
        decay (str): "l2", "decoupled" or "stable" (keyword; default "l2").
        fused (bool), process_group: see the module's documentation.
    """

    _family = "adai"
    _options = ("lr", "betas", "eps", "weight_decay", "decay")
    _refused_dtypes = {torch.bfloat16: "its state, the product of the inertia factors among "
                       "it, would be bfloat16, where 1 - eps rounds to 1 and the step divides by "
                       "zero; keep float32 parameters (a float32 copy for the optimizer)"}

    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0, *,
                 decay="l2", fused=True, process_group=None):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decay=decay), fused, process_group)


class AdaiS(Adai):
    """Adai with stable weight decay (``swd_optim.AdaiS``): ``theta *= 1 - lr *
    weight_decay`` before each step. Arguments as :class:`Adai` (``betas = (beta0, beta2)``),
    without ``decay``."""

    def __init__(self, params, lr=required, betas=(0.1, 0.99), eps=1e-3, weight_decay=0, *,
                 fused=True, process_group=None):
        super().__init__(params, lr, betas, eps, weight_decay, decay="stable", fused=fused,
                         process_group=process_group)
