# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Layer-wise pre-training and automatic differentiation
#
# Section II-B of the review this course follows {cite}`ranjan2018efficient` opens with two ideas
# from Bengio's recommendations {cite}`bengio2012practical`. The first made deep learning take
# off around 2006: train a deep network **one layer at a time, without labels**, then fine-tune
# the whole stack with the few labels there are {cite}`hinton2006fast,bengio2007greedy`. The
# second is what every framework now does for us: compute the gradients **automatically**, by
# running the chain rule backwards through the *flow graph* of the computation. This chapter
# measures the first on the digits with few labels, and builds the second from scratch: a small
# reverse-mode engine, checked against PyTorch, with a drawing of its graph.
#
# **Learning objectives.** After this chapter you can
#
# 1. pre-train a stack of (denoising) autoencoders greedily, layer by layer, and fine-tune it as
#    a classifier;
# 2. measure when pre-training helps: against random initialization, as the number of labels
#    grows;
# 3. explain reverse-mode automatic differentiation: the flow graph, local derivatives,
#    topological order and the backward pass;
# 4. check an autodiff engine against `torch.autograd` and finite differences, and explain why
#    one backward pass costs about as much as one forward pass, whatever the number of inputs.

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from effdnn_lib import device as dev
from effdnn_lib.autodiff import Value, draw_graph, gradients, topological_order
from effdnn_lib.data import load_digits
from effdnn_lib.exercises import ch07 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.training import accuracy, evaluate, train

setup(seed=0, threads=1)

# %% [markdown]
# ## Part 1: greedy layer-wise pre-training
#
# ### Many images, few labels
#
# Labels are expensive; images are cheap. We pretend that of the 989 training digits only a
# handful carry a label (20, 50 or 100 of them, drawn at random), while all 989 images may be
# used without their labels. The network is deep for this data set: three hidden layers of 64
# $\tanh$ units, $64 \to 64 \to 64 \to 64 \to 10$.

# %%
device = dev.get_device()
digits = load_digits(val_fraction=0.2)
X_unlabelled = digits["train"].x.to(device)  # all training images, labels unused in pre-training
y_train = digits["train"].y.to(device)
test_set = digits["test"]
WIDTHS = [64, 64, 64, 64]  # input and the three hidden layers; the output layer adds 10 classes
print(f"{len(X_unlabelled)} unlabelled images, {len(test_set)} test images, hidden widths {WIDTHS[1:]}")

# %% [markdown]
# ### Greedy pre-training with denoising autoencoders
#
# An **autoencoder** is a network trained to reproduce its input: an encoder
# $h = \tanh(W x + b)$ followed by a decoder $\hat x = W' h + b'$, trained to minimise
# $\lVert \hat x - x \rVert^2$. To reproduce 64 pixels through 64 units it could learn the
# identity; a **denoising** autoencoder {cite}`vincent2008extracting` is given a corrupted input
# $\tilde x$ (here a random 30% of the entries set to zero, which for standardized inputs means
# the pixel's mean; for simplicity the mask is drawn once per layer, where the original draws a
# fresh one each time an example is shown) and must reconstruct the clean $x$, so it has to
# learn how pixels depend on each other.
#
# Greedy layer-wise pre-training {cite}`bengio2007greedy` trains one such autoencoder per layer:
# the first on the images, the second on the first encoder's codes $h_1$, the third on $h_2$,
# each with the layers below frozen. The encoders, stacked, become the hidden layers of the
# classifier; a fresh output layer goes on top; and the whole network is then **fine-tuned** with
# the labels. Every stage uses the course's training loop:

# %%
def greedy_pretrain(x, widths, corruption=0.3, epochs=30, seed=0):
    """Train one denoising autoencoder per layer on the codes of the layer below; return the encoders."""
    torch.manual_seed(seed)
    encoders, h = [], x
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        encoder = nn.Sequential(nn.Linear(n_in, n_out), nn.Tanh())
        autoencoder = nn.Sequential(encoder, nn.Linear(n_out, n_in)).to(device)
        keep = torch.rand(h.shape, generator=torch.Generator().manual_seed(seed + layer)) > corruption
        h_corrupted = h * keep.to(h.device)  # the input with a fraction `corruption` of its entries zeroed
        history = train(autoencoder, torch.optim.Adam(autoencoder.parameters(), lr=3e-3), (h_corrupted, h),
                        epochs=epochs, batch_size=128, loss_fn=F.mse_loss, desc=f"autoencoder {layer + 1}")
        print(f"layer {layer + 1} ({n_in} -> {n_out}): reconstruction error {history.train_loss[0]:.4f} -> {history.train_loss[-1]:.4f}")
        encoders.append(encoder)
        with torch.no_grad():
            h = encoder(h)  # the codes the next autoencoder learns from
    return encoders


