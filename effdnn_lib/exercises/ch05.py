"""Self-checks for chapter 5, *Hyperparameters*."""

from __future__ import annotations

import math

from ..training import CosineAnnealing, EarlyStopping, LinearWarmup, StepDecay
from . import Verdict, check_close, check_count, check_counts, report


def step_decay_lr(answer, eta0: float, step_size: int, gamma: float, t: int) -> Verdict:
    """Exercise 1: the learning rate of a step schedule in epoch ``t`` (counted from 0)."""
    expected = StepDecay(eta0, step_size=step_size, gamma=gamma)(t)
    hint = "eta_t = eta0 * gamma ** (t // step_size): count how many full steps of the schedule have passed."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a learning rate. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-9, hint=hint)


def warmup_cosine_lr(answer, eta0: float, warmup: int, t_max: int, t: int) -> Verdict:
    """Exercise 2: the learning rate of linear warm-up followed by cosine annealing, at step ``t``."""
    expected = LinearWarmup(CosineAnnealing(eta0, t_max=t_max), warmup=warmup)(t)
    hint = "After the warm-up the cosine starts from its own t = 0: use t - warmup in eta0 (1 + cos(pi t / T)) / 2."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a learning rate. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-9, hint=hint)


def early_stopping_epochs(answer, curve, patience: int) -> Verdict:
    """Exercise 3: ``(epoch whose weights are restored, epoch after which training stops)``, both 1-based."""
    stopper = EarlyStopping(patience)
    stop = len(curve)
    for epoch, loss in enumerate(curve, start=1):
        stopper.update(loss, epoch)
        if stopper.should_stop:
            stop = epoch
            break
    expected = (stopper.best_epoch, stop)
    hint = f"Training stops once {patience} epochs in a row have not beaten the best loss so far."
    return check_counts("Exercise 3", answer, expected, "a pair (best_epoch, stopped_epoch)", hint)


def steps_to_shrink(answer, kappa: float, factor: float) -> Verdict:
    """Exercise 4: gradient-descent steps (eta = 1/L) until the slowest error component shrinks by ``factor``."""
    expected = math.ceil(math.log(factor) / math.log(1 - 1 / kappa))
    hint = "With eta = 1/L the component along the smallest curvature mu shrinks by (1 - 1/kappa) per step."
    if answer is None:
        return report("Exercise 4", False, "Set your_answer to a number of steps. " + hint)
    return check_count("Exercise 4", answer, expected, hint=hint)
