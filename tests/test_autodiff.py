"""The reverse-mode engine against torch.autograd on many random expressions (float64)."""

from __future__ import annotations

import math
import random

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from effdnn_lib.autodiff import Value, draw_graph, gradients, topological_order  # noqa: E402

UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "neg", "square", "cube", "sqrt", "inv"]
BINARY = ["add", "sub", "mul", "div", "radd", "rmul", "rsub"]


def random_program(rng: random.Random, n_inputs: int, n_ops: int):
    """A random expression as a list of instructions over a growing pool of nodes.

    Operands are drawn from the whole pool, so nodes are reused (the graph is a DAG, not a
    tree). Functions with a restricted domain get a safe argument: log(1 + a^2), sqrt(1 + a^2),
    1 / (1 + a^2), exp(tanh(a)), a / (1 + b^2).
    """
    program = []
    size = n_inputs
    for _ in range(n_ops):
        if rng.random() < 0.5:
            program.append((rng.choice(UNARY), rng.randrange(size)))
        else:
            program.append((rng.choice(BINARY), rng.randrange(size), rng.randrange(size), rng.uniform(-2, 2)))
        size += 1
    return program


def run(program, inputs, lib):
    """Evaluate ``program`` on ``inputs`` with the engine (lib='ours') or with torch."""
    pool = list(inputs)
    if lib == "ours":
        f = {
            "exp": lambda a: a.tanh().exp(), "log": lambda a: (1 + a * a).log(), "tanh": Value.tanh,
            "sigmoid": Value.sigmoid, "relu": Value.relu, "sin": Value.sin, "cos": Value.cos,
            "neg": lambda a: -a, "square": lambda a: a**2, "cube": lambda a: a**3,
            "sqrt": lambda a: (1 + a * a) ** 0.5, "inv": lambda a: 1 / (1 + a * a),
        }
    else:
        f = {
            "exp": lambda a: a.tanh().exp(), "log": lambda a: (1 + a * a).log(), "tanh": torch.tanh,
            "sigmoid": torch.sigmoid, "relu": torch.relu, "sin": torch.sin, "cos": torch.cos,
            "neg": lambda a: -a, "square": lambda a: a**2, "cube": lambda a: a**3,
            "sqrt": lambda a: (1 + a * a) ** 0.5, "inv": lambda a: 1 / (1 + a * a),
        }
    g = {
        "add": lambda a, b, c: a + b, "sub": lambda a, b, c: a - b, "mul": lambda a, b, c: a * b,
        "div": lambda a, b, c: a / (1 + b * b), "radd": lambda a, b, c: c + a, "rmul": lambda a, b, c: c * a,
        "rsub": lambda a, b, c: c - a,
    }
    for op in program:
        if op[0] in f:
            pool.append(f[op[0]](pool[op[1]]))
        else:
            pool.append(g[op[0]](pool[op[1]], pool[op[2]], op[3]))
    out = pool[len(inputs)]
    for node in pool[len(inputs) + 1 :]:  # the output uses every node, so no branch is dead
        out = out + node
    return out


@pytest.mark.parametrize("seed", range(300))
def test_random_expressions_match_torch_autograd(seed):
    rng = random.Random(seed)
    n_inputs = rng.randint(1, 4)
    program = random_program(rng, n_inputs, rng.randint(1, 25))
    xs = [rng.uniform(-2, 2) for _ in range(n_inputs)]

    ours_in = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    ours = run(program, ours_in, "ours")
    ours_grads = gradients(ours, ours_in)

    torch_in = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    ref = run(program, torch_in, "torch")
    ref_grads = torch.autograd.grad(ref, torch_in, allow_unused=True)
    ref_grads = [0.0 if g is None else g.item() for g in ref_grads]

    assert ours.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    assert ours_grads == pytest.approx(ref_grads, rel=1e-10, abs=1e-10)


def test_closed_form_derivatives():
    x, y = Value(1.5), Value(-0.5)
    f = x * y + (x / y).sin() - (y.exp() * x**3).tanh()
    f.backward()
    u = x.data / y.data
    t = math.tanh(math.exp(y.data) * x.data**3)
    assert x.grad == pytest.approx(y.data + math.cos(u) / y.data - (1 - t * t) * math.exp(y.data) * 3 * x.data**2)
    assert y.grad == pytest.approx(x.data - math.cos(u) * x.data / y.data**2 - (1 - t * t) * math.exp(y.data) * x.data**3)


def test_a_reused_node_accumulates_its_gradient():
    x = Value(3.0)
    f = x * x + x  # df/dx = 2x + 1, reached along three edges
    f.backward()
    assert x.grad == 7.0


def test_backward_overwrites_rather_than_adds():
    x = Value(2.0)
    f = x * x
    f.backward()
    f.backward()
    assert x.grad == 4.0


def test_topological_order_puts_parents_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e and len(order) == 5 and len({id(n) for n in order}) == 5
    where = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(where[id(p)] < where[id(node)] for p in node.parents)


def test_a_deep_graph_needs_no_recursion():
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_a_small_network_matches_torch():
    """One hidden tanh layer, softmax cross-entropy: every weight's gradient as torch computes it."""
    rng = random.Random(0)
    w1 = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    w2 = [[rng.gauss(0, 1) for _ in range(4)] for _ in range(2)]
    x, label = [0.3, -1.2, 0.8], 1

    W1 = [[Value(v) for v in row] for row in w1]
    W2 = [[Value(v) for v in row] for row in w2]
    h = [sum((w * xi for w, xi in zip(row, x)), Value(0.0)).tanh() for row in W1]
    z = [sum((w * hi for w, hi in zip(row, h)), Value(0.0)) for row in W2]
    loss = -(z[label] - sum((zi.exp() for zi in z), Value(0.0)).log())
    loss.backward()

    T1 = torch.tensor(w1, dtype=torch.float64, requires_grad=True)
    T2 = torch.tensor(w2, dtype=torch.float64, requires_grad=True)
    logits = T2 @ torch.tanh(T1 @ torch.tensor(x, dtype=torch.float64))
    ref = torch.nn.functional.cross_entropy(logits[None], torch.tensor([label]))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12)
    for ours, ref_grad in ((W1, T1.grad), (W2, T2.grad)):
        grads = torch.tensor([[w.grad for w in row] for row in ours], dtype=torch.float64)
        torch.testing.assert_close(grads, ref_grad, rtol=1e-10, atol=1e-12)


def test_bad_input_raises_readable_errors():
    with pytest.raises(TypeError, match="data must be a real number"):
        Value("1.0")
    with pytest.raises(TypeError, match="operand must be a real number or a Value"):
        Value(1.0) + "a"
    with pytest.raises(ValueError, match="log needs a positive argument"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match="no finite derivative at x = 0"):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)
    with pytest.raises(TypeError, match="root must be a Value"):
        topological_order(3.0)


def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    f = (a * b + a).tanh()
    f.backward()
    ax = draw_graph(f, title="f")
    n_nodes = len(topological_order(f))
    n_edges = sum(len(n.parents) for n in topological_order(f))
    assert len(ax.texts) == n_nodes and len(ax.patches) == n_edges
    assert any("grad" in t.get_text() for t in ax.texts)
    plt.close("all")