def classifier(encoders=None, seed=0):
    """The 64-64-64-64-10 tanh network; its hidden layers copied from ``encoders`` when given."""
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(WIDTHS[-1], 10))
    for i, encoder in enumerate(encoders or []):
        model[2 * i].load_state_dict(encoder[0].state_dict())
    return model.to(device)


encoders = greedy_pretrain(X_unlabelled, WIDTHS)

# %% [markdown]
# Each autoencoder lowers its reconstruction error several-fold. Each hidden unit's 64 input
# weights can be drawn as an $8 \times 8$ image of the pixel pattern it responds to. On
# images this small the pre-trained patterns are hard to read (unlike the stroke detectors
# that autoencoders learn on larger images), so we judge them by what they do for the
# classifier, measured next.

# %%
fig, axes = plt.subplots(2, 8, figsize=FIGSIZE_WIDE)
pretrained_w = encoders[0][0].weight.detach().cpu()
random_w = classifier(seed=0)[0].weight.detach().cpu()
for i, ax in enumerate(axes.flat):
    w = (pretrained_w if i < 8 else random_w)[i % 8].reshape(8, 8)
    ax.imshow(w, cmap="RdBu_r", vmin=-w.abs().max(), vmax=w.abs().max())
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
axes[0, 0].set_ylabel("pre-trained")
axes[1, 0].set_ylabel("random")
fig.suptitle("First-layer weights of eight hidden units")
plt.show()

# %% [markdown]
# ### Fine-tuning against random initialization
#
# Now the comparison. For each number of labels $n$, three random labelled subsets; for each,
# the same network fine-tuned from the pre-trained encoders and trained from a random
# initialization, with the same optimizer (SGD with momentum 0.9, $\eta = 0.1$), the same 200
# full-batch steps and the same output layer initialization.

# %%
def fine_tune(model, idx, epochs=200):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train(model, opt, (X_unlabelled[idx], y_train[idx]), epochs=epochs, batch_size=len(idx))
    return evaluate(model, test_set, metrics={"accuracy": accuracy})["accuracy"]


results = {}
for n in progress((20, 50, 100), desc="labels"):
    for subset in range(3):
        idx = torch.randperm(len(X_unlabelled), generator=torch.Generator().manual_seed(100 + subset))[:n].to(device)
        results[(n, subset)] = (fine_tune(classifier(seed=subset), idx), fine_tune(classifier(encoders, seed=subset), idx))

print(f"{'labels':>7} {'subset':>7} {'random init':>12} {'pre-trained':>12} {'gain':>7}")
for (n, subset), (acc_random, acc_pre) in results.items():
    print(f"{n:>7} {subset:>7} {acc_random:>12.4f} {acc_pre:>12.4f} {acc_pre - acc_random:>+7.4f}")
for n in (20, 50, 100):
    r = [results[(n, s)] for s in range(3)]
    print(f"mean over subsets, {n:>3} labels: random {np.mean([a for a, _ in r]):.4f}, pre-trained {np.mean([b for _, b in r]):.4f}")

# %% [markdown]
# Pre-training helped in all nine comparisons. Averaged over the three labelled subsets, test
# accuracy rose from 0.5746 to 0.6162 with 20 labels, from 0.7283 to 0.7639 with 50, and from
# 0.8218 to 0.8508 with 100: gains of about 3 to 4 points that shrink, in this range, as labels
# grow. The unlabelled images taught the hidden layers how the pixels of digits vary together,
# which randomly initialised layers have to learn from the few labels alone. Erhan et al.
# describe the effect as a regularizer: pre-training starts fine-tuning in a region of weights
# from which the few labels lead to solutions that generalize better {cite}`erhan2010why`.
#
# Two cautions. Each gain is one run per subset, and they vary (from +0.0111 to +0.0601), so
# the averages are worth more than any single row. And pre-training is no longer how deep
# networks are usually trained: better initializations {cite}`glorot2010understanding`,
# rectified units and normalisation made training from random weights work, and large labelled
# data sets make the regularization less needed. The idea lives on wherever unlabelled data is
# plentiful and labels are scarce. The review's section II-D, cascade learning (chapter 10),
# also trains a deep network layer by layer, but with labels at every stage.
#
# ## Part 2: automatic differentiation in a flow graph
#
# ### The idea
#
# Every number a network computes comes from a chain of elementary operations, and each
# operation knows its own derivative. Write the computation as a directed graph, a **flow
# graph** in Bengio's words {cite}`bengio2012practical`: one node per intermediate value, an edge
# from each operand to its result. To get $\partial f / \partial u$ for *every* node $u$ at once,
# start from the output with $\bar f = \partial f / \partial f = 1$ and walk the graph backwards,
# applying the chain rule once per edge:
#
# $$\bar u \;=\; \sum_{c\,:\,u \to c} \bar c\; \frac{\partial c}{\partial u},
# \qquad \bar u \equiv \frac{\partial f}{\partial u}.$$
#
# A node's sum is complete only once all the nodes that use it have been processed, so the walk
# must visit the nodes in reverse **topological order**: every node after all the nodes that use
# it. This is **reverse-mode** automatic differentiation; applied to a neural network it is
# backpropagation {cite}`rumelhart1986learning,baydin2018automatic`.
#
# ### A small engine
#
# `effdnn_lib.autodiff` implements this for scalars in about a hundred lines, in the spirit of
# Karpathy's micrograd but organised a little differently: each operation stores, next to its
# result, the *local derivatives* with respect to its operands, computed during the forward
# pass. Multiplication and $\tanh$, for example:

