"""Deep cascade learning (effdnn_lib.cascade) and the image data sets it trains on."""

from __future__ import annotations

import copy
import pickle
import types

import numpy as np

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from effdnn_lib.cascade import (
    PlateauRule,
    SavedTensorBytes,
    WindowPlateauRule,
    cascade_train,
    conv_blocks,
    conv_head,
    dense_head,
    epoch_schedule,
    epochs_for_layer,
    forward_in_batches,
    freeze,
    linear_head,
    mlp_blocks,
    peak_training_memory,
    train_end_to_end,
    trainable_parameter_count,
    weight_gradient_norms,
)
from effdnn_lib.data import Split, load_cifar10, load_shifted_digits
from effdnn_lib.memory import mlp_memory, saved_activation_bytes

CPU = torch.device("cpu")


def tiny_images(n_train=96, n_val=32, n_test=32, size=8, seed=0) -> dict[str, Split]:
    """Two classes of 8 x 8 images: a bright blob in the left or the right half, plus noise."""
    gen = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.randint(0, 2, (n,), generator=gen)
        x = 0.3 * torch.randn(n, 1, size, size, generator=gen)
        cols = torch.where(y == 0, 1, size // 2 + 1)
        for i in range(n):
            x[i, 0, 2:5, cols[i] : cols[i] + 2] += 1.0
        return Split(x, y)

    return {"train": make(n_train), "val": make(n_val), "test": make(n_test)}


def small_head(shape):
    return conv_head(shape, n_classes=2, pooled=2)


def run_cascade(**kwargs):
    options = dict(epochs=1, k=1, lr=0.05, batch_size=16, device=CPU, seed=0)
    options.update(kwargs)
    blocks = options.pop("blocks") if "blocks" in options else conv_blocks((4, 6, 8), pool_after=(2,), seed=0)
    make_head = options.pop("make_head", small_head)
    data = options.pop("data", None) or tiny_images()
    return cascade_train(blocks, make_head, data, **options)


# ---- the epoch schedule (line 11) ----------------------------------------------------------


def test_epochs_grow_by_k_per_layer():
    assert [epochs_for_layer(layer, 3, 2) for layer in (1, 2, 3)] == [5, 7, 9]
    assert epoch_schedule(4, 2, 1) == [3, 4, 5, 6]
    assert epoch_schedule(3, 5, -1) == [4, 3, 2]  # k may be negative, as long as every layer trains
    assert epoch_schedule(2, 4, 0) == [4, 4]


@pytest.mark.parametrize(
    "args,error",
    [((0, 3, 1), ValueError), ((2, 1, -1), ValueError), ((1, 3.0, 1), TypeError), ((1, 3, "1"), TypeError), ((True, 3, 1), ValueError)],
)
def test_epoch_schedule_bad_input(args, error):
    with pytest.raises(error, match="layer_index|epochs|k"):
        epochs_for_layer(*args)


def test_stage_history_follows_the_schedule():
    result = run_cascade(epochs=1, k=2)
    assert [s.epochs for s in result.stages] == [3, 5, 7] == epoch_schedule(3, 1, 2)
    for s in result.stages:
        assert len(s.lrs) == len(s.train_loss) == len(s.val_error) == s.epochs


# ---- the plateau rule (lines 14-16) against torch's ReduceLROnPlateau ----------------------


@pytest.mark.parametrize("patience,threshold", [(0, 0.0), (1, 1e-3), (2, 0.05), (3, 0.0)])
def test_plateau_rule_matches_torch_scheduler(patience, threshold):
    rng = np.random.default_rng(patience)
    errors = np.concatenate([np.linspace(0.9, 0.3, 8), 0.3 + 0.02 * rng.standard_normal(30), np.full(5, 0.25)])
    rule = PlateauRule(0.1, patience=patience, threshold=threshold)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.1, patience=patience, threshold=threshold, threshold_mode="abs", cooldown=0, eps=0.0
    )
    ours, theirs = [], []
    for e in errors:
        ours.append(rule.step(float(e)))
        reference.step(float(e))
        theirs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert min(ours) < 0.1  # the sequence above does plateau


