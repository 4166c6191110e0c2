"""Measuring what the hardware delivers: matrix-multiply throughput on the CPU or the GPU."""

from __future__ import annotations

import statistics
import time

import torch

from .checks import check_fits_in_memory, check_int, checked_by
from .device import resolve_device, synchronize


def matmul_flops(n: int) -> int:
    """Floating-point operations of an ``n x n`` by ``n x n`` product: ``n^2`` dot products of
    length ``n``, each ``n`` multiplications and ``n - 1`` additions, counted as ``2 n^3``."""
    return 2 * n**3


def time_matmul(n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, repeats: int = 5) -> float:
    """Median wall-clock seconds of one ``A @ B`` with ``A, B`` of shape ``n x n``.

    One warm-up product runs first (it pays for allocation and, on a GPU, kernel selection),
    and the GPU is synchronised around each product so the timer sees the work itself.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int; got {repeats!r}")
    gen = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    b = torch.randn(n, n, generator=gen, dtype=dtype).to(device)
    a @ b
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _check_time_matmul(args) -> None:
    n = check_int("n", args["n"], 1)
    check_int("repeats", args["repeats"], 1)
    if not isinstance(args["dtype"], torch.dtype) or not args["dtype"].is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float32; got {args['dtype']!r}")
    resolve_device(args["device"])
    element = torch.empty((), dtype=args["dtype"]).element_size()
    check_fits_in_memory(f"time_matmul(n={n})", 3 * n * n * element)  # A, B and the product


time_matmul = checked_by(_check_time_matmul)(time_matmul)


def matmul_throughput(sizes, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, repeats: int = 5) -> dict[int, float]:
    """GFLOP/s achieved by ``A @ B`` for each size ``n`` in ``sizes``."""
    if isinstance(sizes, (int, str)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a list of positive ints; got {type(sizes).__name__}")
    return {n: matmul_flops(n) / time_matmul(n, device, dtype, repeats) / 1e9 for n in sizes}


#: Bytes one float32 Adam step moves per parameter when every tensor is read or written once:
#: read the parameter, its gradient, m and v (4 x 4 B), write the parameter, m and v (3 x 4 B).
ADAM_BYTES_PER_PARAMETER = 28


def triad_bandwidth(n: int = 2**24, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """Memory bandwidth in bytes per second sustained by the triad ``a = b + 2 c`` on float32 vectors
    of ``n`` elements (McCalpin's STREAM kernel, written with torch): 12 bytes per element (read
    ``b`` and ``c``, write ``a``; a cache that first reads the line it writes moves 16), median of
    ``repeats`` after one warm-up. Choose ``n`` far larger than the caches."""
    n = check_int("n", n, 1)
    repeats = check_int("repeats", repeats, 1)
    check_fits_in_memory(f"triad_bandwidth(n={n})", 3 * 4 * n)
    b = torch.ones(n, device=device)
    c = torch.ones(n, device=device)
    a = torch.empty(n, device=device)
    times = []
    for _ in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        torch.add(b, c, alpha=2, out=a)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 12 * n / statistics.median(times[1:])


def triad(n: int, device: torch.device | str = "cpu"):
    """A callable that runs the triad ``a = b + 2 c`` on float32 vectors of ``n`` (12 bytes per element)."""
    n = check_int("n", n, 1)
    check_fits_in_memory(f"triad(n={n})", 3 * 4 * n)
    a, b, c = torch.empty(n, device=device), torch.ones(n, device=device), torch.ones(n, device=device)
    return lambda: torch.add(b, c, alpha=2, out=a)


def time_interleaved(calls: dict, repeats: int, warmup: int = 3, device: torch.device | str = "cpu") -> dict:
    """Median seconds of each callable in ``calls``, run in turn (the order reversed every other
    round) so that a machine shared with other jobs slows every one of them alike."""
    repeats = check_int("repeats", repeats, 1)
    times = {k: [] for k in calls}
    for _ in range(warmup):
        for call in calls.values():
            call()
    for i in range(repeats):
        for k in list(calls) if i % 2 == 0 else list(reversed(calls)):
            synchronize(device)
            start = time.perf_counter()
            calls[k]()
            synchronize(device)
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}
