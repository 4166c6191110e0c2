"""From-scratch optimizers that are drop-in replacements for ``torch.optim``'s classes.

Same constructor arguments and defaults, same results, written to be read beside the
equations: one module per family.
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, Adamax, AdamW
from .rmsprop import RMSprop
from .sgd import SGD

__all__: list[str] = []
__all__ += ["SGD", "Adagrad", "RMSprop", "Adadelta"]
__all__ += ["Adam", "AdamW", "Adamax"]
