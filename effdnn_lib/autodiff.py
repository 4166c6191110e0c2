r"""A small reverse-mode automatic differentiation engine on scalars, and a drawing of its graph.

Every arithmetic operation on :class:`Value` objects creates a new node of a *flow graph*
(Bengio's term): the node keeps its value, the nodes it was computed from (``parents``) and, for
each parent :math:`p`, the **local derivative** :math:`\partial\,\text{node} / \partial p`, which
is known at the moment the node is computed. The gradient of an output :math:`f` with respect to
every node then follows from the chain rule, applied once per edge, from the output backwards:

.. math::

    \bar f = 1, \qquad
    \bar p \;=\; \sum_{c \,:\, p \text{ is a parent of } c} \bar c\;\frac{\partial c}{\partial p},
    \qquad\text{where } \bar u = \frac{\partial f}{\partial u}.

A node's :math:`\bar c` is complete only when every node that uses it has been processed, so
:meth:`Value.backward` visits the nodes in reverse **topological order** (children before
parents). One backward pass costs about as much as the forward pass, whatever the number of
inputs: this is why training a network needs one backward pass per mini-batch rather than one
pass per parameter.

:func:`draw_graph` draws the graph of an expression with matplotlib, each node showing its value
and its gradient.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["Value", "topological_order", "gradients", "draw_graph"]


def _check_number(name: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a real number or a Value; got {type(x).__name__}")
    return float(x)


class Value:
    """A scalar node of the flow graph: ``data``, ``grad`` and how it was made.

    ``parents`` are the nodes it was computed from, ``local_grads`` the partial derivatives of this
    node with respect to each of them (same order), ``op`` the operation's name and ``label`` an
    optional name for drawings.
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op", "label")

    def __init__(self, data, parents: tuple = (), local_grads: tuple = (), op: str = "", label: str = ""):
        self.data = _check_number("data", data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local_grads = tuple(float(g) for g in local_grads)
        if len(self.parents) != len(self.local_grads):
            raise ValueError("parents and local_grads must have the same length")
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    # -- binary operations: each returns a new node with its two local derivatives ------------

    @staticmethod
    def _lift(x) -> "Value":
        return x if isinstance(x, Value) else Value(_check_number("operand", x))

    def __add__(self, other):
        other = self._lift(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = self._lift(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, k):
        """``self ** k`` for a constant exponent ``k``: d/dx x^k = k x^(k-1)."""
        if isinstance(k, Value):
            raise TypeError("exponent must be a constant number (x ** k); for a Value exponent k write (k * x.log()).exp()")
        k = _check_number("exponent", k)
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"a negative base ({self.data:.4g}) needs an integer exponent; got {k}")
        if self.data == 0 and k < 1 and k != 0:
            raise ValueError(f"x ** {k:g} has no finite derivative at x = 0")
        local = k * self.data ** (k - 1) if k != 0 else 0.0
        return Value(self.data**k, (self,), (local,), f"**{k:g}")

    def __truediv__(self, other):
        other = self._lift(other)
        if other.data == 0:
            raise ZeroDivisionError("division by a Value equal to 0")
        return self * other**-1

    def __neg__(self):
        return Value(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    # -- elementary functions: value and derivative --------------------------------------------

    def exp(self):
        if self.data > 709.78:  # math.exp overflows a float beyond log(max float)
            raise ValueError(f"exp(x) needs x <= 709.78 to stay a finite float; got x = {self.data:.6g}")
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive argument; got {self.data:.4g}")
        return Value(math.log(self.data), (self,), (1 / self.data,), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t * t,), "tanh")

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.data))  # 1 / (1 + e^-x) without overflow
        return Value(s, (self,), (s * (1 - s),), "sigmoid")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    def sin(self):
        return Value(math.sin(self.data), (self,), (math.cos(self.data),), "sin")

    def cos(self):
        return Value(math.cos(self.data), (self,), (-math.sin(self.data),), "cos")

    # -- the backward pass ---------------------------------------------------------------------

    def backward(self) -> None:
        """Set ``grad`` of every node of this graph to d(self)/d(node), by the chain rule in
        reverse topological order. Gradients from earlier calls are overwritten, not added."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # every child before its parents
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += node.grad * local


def topological_order(root: Value) -> list[Value]:
    """The nodes of ``root``'s graph, each after all of its parents (``root`` last).

    A depth-first search written with an explicit stack, so deep graphs do not hit Python's
    recursion limit.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value; got {type(root).__name__}")
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))  # comes back after its parents
        stack.extend((p, False) for p in reversed(node.parents) if id(p) not in visited)
    return order


def gradients(output: Value, inputs) -> list[float]:
    """d(output)/d(x) for each ``x`` in ``inputs``, after one backward pass."""
    output.backward()
    return [x.grad for x in inputs]


def _depths(order: list[Value]) -> dict[int, int]:
    """Column of each node in the drawing: 0 for inputs, else 1 + the deepest parent."""
    depth: dict[int, int] = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    return depth


def draw_graph(root: Value, ax=None, show_grad: bool = True, title: str | None = None):
    """Draw ``root``'s flow graph with matplotlib, inputs on the left, output on the right.

    Each box shows the node's label (or operation), its value and, with ``show_grad``, its
    gradient; arrows run from parents to children. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    from .plotting import PALETTE

    order = topological_order(root)
    depth = _depths(order)
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    n_cols = max(columns) + 1
    n_rows = max(len(c) for c in columns.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(min(1.6 * n_cols + 1, 12), min(0.9 * n_rows + 1, 8)))
    position = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            position[id(node)] = (col, (len(nodes) - 1) / 2 - row)
    for node in order:
        for parent in node.parents:
            ax.add_patch(
                FancyArrowPatch(position[id(parent)], position[id(node)], arrowstyle="-|>", mutation_scale=10,
                                shrinkA=24, shrinkB=24, color=PALETTE["black"], lw=0.8, alpha=0.6)
            )
    for node in order:
        x, y = position[id(node)]
        name = node.label or node.op or "input"
        text = f"{name}\n{node.data:.3g}" + (f"\ngrad {node.grad:.3g}" if show_grad else "")
        colour = PALETTE["vermillion"] if node is root else (PALETTE["sky"] if not node.parents else PALETTE["orange"])
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": colour, "alpha": 0.35, "edgecolor": colour})
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(-(n_rows - 1) / 2 - 0.7, (n_rows - 1) / 2 + 0.7)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
