"""Data sets of the course: all generated or shipped inside a package, so everything runs offline.

* :func:`load_digits` - scikit-learn's 1,797 handwritten digits (8 x 8 pixels), split and scaled;
  :func:`relabel` adds label noise.
* :func:`load_shifted_digits` - the same digits enlarged and shifted on a noisy canvas (CNNs);
  :func:`load_cifar10` reads CIFAR-10 only if it is already on disk.
* :func:`mackey_glass` - the Mackey-Glass chaotic series (RK4, in the module
  :mod:`effdnn_lib.data.mackey_glass_series`, named apart from the function); :func:`mackey_glass_prediction`
  its t+85 prediction task; :func:`normalized_error` the task's error measure.
"""

from .digits import Split, load_digits, relabel
from .images import load_cifar10, load_shifted_digits
from .mackey_glass_series import mackey_glass, mackey_glass_prediction, normalized_error

__all__ = [
    "Split",
    "load_digits",
    "relabel",
    "load_shifted_digits",
    "load_cifar10",
    "mackey_glass",
    "mackey_glass_prediction",
    "normalized_error",
]
