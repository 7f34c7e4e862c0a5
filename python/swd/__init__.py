"""swd: the weight-decay methods of *Understanding and Scheduling Weight Decay* (Xie, Sato,
Sugiyama, arXiv 2011.11152) for PyTorch.

``swd.optim`` holds ``torch.optim.Optimizer`` subclasses (AdamS, SGDS, AdaiS, Adai, and the
families Adam, SGD, Adai with ``decay="l2" | "decoupled" | "stable"``) whose ``step()`` runs
swd's fused C++ steps on the tensors in place. See docs/PYTHON.md.
"""
from . import optim

__all__ = ["optim"]
__version__ = "0.1.0"