def test_plateau_divides_by_ten_after_patience_bad_epochs():
    rule = PlateauRule(1.0, patience=2, threshold=0.0)
    assert [rule.step(e) for e in (0.5, 0.5, 0.5, 0.5, 0.4, 0.4)] == [1.0, 1.0, 1.0, 0.1, 0.1, 0.1]


def test_learning_rates_in_the_history_follow_the_plateau_rule():
    result = run_cascade(epochs=4, k=0, lr=0.05, patience=0, threshold=0.5)  # every epoch after the first is a plateau
    for s in result.stages:
        replay = PlateauRule(0.05, patience=0, threshold=0.5)
        expected = [0.05] + [replay.step(e) for e in s.val_error[:-1]]
        np.testing.assert_allclose(s.lrs, expected)
        np.testing.assert_allclose(s.lrs, [0.05, 0.05, 0.005, 0.0005])  # the first epoch sets the best error


def test_reset_lr_false_carries_the_rate_over():
    result = run_cascade(epochs=2, k=0, patience=0, threshold=0.5, reset_lr=False)
    first, second = result.stages[0], result.stages[1]
    assert first.lrs == pytest.approx([0.05, 0.05]) and second.lrs == pytest.approx([0.005, 0.005])


@pytest.mark.parametrize(
    "kwargs", [dict(lr=0.0), dict(patience=-1), dict(threshold=1.5), dict(factor=1.0), dict(min_lr=-1.0)]
)
def test_plateau_rule_bad_input(kwargs):
    options = dict(lr=0.1) | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PlateauRule(**options)


def test_plateau_rule_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        PlateauRule(0.1).step(float("nan"))


# ---- the authors' window rule and output block (github.com/EnriqueSMarquez/CascadeLearning) ----


def authors_rule(accuracies, lr, patience, window_size):
    """A line-by-line transcription of LearningRateC.on_epoch_end in the authors' utils.py
    (counter, learningChanges, the mean of the last window against the window before)."""
    history, counter, changes, lrs = [], 0, 0, []
    for acc in accuracies:
        history.append(acc)
        counter += 1
        if counter > patience:
            if np.mean(history[-window_size:]) <= np.mean(history[-2 * window_size : -window_size]):
                changes += 1
                lr = lr * 0.1
                counter = 0
            if changes > 3:
                lrs.append(lr)
                return lrs, True
        lrs.append(lr)
    return lrs, False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_rule_matches_the_authors_callback(seed):
    rng = np.random.default_rng(seed)
    accuracies = np.concatenate([np.linspace(0.2, 0.8, 12), 0.8 + 0.01 * rng.standard_normal(60)])
    expected, stopped = authors_rule(accuracies, 0.01, patience=10, window_size=5)
    rule = WindowPlateauRule(0.01)
    ours = []
    for acc in accuracies:
        ours.append(rule.step(1.0 - acc))
        if rule.stop:
            break
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert rule.stop == stopped and rule.drops == sum(b < a for a, b in zip([0.01] + ours, ours))


def test_window_rule_waits_then_drops_and_stops():
    rule = WindowPlateauRule(1.0, wait=3, window=2, max_drops=1)
    lrs = [rule.step(0.5) for _ in range(3)]  # flat, but the rule only looks after `wait` epochs
    assert lrs == [1.0] * 3 and not rule.stop
    assert rule.step(0.5) == pytest.approx(0.1) and not rule.stop  # 4th epoch: mean not above, drop
    assert [rule.step(0.4) for _ in range(3)] == pytest.approx([0.1] * 3)  # waiting again
    assert [rule.step(0.3) for _ in range(3)] == pytest.approx([0.1] * 3)  # the last window is above the one before
    assert not rule.stop
    assert rule.step(0.3) == pytest.approx(0.01) and rule.stop  # flat again: second drop > max_drops


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(lr=0.0), "lr"), (dict(window=0), "window"), (dict(wait=-1), "wait"), (dict(wait=3, window=5), "wait"),
     (dict(max_drops=-1), "max_drops"), (dict(factor=1.0), "factor"), (dict(window=2.5), "window")],
)
def test_window_rule_bad_input(kwargs, match):
    options = dict(lr=0.1) | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        WindowPlateauRule(**options)


