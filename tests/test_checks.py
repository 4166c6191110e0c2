"""The shared argument checks: messages name the argument and the allowed range."""

import math

import numpy as np
import pytest

from effdnn_lib.checks import check_int, check_number


def test_numbers_in_range_come_back_as_floats():
    assert check_number("x", 3, low=0) == 3.0 and isinstance(check_number("x", 3, low=0), float)
    assert check_number("x", np.float32(0.5), low=0, high=1) == 0.5
    assert check_number("x", 0.0, low=0) == 0.0  # closed end
    assert check_number("x", 1.0, low=0, high=1) == 1.0


@pytest.mark.parametrize(
    "value,kwargs,message",
    [
        (0.0, dict(low=0, low_open=True), r"x must be a finite number > 0; got 0.0"),
        (-1, dict(low=0), r"x must be a finite number >= 0; got -1"),
        (1.0, dict(low=0, high=1, high_open=True), r"x must be in \[0, 1\); got 1.0"),
        (2.0, dict(low=0.0, high=1.0, low_open=True), r"x must be in \(0.0, 1.0\]; got 2.0"),
        (math.nan, dict(), r"x must be a finite number >= -inf; got nan"),
        (math.inf, dict(low=0), r"x must be a finite number >= 0; got inf"),
    ],
)
def test_out_of_range_numbers_are_refused_with_the_range(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_number("x", value, **kwargs)


@pytest.mark.parametrize("value", [True, "1", None, [1.0]])
def test_non_numbers_raise_type_error(value):
    with pytest.raises(TypeError, match="x must be a number"):
        check_number("x", value)


def test_ints():
    assert check_int("n", np.int64(5), 1) == 5 and type(check_int("n", np.int64(5), 1)) is int
    with pytest.raises(ValueError, match=r"n must be an int >= 1; got 0"):
        check_int("n", 0, 1)
    with pytest.raises(ValueError, match=r"n must be an int in \[1, 3\]; got 4"):
        check_int("n", 4, 1, 3)
    for bad in (True, 2.0, "2"):
        with pytest.raises(TypeError, match="n must be an int"):
            check_int("n", bad, 1)