# %%
show_source(Value.__mul__)

# %%
show_source(Value.tanh)

# %% [markdown]
# The backward pass needs nothing else: an ordering of the nodes, and one multiply-add per edge.

# %%
show_source(topological_order)

# %%
show_source(Value.backward)

# %% [markdown]
# ### One neuron, drawn
#
# The expression of a single $\tanh$ neuron with two inputs,
# $f = \tanh(w_1 x_1 + w_2 x_2 + b)$, builds a graph of ten nodes. After `f.backward()` every
# node holds its value and its gradient $\partial f / \partial \text{node}$:

# %%
def neuron(x1=2.0, x2=-1.0, w1=-0.5, w2=1.5, b=1.0):
    """f = tanh(w1 x1 + w2 x2 + b) as a flow graph; returns f and its inputs."""
    inputs = [Value(x1, label="x1"), Value(x2, label="x2"), Value(w1, label="w1"), Value(w2, label="w2"), Value(b, label="b")]
    x1_, x2_, w1_, w2_, b_ = inputs
    z = w1_ * x1_ + w2_ * x2_ + b_
    z.label = "z"
    f = z.tanh()
    f.label = "f"
    return f, inputs


f, inputs = neuron()
ours = gradients(f, inputs)

leaves = [torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in inputs]
x1, x2, w1, w2, b = leaves
f_torch = torch.tanh(w1 * x1 + w2 * x2 + b)
reference = torch.autograd.grad(f_torch, leaves)

print(f"f = {f.data:.6f} (torch: {f_torch.item():.6f}); {len(topological_order(f))} nodes")
for v, g_ref in zip(inputs, reference):
    print(f"df/d{v.label:<2} = {v.grad:+.6f}   torch.autograd: {g_ref.item():+.6f}")

# %%
fig, ax = plt.subplots(figsize=FIGSIZE_WIDE)
draw_graph(f, ax=ax, title="f = tanh(w1 x1 + w2 x2 + b): value and gradient df/d(node) in each box")
plt.show()

# %% [markdown]
# Engine and PyTorch agree on the value and on all five gradients, to the six decimals printed.
# The drawing reads from left to right as the forward pass (inputs, products, sums, $\tanh$)
# and from right to left as the backward pass. The output's gradient is 1; $\tanh$ multiplies
# it by $1 - \tanh^2 z = 1 - 0.905^2 = 0.181$, which is the gradient of $z$ and, since the sums
# pass gradients through unchanged, of $b$. Each product then hands its partner's value back:
# $\partial f / \partial w_1 = 0.181 \cdot x_1 = 0.361$ and
# $\partial f / \partial x_1 = 0.181 \cdot w_1 = -0.090$.
#
# ### Checked three ways
#
# The library's tests compare the engine with `torch.autograd` on 300 random expressions (up to
# 25 operations each, with shared sub-expressions, so the graphs are not trees). A third,
# independent check needs no framework at all: **finite differences**,
# $\partial f/\partial x_i \approx (f(x + h e_i) - f(x - h e_i)) / 2h$.

# %%
def finite_differences(fn, point, h=1e-6):
    """Central differences of fn (which takes a list of floats) at ``point``."""
    grads = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        grads.append((fn(up) - fn(down)) / (2 * h))
    return grads


point = [v.data for v in inputs]
numeric = finite_differences(lambda p: neuron(*p)[0].data, point)
error = max(abs(a - b) for a, b in zip(ours, numeric))
print(f"engine and finite differences agree to within 1e-8: {error < 1e-8}")

