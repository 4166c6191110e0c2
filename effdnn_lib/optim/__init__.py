"""From-scratch optimizers that are drop-in replacements for ``torch.optim``'s classes.

Same constructor arguments and defaults, same results, written to be read beside the
equations: one module per family. ``tests/test_optim_torch_suite.py`` runs PyTorch's own optimizer
test inputs (``torch.testing._internal.common_optimizers.optim_db``) against these classes.

``Adam(fused=True)`` and ``AdamW(fused=True)`` take the course's own fused step (chapter 11: the update
compiled by ``torch.compile``, falling back to the readable update where compilation is unavailable).
Not offered: ``fused=True`` elsewhere, ``capturable=True`` and ``differentiable=True``. The constructors accept
these arguments for compatibility, but only as ``False`` or ``None``; ``True`` raises
:class:`~effdnn_lib.optim._checks.UnsupportedOption`, a ``RuntimeError`` (torch.optim's kind of error
for an unsupported combination of these options) that is also a ``ValueError``. Use the
``torch.optim`` class for them.
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, Adamax, AdamW
from .rmsprop import RMSprop
from .sgd import SGD

__all__: list[str] = []
__all__ += ["SGD", "Adagrad", "RMSprop", "Adadelta"]
__all__ += ["Adam", "AdamW", "Adamax"]