def test_trainers_accept_the_window_rule_and_stop_early():
    rule = lambda lr: WindowPlateauRule(lr, wait=1, window=1, max_drops=0)  # noqa: E731
    result = run_cascade(epochs=6, k=0, plateau_rule=rule, threshold=0.5)
    for s in result.stages:
        assert s.epochs == 6 and 2 <= len(s.lrs) <= 6 and len(s.lrs) == len(s.val_error) == len(s.train_loss)
        assert s.lrs[0] == pytest.approx(0.05)  # every stage starts again from lr (reset_lr)
    data = tiny_images()
    blocks = conv_blocks((4,), pool_after=(), seed=0)
    record = train_end_to_end(blocks, small_head((4, 8, 8)), data, epochs=5, plateau_rule=rule, batch_size=16, device=CPU)
    assert 2 <= len(record.lrs) <= 5
    with pytest.raises(TypeError, match="plateau_rule"):
        run_cascade(plateau_rule=3)
    with pytest.raises(TypeError, match="plateau_rule"):
        run_cascade(plateau_rule=lambda lr: 3)


def test_default_rule_is_unchanged_by_the_option():
    a = run_cascade(epochs=2, k=0)
    b = run_cascade(epochs=2, k=0, plateau_rule=lambda lr: PlateauRule(lr, patience=1, threshold=1e-3))
    assert [s.lrs for s in a.stages] == [s.lrs for s in b.stages]
    assert [s.test_acc for s in a.stages] == [s.test_acc for s in b.stages]


def test_dense_head_is_the_authors_block():
    head = dense_head((8, 3, 3))
    kinds = [type(m).__name__ for m in head]
    assert kinds == ["Flatten", "Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]
    assert [m.out_features for m in head if isinstance(m, nn.Linear)] == [512, 256, 10]
    assert head[2].in_features == 72 and all(m.p == 0.5 for m in head if isinstance(m, nn.Dropout))
    assert head(torch.zeros(4, 8, 3, 3)).shape == (4, 10)
    result = run_cascade(epochs=1, k=0, make_head=lambda shape: dense_head(shape, n_classes=2, hidden=(16, 8)))
    assert all(0 <= s.test_acc <= 1 for s in result.stages)
    for bad, match in [(dict(hidden=()), "hidden"), (dict(dropout=1.0), "dropout"), (dict(n_classes=1), "n_classes")]:
        with pytest.raises(ValueError, match=match):
            dense_head((8, 3, 3), **bad)


# ---- frozen layers, cached pseudo-inputs ---------------------------------------------------


@pytest.mark.parametrize("cache", [True, False])
def test_frozen_layers_stay_unchanged(cache):
    torch.manual_seed(0)
    blocks = [
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()),  # with running statistics
        nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.ReLU()),
    ]
    snapshots = []  # make_head runs at the start of every stage: record the blocks trained so far

    def make_head(shape):
        snapshots.append([copy.deepcopy(b.state_dict()) for b in blocks[: len(snapshots)]])
        return small_head(shape)

    result = run_cascade(blocks=blocks, make_head=make_head, epochs=2, k=0, cache_pseudo_inputs=cache)
    final = [b.state_dict() for b in result.blocks]
    assert len(snapshots) == 3 and len(snapshots[2]) == 2
    for stage_snapshot in snapshots[1:]:
        for before, after in zip(stage_snapshot, final):
            for name in before:
                assert torch.equal(before[name], after[name]), f"frozen tensor {name} changed"
    for b in result.blocks:
        assert not b.training and not any(p.requires_grad for p in b.parameters())