# %% [markdown]
# ### Why reverse mode: one backward pass for all the gradients
#
# Finite differences need two evaluations of $f$ *per input*. For a network with $P$ parameters
# that is $2P$ forward passes for one gradient, hopeless for millions of parameters. The backward
# pass instead visits each edge once: its cost is a small multiple of the forward pass, whatever
# $P$ is {cite}`griewank2008evaluating`. We can count it on a small network built from `Value`s:
# a $2 \to 8 \to 1$ $\tanh$ network and its squared error on four points (the XOR problem).

# %%
XOR = [((0, 0), -1), ((0, 1), 1), ((1, 0), 1), ((1, 1), -1)]


def xor_output(params, x1, x2):
    """A 2-8-1 tanh network whose 33 parameters are the Values in ``params``."""
    W1, b1, W2, b2 = params[:16], params[16:24], params[24:32], params[32]
    hidden = [(W1[2 * j] * x1 + W1[2 * j + 1] * x2 + b1[j]).tanh() for j in range(8)]
    return sum((w * h for w, h in zip(W2, hidden)), b2).tanh()


def xor_network(params):
    """The mean squared error of the network on the four XOR points."""
    return sum(((xor_output(params, *x) - t) ** 2 for x, t in XOR), Value(0.0)) / len(XOR)


rng = np.random.default_rng(0)
params = [Value(float(v)) for v in rng.normal(0, 1, 33)]
loss = xor_network(params)
nodes = topological_order(loss)
edges = sum(len(node.parents) for node in nodes)
print(f"{len(params)} parameters; the graph has {len(nodes)} nodes and {edges} edges")
print(f"backward pass: {edges} multiply-adds, one per edge")
print(f"finite differences: {2 * len(params)} forward passes of {len(nodes)} nodes each = {2 * len(params) * len(nodes):,} node evaluations")

# %%
def seconds(fn, repeats=5):
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


t_forward = seconds(lambda: xor_network(params))
t_backward = seconds(loss.backward)
t_numeric = seconds(lambda: finite_differences(lambda p: xor_network([Value(v) for v in p]).data, [p.data for p in params]), repeats=1)

# %% tags=["nbval-ignore-output"]
# output varies between runs: timings
print(f"forward pass (builds the graph): {t_forward * 1e3:7.2f} ms")
print(f"backward pass (all 33 gradients): {t_backward * 1e3:7.2f} ms  ({t_backward / t_forward:.1f} x the forward pass)")
print(f"finite differences (66 forwards): {t_numeric * 1e3:7.2f} ms  ({t_numeric / t_backward:.0f} x the backward pass)")

# %% [markdown]
# The backward pass performs one multiply-add per edge, 447 in all, against 23,034 node
# evaluations for finite differences: 66 forward passes to get the same 33 numbers, less
# accurately. On the machine that built this page the backward pass took less time than the
# forward pass that built the graph, and finite differences took about a hundred times as long
# as the backward pass, or more. The gap grows in proportion to the number of parameters: for
# a network with a million, finite differences need two million forward passes; the backward
# pass still costs about one.
#
# Training with the engine is then the loop of every chapter: forward, backward, step. Plain
# gradient descent on the XOR network:

# %%
losses = []
for step in range(300):
    loss = xor_network(params)
    loss.backward()
    for p in params:
        p.data -= 0.1 * p.grad
    losses.append(loss.data)
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} after 300 steps")
for x, t in XOR:
    print(f"input {x}: output {xor_output(params, *x).data:+.3f}, target {t:+d}")

# %% [markdown]
# The loss falls from 1.0989 to 0.0115 and every output has the sign of its target: the engine
# has trained a network that solves XOR, with no framework underneath. PyTorch's autograd does
# the same on tensors instead of scalars, with each node a whole matrix operation, which is why
# it is fast enough for real networks.
#
# ## Explore: the neuron's graph
#
# Move the inputs and weights of the neuron and watch the values and gradients in the graph
# change. Where $|z|$ is large, $\tanh$ saturates, its local derivative $1 - \tanh^2 z$ is close
# to 0, and every gradient upstream of it vanishes with it. The website shows the default view;
# run the notebook to move the sliders.

# %%
def explore_neuron(x1=2.0, x2=-1.0, w1=-0.5, w2=1.5, b=1.0):
    f, _ = neuron(x1, x2, w1, w2, b)
    f.backward()
    fig, ax = plt.subplots(figsize=FIGSIZE_WIDE)
    draw_graph(f, ax=ax, title=f"f = {f.data:.3f}")
    plt.show()


