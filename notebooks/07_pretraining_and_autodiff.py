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
# measures the first on the digits with few labels, against its supervised variant, and builds the second from scratch: a small
# reverse-mode engine, checked against PyTorch, with a drawing of its graph.
#
# **Learning objectives.** After this chapter you can
#
# 1. pre-train a stack of denoising autoencoders greedily, layer by layer, and fine-tune it as
#    a classifier;
# 2. compare unsupervised pre-training with supervised greedy pre-training (a temporary output
#    layer per stage) and with random initialization, over several seeds and label counts;
# 3. read a per-layer linear probe: how much of the label each frozen layer still holds;
# 4. explain reverse-mode automatic differentiation: the flow graph, local derivatives,
#    topological order and the backward pass;
# 5. check an autodiff engine against `torch.autograd` and finite differences, and explain why
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
from effdnn_lib.training import train
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## Part 1: greedy layer-wise pre-training
#
# ### Many images, few labels
#
# Labels are expensive; images are cheap. We pretend that of the 989 training digits only a
# handful carry a label (20, 50 or 100 of them, drawn at random), while all 989 images may be
# used without their labels; 359 further labelled images form a validation split, used only to
# choose hyperparameters. The network is deep for this data set: three hidden layers of 64
# $\tanh$ units, $64 \to 64 \to 64 \to 64 \to 10$. Everything is computed in float64, so that the
# accuracies printed below are facts about the algorithms, not about one CPU's rounding.

# %%
device = dev.get_device()
digits = load_digits(val_fraction=0.2)
X_unlabelled = digits["train"].x.double().to(device)  # all training images, labels unused in pre-training
y_train = digits["train"].y.to(device)
val_set = (digits["val"].x.double().to(device), digits["val"].y.to(device))
test_set = (digits["test"].x.double().to(device), digits["test"].y.to(device))
WIDTHS = [64, 64, 64, 64]  # input and the three hidden layers; the output layer adds 10 classes
SEEDS = (0, 1, 2)  # each seed: its own pre-training, its own labelled subsets, its own initialization
print(f"{len(X_unlabelled)} unlabelled images, {len(val_set[1])} validation and {len(test_set[1])} test images, hidden widths {WIDTHS[1:]}")

# %% [markdown]
# ### Greedy pre-training with denoising autoencoders
#
# An **autoencoder** is a network trained to reproduce its input: an encoder
# $h = \tanh(W x + b)$ followed by a decoder $\hat x = W' h + b'$, trained to minimise
# $\lVert \hat x - x \rVert^2$. To reproduce 64 pixels through 64 units it could learn the
# identity; a **denoising** autoencoder {cite}`vincent2008extracting` is given a corrupted input
# $\tilde x$ and must reconstruct the clean $x$, so it has to learn how pixels depend on each
# other. The corruption is Vincent et al.'s masking noise: a random 30% of the entries set to zero
# (for standardized inputs, the pixel's mean), with **a new mask each time an example is
# presented**, so the autoencoder never sees the same corrupted copy twice. `MaskingNoise` is that
# corruption as a layer, active in training mode only, like dropout (but without dropout's
# rescaling).
#
# Greedy layer-wise pre-training {cite}`bengio2007greedy` trains one such autoencoder per layer:
# the first on the images, the second on the first encoder's codes $h_1$, the third on $h_2$,
# each with the layers below frozen. The encoders, stacked, become the hidden layers of the
# classifier; a fresh output layer goes on top; and the whole network is then **fine-tuned** with
# the labels. Every stage uses the course's training loop:

# %%
class MaskingNoise(nn.Module):
    """Zero each entry with probability p, with a new random mask at every call (training mode only)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return x * (torch.rand_like(x) >= self.p) if self.training else x


def greedy_pretrain(x, widths, corruption=0.3, epochs=30, seed=0):
    """Train one denoising autoencoder per layer on the codes of the layer below; return the encoders
    and each autoencoder's reconstruction error (first and last epoch)."""
    torch.manual_seed(seed)
    encoders, errors, h = [], [], x
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        encoder = nn.Sequential(nn.Linear(n_in, n_out), nn.Tanh())
        autoencoder = nn.Sequential(MaskingNoise(corruption), encoder, nn.Linear(n_out, n_in)).double().to(device)
        history = train(autoencoder, torch.optim.Adam(autoencoder.parameters(), lr=3e-3), (h, h), epochs=epochs,
                        batch_size=128, loss_fn=F.mse_loss, seed=seed + layer, desc=f"autoencoder {layer + 1}")
        errors.append((history.train_loss[0], history.train_loss[-1]))
        encoders.append(encoder)
        with torch.no_grad():
            h = encoder(h)  # the codes the next autoencoder learns from
    return encoders, errors


