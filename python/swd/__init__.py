"""swd: the weight-decay methods of *Understanding and Scheduling Weight Decay* (Xie, Sato,
Sugiyama, arXiv 2011.11152) for PyTorch.

``swd.optim`` holds ``torch.optim.Optimizer`` subclasses (AdamS, SGDS, AdaiS, Adai, and the
families Adam, SGD, Adai with ``decay="l2" | "decoupled" | "stable"``) whose ``step()`` runs
swd's fused C++ steps on the tensors in place; ``swd.dynamics`` measures weight norms,
angular updates and the decay budget around any optimizer's step. See docs/PYTHON.md.
"""
from . import dynamics, optim

__all__ = ["dynamics", "optim"]
__version__ = "0.1.0"