def test_stage_one_trains_the_first_block():
    blocks = conv_blocks((4, 6), pool_after=(), seed=0)
    before = blocks[0][0].weight.detach().clone()
    run_cascade(blocks=blocks, epochs=1, k=0)
    assert not torch.allclose(before, blocks[0][0].weight)


def test_cached_pseudo_inputs_equal_a_fresh_forward_pass():
    data = tiny_images()
    result = run_cascade(data=data, epochs=1, k=1)
    stack = nn.Sequential(*result.blocks)
    for name in ("train", "val", "test"):
        fresh = stack(data[name].x)  # one pass, the whole split at once, no caching
        torch.testing.assert_close(result.pseudo_inputs[name], fresh, rtol=1e-5, atol=1e-6)


def test_cache_and_no_cache_give_the_same_training():
    cached = run_cascade(epochs=2, k=0)
    fresh = run_cascade(epochs=2, k=0, cache_pseudo_inputs=False)
    for a, b in zip(cached.stages, fresh.stages):
        np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-4)
        assert a.val_error == pytest.approx(b.val_error, abs=1e-9) and a.test_acc == pytest.approx(b.test_acc)
    assert cached.stages[0].cache_bytes > 0 and fresh.stages[0].cache_bytes == 0
    for ba, bb in zip(cached.blocks, fresh.blocks):
        for pa, pb in zip(ba.parameters(), bb.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_deterministic_for_a_seed():
    a, b = run_cascade(seed=3), run_cascade(seed=3)
    assert [s.train_loss for s in a.stages] == [s.train_loss for s in b.stages]


# ---- per-stage history, memory, end to end -------------------------------------------------


def test_per_stage_history():
    data = tiny_images(n_train=192, seed=1)
    result = run_cascade(data=data, epochs=3, k=1)
    assert [s.layer for s in result.stages] == [1, 2, 3]
    for s, block, head in zip(result.stages, result.blocks, result.heads):
        assert 0 <= s.test_acc <= 1 and 0 <= s.train_acc <= 1 and s.seconds > 0
        assert s.trainable_params == sum(p.numel() for p in block.parameters()) + sum(p.numel() for p in head.parameters())
        assert s.peak_mem_bytes > 0
        assert s.cache_bytes == sum(x.numel() * 4 for x in (forward_in_batches(nn.Sequential(*result.blocks[: s.layer]), data[n].x) for n in ("train", "val", "test")))
    assert result.stages[-1].test_acc > 0.9  # the task is easy: the cascade must solve it
    assert result.total_seconds == pytest.approx(sum(s.seconds for s in result.stages))
    net = result.network()
    assert accuracy_of(net, data["test"]) == pytest.approx(result.stages[-1].test_acc)
    assert accuracy_of(result.network(1), data["test"]) == pytest.approx(result.stages[0].test_acc)
    assert result.stages[0].as_dict()["layer"] == 1


def accuracy_of(model, split):
    with torch.no_grad():
        return (model(split.x).argmax(1) == split.y).float().mean().item()


def test_cpu_peak_memory_matches_the_mlp_formula():
    """A cascade stage of a ReLU MLP: activations + parameters + gradients + momentum, to the byte."""
    widths, batch = [12, 20, 3], 16
    torch.manual_seed(0)
    model = nn.Sequential(nn.Sequential(nn.Linear(12, 20), nn.ReLU()), linear_head((20,), n_classes=3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(batch, 12), torch.randint(0, 3, (batch,))
    with SavedTensorBytes(model) as saved:
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert saved.total == saved_activation_bytes(model, F.cross_entropy, x, y)
    assert peak_training_memory(model, opt, saved.total) == mlp_memory(widths, batch, "momentum").total


def test_saved_tensor_bytes_agrees_with_the_memory_module_on_a_cnn():
    torch.manual_seed(0)
    model = nn.Sequential(*conv_blocks((4, 8), pool_after=(1,)), conv_head((8, 4, 4)))
    x, y = torch.randn(5, 1, 8, 8), torch.randint(0, 10, (5,))
    with SavedTensorBytes(model) as saved:
        F.cross_entropy(model(x), y)
    assert saved.total == saved_activation_bytes(model, F.cross_entropy, x, y) > 0


def test_stage_one_is_a_plain_training_loop_even_with_batch_norm():
    """Stage 1 equals a hand-written torch loop (SGD with momentum, one pass over shuffled
    mini-batches). With batch norm in the block this also shows that measuring the memory and
    warming up run no extra training-mode forward pass: the running statistics agree."""
    def make_block():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())

    data = tiny_images()
    block = make_block()
    run_cascade(blocks=[block], epochs=0, k=1)  # i_1 = 1 epoch

    reference = make_block()
    torch.manual_seed(1)  # cascade_train seeds (seed + layer) before calling make_head
    model = nn.Sequential(reference, small_head((4, 8, 8)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = torch.randperm(len(data["train"].y), generator=torch.Generator().manual_seed(1))  # and shuffles with it
    model.train()
    for i in range(0, len(order), 16):
        idx = order[i : i + 16]
        loss = F.cross_entropy(model(data["train"].x[idx]), data["train"].y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(block.state_dict()[name], value, msg=name)


def test_every_stage_needs_less_memory_than_end_to_end():
    data = tiny_images()
    result = run_cascade(data=data, blocks=conv_blocks((4, 8, 8), pool_after=(1, 2), seed=0))
    blocks = conv_blocks((4, 8, 8), pool_after=(1, 2), seed=0)
    e2e = train_end_to_end(blocks, small_head((8, 2, 2)), data, epochs=2, lr=0.05, batch_size=16, device=CPU)
    assert all(s.peak_mem_bytes < e2e.peak_mem_bytes for s in result.stages)
    assert all(s.trainable_params < e2e.trainable_params for s in result.stages)
    assert e2e.trainable_params == trainable_parameter_count(nn.Sequential(*blocks)) + 8 * 4 * 2 + 2


def test_end_to_end_unfreezes_for_fine_tuning():
    data = tiny_images()
    result = run_cascade(data=data)
    blocks, head = copy.deepcopy(result.blocks), copy.deepcopy(result.heads[-1])
    before = blocks[0][0].weight.detach().clone()
    record = train_end_to_end(blocks, head, data, epochs=2, lr=0.01, batch_size=16, device=CPU)
    assert record.trainable_params == sum(p.numel() for p in blocks[0].parameters()) + sum(
        p.numel() for b in blocks[1:] for p in b.parameters()
    ) + sum(p.numel() for p in head.parameters())
    assert not torch.equal(before, blocks[0][0].weight)
    assert torch.equal(result.blocks[0][0].weight, before)  # the cascade's own blocks are untouched
    assert len(record.lrs) == 2 and 0 <= record.test_acc <= 1


def test_divergence_ends_with_a_readable_message():
    with pytest.raises(FloatingPointError, match="diverged.*Lower the learning rate"):
        run_cascade(lr=1e12, momentum=0.0)


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(blocks=[]), TypeError, "blocks"),
        (dict(blocks=["conv"]), TypeError, "blocks"),
        (dict(make_head="head"), TypeError, "make_head"),
        (dict(make_head=lambda shape: 3), TypeError, "make_head"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(momentum=1.0), ValueError, "momentum"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(epochs=1, k=-1), ValueError, "epochs"),
        (dict(data={"train": tiny_images()["train"]}), ValueError, "val"),
        (dict(data={"train": None, "val": None, "test": None}), TypeError, "train"),
        (dict(data=[1, 2]), TypeError, "data"),
    ],
)
def test_cascade_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        run_cascade(**kwargs)


def test_cascade_rejects_a_single_module_and_bad_splits():
    data = tiny_images()
    with pytest.raises(TypeError, match="sequence"):
        cascade_train(nn.Conv2d(1, 2, 3), small_head, data, device=CPU)
    bad = dict(data, val=Split(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="val"):
        cascade_train(conv_blocks((2,), pool_after=()), small_head, bad, device=CPU)
    with pytest.raises(ValueError, match="Split"):  # a misaligned split is refused when it is made
        Split(torch.zeros(3, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    misaligned = types.SimpleNamespace(x=torch.zeros(3, 1, 8, 8), y=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="test"):  # and so is anything Split-like that is misaligned
        cascade_train(conv_blocks((2,), pool_after=()), small_head, dict(data, test=misaligned), device=CPU)
    with pytest.raises(ValueError, match="epochs"):
        train_end_to_end(conv_blocks((2,), pool_after=()), small_head((2, 8, 8)), data, epochs=0, device=CPU)
    with pytest.raises(TypeError, match="head"):
        train_end_to_end(conv_blocks((2,), pool_after=()), "head", data, epochs=1, device=CPU)


def test_network_builders_bad_input():
    with pytest.raises(ValueError, match="channels"):
        conv_blocks(())
    with pytest.raises(ValueError, match="pool_after"):
        conv_blocks((4, 4), pool_after=(3,))
    with pytest.raises(ValueError, match="feature_shape"):
        conv_head((4, 4))
    with pytest.raises(ValueError, match="init"):
        mlp_blocks([4, 4], init="lecun")
    with pytest.raises(ValueError, match="widths"):
        mlp_blocks([4])


# ---- the vanishing gradient ------------------------------------------------------------------


def test_weight_gradient_norms_match_the_closed_form():
    """For softmax regression, dJ/dW = (softmax(W x + b) - onehot(y))^T x / B."""
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    x, y = torch.randn(7, 5), torch.randint(0, 3, (7,))
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        closed_form = (p - F.one_hot(y, 3)).T @ x / 7
    (norm,) = weight_gradient_norms(model, x, y)
    assert norm == pytest.approx(closed_form.norm().item(), rel=1e-5)
    assert model.weight.grad is None


def test_sigmoid_gradients_vanish_and_relu_with_he_init_do_not():
    torch.manual_seed(0)
    x, y = torch.randn(128, 16), torch.randint(0, 4, (128,))
    widths = [16] + [32] * 8
    norms = {}
    for act, init in ((nn.Sigmoid, "xavier"), (nn.ReLU, "he")):
        net = nn.Sequential(*mlp_blocks(widths, act, init, seed=0), linear_head((32,), n_classes=4))
        norms[act.__name__] = weight_gradient_norms(net, x, y)
    assert norms["Sigmoid"][0] < 1e-3 * norms["Sigmoid"][-1]
    assert norms["ReLU"][0] > 0.1 * norms["ReLU"][-1]


def test_freeze():
    block = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert freeze(block) is block and not block.training
    assert trainable_parameter_count(block) == 0


# ---- data ----------------------------------------------------------------------------------------


def test_shifted_digits_shapes_and_determinism():
    a = load_shifted_digits(canvas=12, digit_size=8, copies=1, seed=1)
    b = load_shifted_digits(canvas=12, digit_size=8, copies=1, seed=1)
    assert a["train"].x.shape[1:] == (1, 12, 12)
    assert sum(len(s) for s in a.values()) == 1797
    assert torch.equal(a["test"].x, b["test"].x)
    assert abs(a["train"].x.mean().item()) < 1e-4 and a["train"].x.std().item() == pytest.approx(1.0, rel=1e-3)
    c = load_shifted_digits(canvas=12, digit_size=8, copies=2, seed=1)
    assert len(c["train"]) == 2 * len(a["train"])
    assert torch.equal(c["train"].y[: len(a["train"])], c["train"].y[len(a["train"]) :])
    assert not torch.equal(c["train"].x[: len(a["train"])], c["train"].x[len(a["train"]) :])  # new positions


def test_shifted_digits_really_move():
    data = load_shifted_digits(canvas=16, digit_size=8, copies=1, noise=0.0, seed=0)
    x = data["train"].x[:200, 0]
    centres = [(img - img.min()).nonzero().float().mean(0) for img in x]
    spread = torch.stack(centres).std(0)
    assert (spread > 1.0).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(canvas=4), "canvas"), (dict(digit_size=20), "digit_size"), (dict(copies=0), "copies"), (dict(noise=-1), "noise"), (dict(test_fraction=0.0), "test_fraction"), (dict(val_fraction=0.9), "val_fraction")],
)
def test_shifted_digits_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_shifted_digits(**kwargs)


def test_cifar10_reads_local_pickles(tmp_path):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 20))}
        with open(tmp_path / name, "wb") as f:
            pickle.dump(batch, f)
    data = load_cifar10(tmp_path, val_size=10)
    assert data["train"].x.shape == (90, 3, 32, 32) and len(data["val"]) == 10 and len(data["test"]) == 20
    assert data["train"].x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert load_cifar10(tmp_path, val_size=10, limit=5)["train"].x.shape[0] == 5


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def _cifar_folder(tmp_path, batch_of):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(tmp_path / name, "wb") as f:
            pickle.dump(batch_of(name), f, protocol=pickle.HIGHEST_PROTOCOL if name == "test_batch" else 2)
    return tmp_path