def classifier(encoders=None, seed=0):
    """The 64-64-64-64-10 tanh network; its hidden layers copied from ``encoders`` when given."""
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(WIDTHS[-1], 10)).double()
    for i, encoder in enumerate(encoders or []):
        model[2 * i].load_state_dict(encoder[0].state_dict())
    return model.to(device)


pretrained = {seed: greedy_pretrain(X_unlabelled, WIDTHS, seed=seed) for seed in progress(SEEDS, desc="pre-training")}
for layer in range(len(WIDTHS) - 1):
    first, last = zip(*(pretrained[seed][1][layer] for seed in SEEDS))
    print(f"autoencoder {layer + 1}: reconstruction error of the noisy input, first epoch {min(first):.3f} to {max(first):.3f}, "
          f"last epoch {min(last):.3f} to {max(last):.3f} (over {len(SEEDS)} seeds)")

# %% [markdown]
# Each autoencoder lowers its reconstruction error several-fold, on every seed.
#
# ### The supervised alternative: one temporary output layer per stage
#
# Bengio et al.'s key comparison {cite}`bengio2007greedy` keeps the greedy, layer-by-layer schedule
# but replaces the autoencoder by the labels: each new hidden layer is trained together with a
# **temporary softmax output layer** to classify the codes of the layers below (frozen); the
# temporary output is then thrown away, the next layer goes on top, and at the end the whole stack
# is fine-tuned as before. This is the shape of chapter 10's deep cascade learning
# {cite}`marquez2018deep`, which trains the same stages, each under a temporary output block, keeps
# the last stage's output block as the classifier's, and needs no final fine-tuning (chapter 10
# measures what adding one does). Here it can use only the few labelled images, while
# the autoencoders used all 989; in Bengio et al.'s experiments the unsupervised version did better.
# Every stage below takes 100 full-batch steps of SGD with momentum.