# %% tags=["nbval-ignore-output"]
# output varies between runs: widget
sliders = {name: widgets.FloatSlider(value=value, min=-3, max=3, step=0.1, continuous_update=False)
           for name, value in (("x1", 2.0), ("x2", -1.0), ("w1", -0.5), ("w2", 1.5), ("b", 1.0))}
widgets.interact(explore_neuron, **sliders);

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** For $f = a\,b + a^2$ at $a = 3$, $b = -2$, what is $\partial f / \partial a$?
# In the flow graph, along how many edges does the gradient reach $a$?

# %%
your_answer = None  # replace with your number
check.gradient_by_hand(your_answer, a=3.0, b=-2.0)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Two edges leave a, one into the product a * b (local derivative b) and one into the
# power a**2 (local derivative 2a); the backward pass adds the two contributions: b + 2a.
solution = -2.0 + 2 * 3.0
check.gradient_by_hand(solution, a=3.0, b=-2.0)

# %% [markdown]
# **Exercise 2.** Derive the local derivative the engine stores for the logistic sigmoid
# $s(x) = 1 / (1 + e^{-x})$, and evaluate it at $x = 0.5$.

# %%
your_answer = None
check.sigmoid_derivative(your_answer, x=0.5)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# ds/dx = e^{-x} / (1 + e^{-x})^2 = s (1 - s).
s_half = 1 / (1 + math.exp(-0.5))
solution = s_half * (1 - s_half)
check.sigmoid_derivative(solution, x=0.5)

# %% [markdown]
# **Exercise 3.** How many nodes and edges does the graph of one neuron
# $\tanh(w_1 x_1 + \dots + w_n x_n + b)$ have, built as $((b + w_1 x_1) + w_2 x_2) + \dots$,
# for $n = 5$ inputs? Answer with a pair `(nodes, edges)`.

# %%
your_answer = None  # e.g. (10, 9)
check.graph_size(your_answer, n_inputs=5)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 2n + 1 leaves, n products, n sums and the tanh: 4n + 2 nodes. Each product and sum has
# two incoming edges and tanh one: 4n + 1 edges.
n = 5
solution = (4 * n + 2, 4 * n + 1)
check.graph_size(solution, n_inputs=n)

# %% [markdown]
# **Exercise 4.** How many parameters does one autoencoder of the greedy stack train, for a layer
# of 64 inputs and 64 hidden units? How many are thrown away when its encoder joins the
# classifier?

# %%
your_answer = None
check.autoencoder_parameters(your_answer, n_in=64, n_hidden=64)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Encoder 64 * 64 + 64, decoder 64 * 64 + 64; the decoder's 4,160 are discarded.
solution = 2 * (64 * 64 + 64)
check.autoencoder_parameters(solution, n_in=64, n_hidden=64)

# %% [markdown]
# **Exercise 5 (open).** Replace $\tanh$ by the logistic sigmoid in the classifier and in the
# autoencoders, and rerun the comparison. How well does the randomly initialised network train
# now, and how large is the gain from pre-training? Relate what you see to the vanishing
# gradients of chapter 10 and to the drawing of the neuron's graph.
#
# ## Summary
#
# * Greedy layer-wise pre-training trains one denoising autoencoder per layer on unlabelled data,
#   stacks the encoders, and fine-tunes the whole network with the labels.
# * On the digits with a $64 \to 64 \to 64 \to 64 \to 10$ $\tanh$ network, it beat random
#   initialization in all nine runs: mean test accuracy 0.6162 against 0.5746 with 20 labels,
#   0.7639 against 0.7283 with 50, 0.8508 against 0.8218 with 100.
# * Reverse-mode automatic differentiation records each operation's local derivatives in a flow
#   graph during the forward pass, then applies the chain rule once per edge in reverse
#   topological order. The course's engine agrees with `torch.autograd` (on the neuron here, on
#   300 random expressions and a small network in the tests) and with finite differences.
# * One backward pass gives all the gradients for about the cost of a forward pass (447
#   multiply-adds for the 33 parameters of the XOR network, against 23,034 node evaluations for
#   finite differences).
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-B), {cite}`bengio2012practical` (pre-training and
# flow graphs), {cite}`hinton2006fast,bengio2007greedy` (greedy layer-wise training),
# {cite}`vincent2008extracting` (denoising autoencoders), {cite}`erhan2010why` (why
# pre-training helps), {cite}`glorot2010understanding` (initialization),
# {cite}`rumelhart1986learning` (backpropagation), {cite}`baydin2018automatic,griewank2008evaluating`
# (automatic differentiation).
