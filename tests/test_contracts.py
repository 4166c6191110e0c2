"""The library's contracts for hostile but realistic input, table-driven.

Each probe is ``(call, expected exception type, the argument its message must name)``: a bad
argument raises ``TypeError`` (wrong kind) or ``ValueError`` (out of range, not finite, too large
for memory), and the message names the argument, never an error from deep inside torch or NumPy
and never a silently wrong result. Requests that cannot fit in memory are refused before anything
is allocated (``effdnn_lib.checks.check_fits_in_memory``). Below the table: the model is put back on
every exit of ``train`` and ``lr_range_test``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from effdnn_lib import autodiff, cascade, hardware, memory, surfaces, training
from effdnn_lib.autodiff import Value
from effdnn_lib.data import Split, load_digits, load_shifted_digits, mackey_glass, relabel
from effdnn_lib.device import DeviceUnavailableError, resolve_device
from effdnn_lib.training import (
    CosineAnnealing,
    EarlyStopping,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    ReduceOnPlateau,
    StepDecay,
    TrainingDiverged,
    accuracy,
    lr_range_test,
    train,
)

X, Y = torch.randn(64, 4), torch.randint(0, 3, (64,))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def _train(data, **kwargs):
    model = _model()
    return train(model, torch.optim.SGD(model.parameters(), lr=0.1), data, **{"epochs": 1, "device": "cpu", **kwargs})


def _nan_x():
    x = X.clone()
    x[3, 1] = math.nan
    return x


NO_CUDA = not torch.cuda.is_available()

PROBES = [
    # -- schedules: negative or fractional time, non-numbers
    ("LinearWarmup(-3)", lambda: LinearWarmup(CosineAnnealing(0.1, 10), 2)(-3), ValueError, "t"),
    ("ExponentialDecay(-10)", lambda: ExponentialDecay(0.1, 0.5)(-10), ValueError, "t"),
    ("StepDecay(2.5)", lambda: StepDecay(0.1, 2)(2.5), TypeError, "t"),
    ("CosineAnnealing(-1)", lambda: CosineAnnealing(0.1, 10)(-1), ValueError, "t"),
    ("CosineAnnealing(eta0='0.1')", lambda: CosineAnnealing("0.1", 10), TypeError, "eta0"),
    ("StepDecay(gamma=nan)", lambda: StepDecay(0.1, 2, gamma=math.nan), ValueError, "gamma"),
    ("InverseTimeDecay(-1)", lambda: InverseTimeDecay(0.1, 5)(-1), ValueError, "t"),
    ("InverseTimeDecay(2.5)", lambda: InverseTimeDecay(0.1, 5)(2.5), TypeError, "t"),
    ("InverseTimeDecay(tau=2.5)", lambda: InverseTimeDecay(0.1, 2.5), TypeError, "tau"),
    ("InverseTimeDecay(tau=-3)", lambda: InverseTimeDecay(0.1, -3), ValueError, "tau"),
    ("InverseTimeDecay(eta0=inf)", lambda: InverseTimeDecay(math.inf, 5), ValueError, "eta0"),
    ("ReduceOnPlateau(patience=1.5)", lambda: ReduceOnPlateau(0.1, patience=1.5), TypeError, "patience"),
    ("ReduceOnPlateau.step(nan)", lambda: ReduceOnPlateau(0.1).step(math.nan), ValueError, "loss"),
    ("EarlyStopping(min_delta=nan)", lambda: EarlyStopping(2, min_delta=math.nan), ValueError, "min_delta"),
    ("EarlyStopping(min_delta='0')", lambda: EarlyStopping(2, min_delta="0"), TypeError, "min_delta"),
    ("EarlyStopping(patience=0)", lambda: EarlyStopping(0), ValueError, "patience"),
    # -- train / evaluate / accuracy / lr_range_test: the data
    ("train(mismatched lengths)", lambda: _train((X[:32], Y)), ValueError, "x and y"),
    ("train(list data)", lambda: _train((X.tolist(), Y)), TypeError, "x"),
    ("train(ndarray data)", lambda: _train((X.numpy(), Y)), TypeError, "x"),
    ("train(empty data)", lambda: _train((X[:0], Y[:0])), ValueError, "empty"),
    ("train(NaN in x)", lambda: _train((_nan_x(), Y)), ValueError, "NaN"),
    ("train(NaN in val x)", lambda: _train((X, Y), val_data=(_nan_x(), Y)), ValueError, "val_data"),
    ("train(data=3)", lambda: _train(3), TypeError, "train_data"),
    ("train(epochs='2')", lambda: _train((X, Y), epochs="2"), TypeError, "epochs"),
    ("train(epochs=0)", lambda: _train((X, Y), epochs=0), ValueError, "epochs"),
    ("train(batch_size=-1)", lambda: _train((X, Y), batch_size=-1), ValueError, "batch_size"),
    ("train(device='tpu')", lambda: _train((X, Y), device="tpu"), ValueError, "device"),
    ("train(device=3.0)", lambda: _train((X, Y), device=3.0), TypeError, "device"),
    ("train(schedule_unit='batch')", lambda: _train((X, Y), schedule_unit="batch"), ValueError, "schedule_unit"),
    ("train(patience without val)", lambda: _train((X, Y), patience=2), ValueError, "val_data"),
    ("accuracy(empty)", lambda: accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)), ValueError, "empty"),
    ("accuracy(mismatched)", lambda: accuracy(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long)), ValueError, "logits"),
    ("accuracy(list)", lambda: accuracy([[0.1, 0.9]], torch.zeros(1, dtype=torch.long)), TypeError, "logits"),
    ("lr_range_test(lr_max<lr_min)", lambda: lr_range_test(_model(), torch.optim.SGD(_model().parameters(), lr=0.1), (X, Y), lr_min=1.0, lr_max=0.1), ValueError, "lr_max"),
    ("lr_range_test(steps=1)", lambda: lr_range_test(_model(), torch.optim.SGD(_model().parameters(), lr=0.1), (X, Y), steps=1), ValueError, "steps"),
    ("lr_range_test(mismatched)", lambda: lr_range_test(_model(), torch.optim.SGD(_model().parameters(), lr=0.1), (X, Y[:5])), ValueError, "x and y"),
    # -- data sets
    ("load_digits(test_fraction='0.25')", lambda: load_digits(test_fraction="0.25"), TypeError, "test_fraction"),
    ("load_digits(test_fraction=1.5)", lambda: load_digits(test_fraction=1.5), ValueError, "test_fraction"),
    ("load_digits(val_fraction=nan)", lambda: load_digits(val_fraction=math.nan), ValueError, "val_fraction"),
    ("load_digits(seed=-1)", lambda: load_digits(seed=-1), ValueError, "seed"),
    ("load_digits(images='yes')", lambda: load_digits(images="yes"), TypeError, "images"),
    ("Split(mismatched)", lambda: Split(torch.zeros(5, 2), torch.zeros(3)), ValueError, "Split"),
    ("Split(ndarray)", lambda: Split(np.zeros((5, 2)), torch.zeros(5)), TypeError, "Split.x"),
    ("relabel(fraction=2)", lambda: relabel(Y, 2.0, seed=0), ValueError, "fraction"),
    ("relabel(float labels)", lambda: relabel(torch.zeros(4), 0.5, seed=0), TypeError, "y"),
    ("load_shifted_digits(canvas=256, copies=100)", lambda: load_shifted_digits(canvas=256, copies=100), ValueError, "copies"),
    ("load_shifted_digits(canvas='16')", lambda: load_shifted_digits(canvas="16"), TypeError, "canvas"),
    ("mackey_glass(1e11)", lambda: mackey_glass(1e11), ValueError, "t_max"),
    ("mackey_glass(t_max=nan)", lambda: mackey_glass(math.nan), ValueError, "t_max"),
    ("mackey_glass(t_max='10')", lambda: mackey_glass("10"), TypeError, "t_max"),
    ("mackey_glass(history='linear')", lambda: mackey_glass(10, history="linear"), ValueError, "history"),
    # -- surfaces
    ("IllConditionedQuadratic(dim=10**12)", lambda: surfaces.IllConditionedQuadratic(dim=10**12), ValueError, "dim"),
    ("IllConditionedQuadratic(condition_number=inf)", lambda: surfaces.IllConditionedQuadratic(math.inf), ValueError, "condition_number"),
    ("IllConditionedQuadratic(mu=nan)", lambda: surfaces.IllConditionedQuadratic(mu=math.nan), ValueError, "mu"),
    ("IllConditionedQuadratic(dim=2.0)", lambda: surfaces.IllConditionedQuadratic(dim=2.0), TypeError, "dim"),
    ("Rosenbrock(a=nan)", lambda: surfaces.Rosenbrock(a=math.nan), ValueError, "a"),
    ("Rosenbrock(b=inf)", lambda: surfaces.Rosenbrock(b=math.inf), ValueError, "b"),
    ("optimize(n_steps=10**12)", lambda: surfaces.optimize(surfaces.Rosenbrock(), lambda p: torch.optim.SGD(p, lr=1e-3), n_steps=10**12), ValueError, "n_steps"),
    ("optimize(n_steps=-1)", lambda: surfaces.optimize(surfaces.Rosenbrock(), lambda p: torch.optim.SGD(p, lr=1e-3), n_steps=-1), ValueError, "n_steps"),
    ("optimize(start=[nan, nan])", lambda: surfaces.optimize(surfaces.Rosenbrock(), lambda p: torch.optim.SGD(p, lr=1e-3), start=[math.nan, math.nan]), ValueError, "start"),
    ("optimize(start 3 coords)", lambda: surfaces.optimize(surfaces.Rosenbrock(), lambda p: torch.optim.SGD(p, lr=1e-3), start=[0.0, 0.0, 0.0]), ValueError, "theta"),
    ("optimize(blow_up=nan)", lambda: surfaces.optimize(surfaces.Rosenbrock(), lambda p: torch.optim.SGD(p, lr=1e-3), blow_up=math.nan), ValueError, "blow_up"),
    ("optimize(surface='rosenbrock')", lambda: surfaces.optimize("rosenbrock", lambda p: torch.optim.SGD(p, lr=1e-3)), TypeError, "surface"),
    ("optimize(make_optimizer=SGD instance)", lambda: surfaces.optimize(surfaces.Rosenbrock(), 0.01), TypeError, "make_optimizer"),
    ("plot_contours(n=10**6)", lambda: surfaces.plot_contours(None, surfaces.Rosenbrock(), n=10**6), ValueError, "n"),
    ("plot_contours(n=1)", lambda: surfaces.plot_contours(None, surfaces.Rosenbrock(), n=1), ValueError, "n"),
    ("plot_contours(levels='25')", lambda: surfaces.plot_contours(None, surfaces.Rosenbrock(), levels="25"), TypeError, "levels"),
    ("plot_contours(label_every=-1)", lambda: surfaces.plot_contours(None, surfaces.Rosenbrock(), label_every=-1), ValueError, "label_every"),
    # -- memory and hardware helpers
    ("make_mlp([40000] * 42)", lambda: memory.make_mlp([40000] * 42), ValueError, "make_mlp"),
    ("make_mlp('784')", lambda: memory.make_mlp("784"), TypeError, "widths"),
    ("mlp_memory(batch_size=-1)", lambda: memory.mlp_memory([10, 2], -1), ValueError, "batch_size"),
    ("mlp_memory(bytes_per_number=-4)", lambda: memory.mlp_memory([10, 2], 1, bytes_per_number=-4), ValueError, "bytes_per_number"),
    ("optimizer_state_bytes_predicted(-5)", lambda: memory.optimizer_state_bytes_predicted(-5, 1, "adam"), ValueError, "n_parameters"),
    ("largest_batch_that_fits(budget=1.5)", lambda: memory.largest_batch_that_fits([10, 2], 1.5), TypeError, "budget_bytes"),
    ("measure_training_memory(batch_size=0)", lambda: memory.measure_training_memory([10, 2], 0), ValueError, "batch_size"),
    ("format_bytes('1')", lambda: memory.format_bytes("1"), TypeError, "n"),
    ("time_matmul(300000)", lambda: hardware.time_matmul(300000), ValueError, "n"),
    ("time_matmul(dtype=int)", lambda: hardware.time_matmul(4, dtype=torch.int64), TypeError, "dtype"),
    ("matmul_throughput(8)", lambda: hardware.matmul_throughput(8), TypeError, "sizes"),
    # -- autodiff
    ("Value(2) ** Value(3)", lambda: Value(2) ** Value(3), TypeError, "exponent"),
    ("Value(1000).exp()", lambda: Value(1000).exp(), ValueError, "exp"),
    ("Value('2')", lambda: Value("2"), TypeError, "data"),
    ("Value(1) + 'a'", lambda: Value(1) + "a", TypeError, "operand"),
    ("Value(-1).log()", lambda: Value(-1.0).log(), ValueError, "log"),
    ("Value(1) / 0", lambda: Value(1) / 0, ZeroDivisionError, "division"),
    # -- the cascade's plateau rule
    ("PlateauRule(min_lr=1.0)", lambda: cascade.PlateauRule(0.1, min_lr=1.0), ValueError, "min_lr"),
    ("PlateauRule(min_lr=nan)", lambda: cascade.PlateauRule(0.1, min_lr=math.nan), ValueError, "min_lr"),
    ("PlateauRule(factor=True)", lambda: cascade.PlateauRule(0.1, factor=True), TypeError, "factor"),
    ("epochs_for_layer(0)", lambda: cascade.epochs_for_layer(0, 3, 1), ValueError, "layer_index"),
    # -- devices
    ("resolve_device('gpu')", lambda: resolve_device("gpu"), ValueError, "device"),
]
if NO_CUDA:
    PROBES += [
        ("train(device='cuda') without a GPU", lambda: _train((X, Y), device="cuda"), DeviceUnavailableError, "device"),
        ("time_matmul(device='cuda') without a GPU", lambda: hardware.time_matmul(4, device="cuda"), DeviceUnavailableError, "device"),
    ]


@pytest.mark.parametrize("call,error,argument", [p[1:] for p in PROBES], ids=[p[0] for p in PROBES])
def test_bad_input_raises_a_clear_error_naming_the_argument(call, error, argument):
    with pytest.raises(error) as info:
        call()
    assert argument in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "call,what",
    [
        (lambda: surfaces.IllConditionedQuadratic(dim=10**9), "dim=1000000000"),
        (lambda: mackey_glass(1e8), "t_max=1e+08"),
        (lambda: surfaces.plot_contours(None, surfaces.Rosenbrock(), n=20000), "n=20000"),
        (lambda: memory.make_mlp([40000, 40000]), "40000"),
        (lambda: hardware.time_matmul(30000), "n=30000"),
    ],
)
def test_the_issues_sizes_are_refused_on_a_machine_with_16_gb(call, what, monkeypatch):
    import effdnn_lib.checks

    monkeypatch.setattr(effdnn_lib.checks, "available_memory_bytes", lambda: 16 * 2**30)
    with pytest.raises(ValueError, match="memory available") as info:
        call()
    assert what in str(info.value)


def test_valid_edge_values_still_work():
    assert ExponentialDecay(0.1, 0.5)(np.int64(2)) == pytest.approx(0.025)  # NumPy ints are ints
    assert cascade.PlateauRule(0.1, min_lr=0.1).step(0.5) == 0.1
    assert accuracy(torch.tensor([[0.0, 1.0]]), torch.tensor([1])) == 1.0
    assert len(mackey_glass(5.0)[1]) == 6
    assert Value(2) ** 3 == Value(2) ** 3 or True  # the constant exponent stays supported
    assert (Value(2) ** 3).data == 8.0


# ---- the model is put back on every exit ------------------------------------------------------


def _params(model):
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def test_train_that_diverges_leaves_no_blown_up_weights():
    model = _model()
    start = _params(model)
    with pytest.raises(TrainingDiverged):
        train(model, torch.optim.SGD(model.parameters(), lr=1e4), (X, Y * 1), epochs=3, batch_size=8, device="cpu")
    assert torch.isfinite(_params(model)).all()
    assert torch.equal(_params(model), start)  # it diverged in the first epoch: back to the start


def test_train_that_diverges_after_early_stopping_found_a_best_restores_it():
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    schedule = lambda epoch: 0.05 if epoch < 3 else 1e5  # noqa: E731 - fine, then blows up
    best = {}

    def remember(m, lr):
        best.setdefault(len(best), _params(m))

    with pytest.raises(TrainingDiverged) as info:
        train(model, optimizer, (X, Y), epochs=6, batch_size=64, val_data=(X, Y), patience=5, schedule=schedule, after_step=remember, device="cpu")
    best_epoch = info.value.history.best_epoch
    assert best_epoch is not None
    assert torch.equal(_params(model), best[best_epoch - 1])  # one step per epoch: the weights after that epoch


class _Interrupt(BaseException):
    pass


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt, _Interrupt])
def test_lr_range_test_restores_model_and_optimizer_when_interrupted(error):
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    start, state = _params(model), optimizer.state_dict()
    calls = []

    def loss_fn(out, y):
        calls.append(1)
        if len(calls) == 5:
            raise error("stop")
        return nn.functional.cross_entropy(out, y)

    with pytest.raises(error):
        lr_range_test(model, optimizer, (X, Y), steps=20, loss_fn=loss_fn, device="cpu")
    assert torch.equal(_params(model), start)
    assert optimizer.state_dict() == state and len(optimizer.state) == 0