# %%
def fit(model, x, y, lr, steps):
    """Full-batch SGD with momentum 0.9 on the cross-entropy (the labelled sets are small)."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def supervised_greedy_pretrain(x, y, widths, lr=0.1, steps=100, seed=0):
    """Train each hidden layer with a temporary softmax output layer on the codes of the layers below."""
    torch.manual_seed(seed)
    encoders, h = [], x
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        encoder = nn.Sequential(nn.Linear(n_in, n_out), nn.Tanh())
        temporary_output = nn.Linear(n_out, 10)
        fit(nn.Sequential(encoder, temporary_output).double().to(device), h, y, lr, steps)  # the output is then dropped
        encoders.append(encoder)
        with torch.no_grad():
            h = encoder(h)
    return encoders


# %% [markdown]
# ### Fine-tuning: three starting points
#
# Now the comparison. For each number of labels $n$ and each seed, one random labelled subset;
# on it, the same network is fine-tuned from three starting points: a random initialization, the
# unsupervised (denoising) stack, and the supervised greedy stack. Each gets the same optimizer
# (full-batch SGD with momentum 0.9), the same 200 steps and the same output layer
# initialization. The learning rate is tuned for each starting point on the grid 0.01, 0.03, 0.1,
# by the mean validation accuracy over all runs, and the code checks that the chosen one is not at
# an end of the grid.

# %%
@torch.no_grad()
def accuracy_on(model, data):
    model.eval()
    return (model(data[0]).argmax(dim=1) == data[1]).double().mean().item()


def labelled_subset(n, seed):
    return torch.randperm(len(X_unlabelled), generator=torch.Generator().manual_seed(100 + seed))[:n].to(device)


LABELS, LRS, STARTS = (20, 50, 100), (0.01, 0.03, 0.1), ("random init", "unsupervised", "supervised greedy")
runs = {}  # (start, lr, n, seed) -> (validation accuracy, test accuracy)
for n in progress(LABELS, desc="labels"):
    for seed in SEEDS:
        idx = labelled_subset(n, seed)
        stacks = {"random init": None, "unsupervised": pretrained[seed][0],
                  "supervised greedy": supervised_greedy_pretrain(X_unlabelled[idx], y_train[idx], WIDTHS, seed=seed)}
        for start, encoders in stacks.items():
            for lr in LRS:
                model = fit(classifier(encoders, seed=seed), X_unlabelled[idx], y_train[idx], lr, steps=200)
                runs[start, lr, n, seed] = (accuracy_on(model, val_set), accuracy_on(model, test_set))

best_lr = {}
for start in STARTS:
    mean_val = [np.mean([runs[start, lr, n, s][0] for n in LABELS for s in SEEDS]) for lr in LRS]
    best_lr[start] = LRS[int(np.argmax(mean_val))]
    assert best_lr[start] not in (LRS[0], LRS[-1]), f"{start}: the best learning rate is at an end of the grid"
    print(f"{start:<18} mean validation accuracy at lr " + ", ".join(f"{lr:g}: {v:.3f}" for lr, v in zip(LRS, mean_val)) + f"  -> lr {best_lr[start]:g}")
test_acc = {(start, n): [runs[start, best_lr[start], n, s][1] for s in SEEDS] for start in STARTS for n in LABELS}

print(f"\ntest accuracy, seeds {', '.join(map(str, SEEDS))}")
print(f"{'labels':>6}  " + "  ".join(f"{start:^31}" for start in STARTS))
for n in LABELS:
    cells = [" ".join(f"{a:.4f}" for a in test_acc[start, n]) + f" | {np.mean(test_acc[start, n]):.4f}" for start in STARTS]
    print(f"{n:>6}  " + "  ".join(cells))
for other in ("random init", "supervised greedy"):
    wins = all(u > o for n in LABELS for u, o in zip(test_acc["unsupervised", n], test_acc[other, n]))
    print(f"unsupervised pre-training beats {other} on every seed and label count: {wins}")
gains = [u - r for n in LABELS for u, r in zip(test_acc["unsupervised", n], test_acc["random init", n])]
print(f"gain of unsupervised pre-training over random init: {min(gains):+.4f} to {max(gains):+.4f}")
sup_vs_random = [s_ - r for n in LABELS for s_, r in zip(test_acc["supervised greedy", n], test_acc["random init", n])]
print(f"supervised greedy minus random init: {min(sup_vs_random):+.4f} to {max(sup_vs_random):+.4f}")

# %% [markdown]
# ### What each layer knows: a linear probe
#
# Where does the gain come from? A **linear probe** asks how much of the label each hidden layer
# holds in linearly readable form: freeze the stack, compute the codes $h_k$ of layer $k$ (layer 0
# is the input), and train only a softmax (multinomial logistic regression) on them, with the 100
# labelled images of each seed. The probe is convex, so it is trained to convergence (L-BFGS) and
# its result does not depend on an optimizer's schedule; its L2 penalty $\frac\lambda2\lVert W
# \rVert^2$ is chosen for each stack and layer on the grid $10^{-4}, \dots, 10^{-1}$ by the mean
# validation loss, again checked not to be at an end. The two stacks: the denoising autoencoders
# before any fine-tuning, and the same network's random initialization.

# %%
def linear_probe(h_train, y, lam):
    """Multinomial logistic regression on frozen codes, with penalty (lam / 2) ||W||^2, trained by L-BFGS."""
    W = torch.zeros(h_train.shape[1], 10, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.zeros(10, dtype=torch.float64, device=device, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=200, tolerance_grad=1e-8, tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(h_train @ W + b, y) + lam / 2 * (W**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda h: (h @ W + b).detach()


@torch.no_grad()
def codes(encoders, x):
    """[x, h_1, h_2, h_3]: the input and the code of every layer of the stack."""
    out = [x]
    for encoder in encoders:
        out.append(encoder(out[-1]))
    return out


LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1)
probe_runs = {}  # (stack, layer, lam, seed) -> (validation loss, test accuracy)
for seed in progress(SEEDS, desc="probes"):
    idx = labelled_subset(100, seed)
    random_net = classifier(seed=seed)
    stacks = {"pre-trained": pretrained[seed][0], "random init": [random_net[2 * i : 2 * i + 2] for i in range(len(WIDTHS) - 1)]}
    for stack, encoders in stacks.items():
        for layer, (h_train, h_val, h_test) in enumerate(zip(*(codes(encoders, x) for x in (X_unlabelled[idx], val_set[0], test_set[0])))):
            for lam in LAMBDAS:
                predict = linear_probe(h_train, y_train[idx], lam)
                probe_runs[stack, layer, lam, seed] = (F.cross_entropy(predict(h_val), val_set[1]).item(),
                                                       (predict(h_test).argmax(dim=1) == test_set[1]).double().mean().item())

probe_acc = {}
print(f"{'stack':<12} {'layer':>5} {'lambda':>7}   test accuracy of the probe, seeds {', '.join(map(str, SEEDS))} | mean")
for stack in ("pre-trained", "random init"):
    for layer in range(len(WIDTHS)):
        mean_val_loss = [np.mean([probe_runs[stack, layer, lam, s][0] for s in SEEDS]) for lam in LAMBDAS]
        lam = LAMBDAS[int(np.argmin(mean_val_loss))]
        assert lam not in (LAMBDAS[0], LAMBDAS[-1]), f"{stack}, layer {layer}: the best lambda is at an end of the grid"
        probe_acc[stack, layer] = [probe_runs[stack, layer, lam, s][1] for s in SEEDS]
        print(f"{stack:<12} {layer:>5} {lam:>7g}   " + " ".join(f"{a:.4f}" for a in probe_acc[stack, layer]) + f" | {np.mean(probe_acc[stack, layer]):.4f}")
deeper = range(1, len(WIDTHS))
print("pre-trained layers beat random ones on every seed, at layers 1-3:",
      all(p > r for k in deeper for p, r in zip(probe_acc["pre-trained", k], probe_acc["random init", k])))

# %% mystnb={"image": {"alt": "Test accuracy of a linear probe (a softmax trained on 100 labels) reading the input and the codes of layers 1 to 3, for the pre-trained stack (blue, solid) and the random initialization (vermillion, dashed), mean with min-max bars over 3 seeds. The pre-trained layers stay near 0.84 to 0.85 at every depth, while the random ones fall steadily to about 0.76 at layer 3."}}
fig, ax = plt.subplots(figsize=FIGSIZE)
layers = np.arange(len(WIDTHS))
for stack, colour, marker, style, shift in (("pre-trained", PALETTE["blue"], "o", "-", -0.04), ("random init", PALETTE["vermillion"], "s", "--", 0.04)):
    acc = np.array([probe_acc[stack, k] for k in layers])
    mean = acc.mean(axis=1)
    ax.errorbar(layers + shift, mean, yerr=[mean - acc.min(axis=1), acc.max(axis=1) - mean], color=colour, marker=marker, ls=style,
                capsize=3, label=f"{stack} (mean, min-max over {len(SEEDS)} seeds)")
ax.set_xticks(layers, ["input", "layer 1", "layer 2", "layer 3"])
ax.set_ylabel("test accuracy of a linear probe")
ax.set_title("What a softmax on each frozen layer can read (100 labels)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Unsupervised pre-training helped in all nine comparisons with random initialization (three
# seeds, three label counts). Averaged over the seeds, test accuracy rose from 0.5776 to 0.6177
# with 20 labels, from 0.7387 to 0.7840 with 50, and from 0.8263 to 0.8537 with 100; the gain of a
# single run ranged from +0.0089 to +0.0646, so the averages are worth more than any one row. All
# three starting points chose the same learning rate, 0.03, inside the grid.
#
# Supervised greedy pre-training did not help: its mean is below random initialization with 20 and
# 100 labels (0.5419 and 0.8166) and level with it with 50 (0.7402), and run by run it ranges from
# $-0.0423$ to $+0.0200$ against random initialization, so on this problem it is neither reliably
# better nor worse than no pre-training. It lost to unsupervised pre-training on every seed and
# label count. Bengio et al. also found the unsupervised version the better of the two. A likely
# reason here: each supervised stage learns from the $n$ labelled images only, and has no reason to
# keep anything about the digits that those few labels do not need, while the autoencoders learned
# from all 989 images. Chapter 10's cascade trains stages the same way, with all the labels of a
# data set, where labels are not scarce.
#
# The probe shows what the unlabelled images bought. A softmax on the raw pixels reaches a mean
# of 0.8471 with 100 labels. Each random $\tanh$ layer loses some of that: 0.8129 after one layer,
# 0.7906 after two, 0.7550 after three. The pre-trained layers keep it (0.8434, 0.8463, 0.8374),
# and beat the random layers at every depth on every seed. So on these small images pre-training
# does not make the classes more linearly separable than the pixels are; it gives the deep
# network hidden layers that pass on what the input knows, where a random initialization starts
# fine-tuning with three layers that each blur it. Erhan et al. describe the effect as a
# regularizer: pre-training starts fine-tuning in a region of weights from which the few labels
# lead to solutions that generalize better {cite}`erhan2010why`.
#
# A caution: pre-training is no longer how deep networks are usually trained. Better
# initializations {cite}`glorot2010understanding`, rectified units and normalisation made training
# from random weights work, and large labelled data sets make the regularization less needed. The
# idea lives on wherever unlabelled data is plentiful and labels are scarce.
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

# %% mystnb={"image": {"alt": "The flow graph of f = tanh(w1 x1 + w2 x2 + b) at x1 = 2, x2 = -1, w1 = -0.5, w2 = 1.5, b = 1, drawn from left to right: the five inputs, the two products, their sum, z = -1.5 and f = -0.905, each box with its value and its gradient df/d(node). The output's gradient is 1; z, the sum, the products and b get 0.181, and w1 gets 0.361."}}
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

# %% output_varies="timings" tags=["nbval-ignore-output"]
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
# Move the weight $w_1$ and the bias $b$ of the neuron and watch the values and gradients in the
# graph change; the title and the line above the graph give $z$, $f$ and $\tanh$'s local derivative
# $1 - \tanh^2 z$. Where $|z|$ is large, $\tanh$ saturates, its local derivative is close to 0, and
# every gradient upstream of it vanishes with it. On the website the controls switch between
# views precomputed for $w_1 \in \{-2, -0.5, 0.25, 1.5\}$ and $b \in \{-1, 1, 3\}$, with the other
# inputs at $x_1 = 2$, $x_2 = -1$, $w_2 = 1.5$; run the notebook for continuous sliders over all
# five. Things to try:
#
# * $w_1 = 0.25$ (with $b = 1$): $z = 0$, where $\tanh$ is steepest. Its local derivative is 1, so
#   the gradient reaches $z$, the sum and $b$ undiminished, and each product hands back its
#   partner's value: $w_1$ gets $x_1 = 2$, and $x_1$ gets $w_1 = 0.25$.
# * $w_1 = 1.5$, then $w_1 = -2$: $z$ moves away from 0 on either side, $f$ comes close to $+1$ or
#   $-1$, and all five gradients shrink to a few hundredths, then to below a thousandth.
# * $b = -1$ with $w_1 = -2$: the most saturated view; every gradient is smaller still, and a
#   gradient step would hardly move this neuron.
# * $b = 3$ with the default $w_1 = -0.5$: the bias alone carries $z$ across 0, and every gradient
#   grows about fourfold.

# %%
def explore_neuron(x1=2.0, x2=-1.0, w1=-0.5, w2=1.5, b=1.0):
    f, _ = neuron(x1, x2, w1, w2, b)
    f.backward()
    z = w1 * x1 + w2 * x2 + b
    print(f"z = {z:.2f}, f = tanh z = {f.data:.3f}, local derivative 1 - tanh^2 z = {1 - f.data**2:.3g}")
    fig, ax = plt.subplots(figsize=FIGSIZE_WIDE)
    draw_graph(f, ax=ax, title=f"z = {z:.2f}, f = {f.data:.3f}, 1 - tanh^2 z = {1 - f.data**2:.3g}")
    return fig


# %% output_varies="widget" tags=["nbval-ignore-output"]
def slider(name, value):
    return widgets.FloatSlider(value=value, min=-3, max=3, step=0.1, description=name, continuous_update=False)


explorer(
    explore_neuron,
    alt=lambda x1, x2, w1, w2, b: (
        f"The flow graph of f = tanh(w1 x1 + w2 x2 + b) at x1 = {x1:g}, x2 = {x2:g}, w1 = {w1:g}, w2 = {w2:g}, b = {b:g}, "
        f"so z = {w1 * x1 + w2 * x2 + b:g}: one box per node, from the inputs on the left to f on the right, each with its "
        f"value and its gradient df/d(node)."),
    x1=Choice([2.0], 2.0, "x1", live=slider("x1", 2.0)),
    x2=Choice([-1.0], -1.0, "x2", live=slider("x2", -1.0)),
    w1=Choice([-2.0, -0.5, 0.25, 1.5], -0.5, "w1", live=slider("w1", -0.5)),
    w2=Choice([1.5], 1.5, "w2", live=slider("w2", 1.5)),
    b=Choice([-1.0, 1.0, 3.0], 1.0, "b", live=slider("b", 1.0)),
)

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
# * Greedy layer-wise pre-training trains one denoising autoencoder per layer on unlabelled data
#   (a new corruption mask at every presentation), stacks the encoders, and fine-tunes the whole
#   network with the labels.
# * On the digits with a $64 \to 64 \to 64 \to 64 \to 10$ $\tanh$ network and three seeds, it beat
#   random initialization in all nine runs: mean test accuracy 0.6177 against 0.5776 with 20
#   labels, 0.7840 against 0.7387 with 50, 0.8537 against 0.8263 with 100. Supervised greedy
#   pre-training, a temporary softmax per stage trained on the few labels, lost to it on every run
#   and was no reliable improvement over random initialization.
# * A linear probe per layer shows why: random $\tanh$ layers lose linearly readable information
#   at every layer (0.8471 at the input, 0.7550 after three layers), pre-trained layers keep it.
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