def _good_batch(name, n=20):
    rng = np.random.default_rng(0)
    return {b"batch_label": name.encode(), b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": [int(v) for v in rng.integers(0, 10, n)], b"filenames": [b"x.png"] * n}


def test_cifar10_refuses_a_malicious_pickle_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = _cifar_folder(tmp_path, lambda name: {**_good_batch(name), b"data": _RunsCode()} if name == "data_batch_3" else _good_batch(name))
    with pytest.raises(ValueError, match="data_batch_3.*posix.system|data_batch_3.*os.system|data_batch_3.*refusing"):
        load_cifar10(folder, val_size=10)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "bad,match",
    [
        ({b"labels": [1, 2]}, "labels"),  # misaligned: fewer labels than images
        ({b"labels": [11] * 20}, "labels"),
        ({b"data": np.zeros((20, 100), dtype=np.uint8)}, "data"),
        ({b"data": None}, "data"),
    ],
)
def test_cifar10_refuses_batches_that_are_not_cifar(tmp_path, bad, match):
    folder = _cifar_folder(tmp_path, lambda name: {**_good_batch(name), **bad} if name == "data_batch_1" else _good_batch(name))
    with pytest.raises(ValueError, match=match):
        load_cifar10(folder, val_size=10)


def test_cifar10_refuses_truncated_and_garbage_files(tmp_path):
    folder = _cifar_folder(tmp_path, _good_batch)
    (folder / "data_batch_2").write_bytes((folder / "data_batch_1").read_bytes()[:100])
    with pytest.raises(ValueError, match="data_batch_2"):
        load_cifar10(folder, val_size=10)
    (folder / "data_batch_2").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="data_batch_2"):
        load_cifar10(folder, val_size=10)


def test_cifar10_reads_the_real_format_with_any_protocol(tmp_path):
    data = load_cifar10(_cifar_folder(tmp_path, _good_batch), val_size=10)
    assert data["train"].x.shape == (90, 3, 32, 32) and len(data["test"]) == 20


def test_cifar10_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.delenv("EFFDNN_CIFAR10", raising=False)
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        load_cifar10()
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_cifar10(tmp_path)


# ---- the GPU path (runs only where there is one) -------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cascade_on_cuda_measures_allocator_peaks():
    result = run_cascade(device=torch.device("cuda"))
    assert all(s.peak_mem_bytes > 0 for s in result.stages)
    assert result.pseudo_inputs["test"].device.type == "cuda"
