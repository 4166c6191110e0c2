"""From-scratch optimizers that are drop-in replacements for ``torch.optim``'s classes.

Same constructor arguments and defaults, same results, written to be read beside the
equations: one module per family.
"""

__all__: list[str] = []
