"""Data sets of the course: all generated or shipped inside a package, so everything runs offline.

* :func:`load_digits` - scikit-learn's 1,797 handwritten digits (8 x 8 pixels), split and scaled.
"""

from .digits import Split, load_digits

__all__ = ["Split", "load_digits"]
