"""The distributed job of chapter 12: one ``torchrun`` launch, one process per rank, gloo on the CPU.

Launch it the way practitioners do::

    OMP_NUM_THREADS=1 python -m torch.distributed.run --standalone --nproc_per_node=2 \\
        -m effdnn_lib.dist_job --out result.json

(:func:`effdnn_lib.distributed.run_torchrun` does exactly this from a notebook or a test.) Each rank
runs, in order:

1. **DDP equivalence**: ``DistributedDataParallel`` with a ``DistributedSampler`` and batch ``B`` per
   rank, in float64; rank 0 then replays the same global batches (``N * B`` examples each) in one
   process without DDP and compares the parameters. It also records the first step's local gradient
   of every rank and the gradient after DDP's all-reduce.
2. **ZeRO stage 1**: ``ZeroRedundancyOptimizer`` around Adam against plain Adam under DDP (float64,
   the same batches), and the bytes of optimizer state each rank keeps for a float32 model.
3. **all-reduce timing**: ``dist.all_reduce`` of float32 tensors from 64 B to 4 MiB.

Rank 0 writes everything to the JSON file named by ``--out``. ``--fail-rank R`` makes rank ``R``
exit with code 3 before it starts (the tests check that the launcher then fails with a clear message).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

WIDTHS = [64, 32, 10]
MEMORY_WIDTHS = [64, 256, 256, 256, 10]


def make_model(widths, dtype, seed: int = 0) -> nn.Sequential:
    """The same MLP on every rank: seeded initialisation, then cast to ``dtype``."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(dtype)


def digits_train(dtype) -> TensorDataset:
    from effdnn_lib.data.digits import load_digits

    train = load_digits(seed=0)["train"]
    return TensorDataset(train.x.to(dtype), train.y)


def global_batches(n_examples: int, world: int, batch: int, epoch: int, seed: int) -> list[torch.Tensor]:
    """The indices of each global step's ``world * batch`` examples, rebuilt from what
    ``DistributedSampler(shuffle=True, seed=seed)`` and ``DataLoader(drop_last=True)`` give each rank."""
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    perm = torch.randperm(n_examples, generator=g).tolist()
    per_rank = -(-n_examples // world)  # the sampler pads to a multiple of world
    perm = (perm + perm[: per_rank * world - n_examples])[: per_rank * world]
    shards = [perm[r::world] for r in range(world)]
    steps = per_rank // batch
    return [torch.tensor([i for r in range(world) for i in shards[r][k * batch:(k + 1) * batch]]) for k in range(steps)]


def max_gap(a: nn.Module, b: nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def ddp_equivalence(rank: int, world: int, batch: int, epochs: int, lr: float, seed: int = 0) -> dict:
    data = digits_train(torch.float64)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    loader = DataLoader(data, batch_size=batch, sampler=sampler, drop_last=True)
    model = DDP(make_model(WIDTHS, torch.float64, seed))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    out: dict = {"world": world, "batch_per_rank": batch, "epochs": epochs, "lr": lr}
    steps = 0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            if steps == 0:  # the local gradient of this rank, before any all-reduce
                with model.no_sync():
                    nn.functional.cross_entropy(model(x), y).backward()
                local = torch.cat([p.grad.flatten() for p in model.parameters()])
                opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            if steps == 0:
                reduced = torch.cat([p.grad.flatten() for p in model.parameters()])
            opt.step()
            steps += 1
    out["steps"] = steps
    locals_ = [torch.zeros_like(local) for _ in range(world)]
    dist.all_gather(locals_, local)
    if rank == 0:
        # one process, batch world * batch: the same global batches, no DDP
        ref = make_model(WIDTHS, torch.float64, seed)
        ref_opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=0.9)
        ref_steps = 0
        for epoch in range(epochs):
            for idx in global_batches(len(data), world, batch, epoch, seed):
                x, y = data.tensors[0][idx], data.tensors[1][idx]
                if ref_steps == 0:
                    nn.functional.cross_entropy(ref(x), y).backward()
                    full = torch.cat([p.grad.flatten() for p in ref.parameters()])
                    ref_opt.zero_grad()
                ref_opt.zero_grad()
                nn.functional.cross_entropy(ref(x), y).backward()
                ref_opt.step()
                ref_steps += 1
        mean_local = torch.stack(locals_).mean(0)
        out.update(
            reference_steps=ref_steps,
            max_parameter_gap=max_gap(model.module, ref),
            local_gradient_norms=[g.norm().item() for g in locals_],
            local_gradients_relative_gap=((locals_[0] - locals_[1]).norm() / mean_local.norm()).item() if world > 1 else 0.0,
            reduced_gradient_norm=reduced.norm().item(),
            reduced_minus_mean_of_locals=(reduced - mean_local).abs().max().item(),
            reduced_minus_full_batch=(reduced - full).abs().max().item(),
            n_parameters=reduced.numel(),
        )
    return out


def zero_equivalence(rank: int, world: int, batch: int, steps: int, lr: float, seed: int = 0) -> dict:
    from torch.distributed.optim import ZeroRedundancyOptimizer

    data = digits_train(torch.float64)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    loader = DataLoader(data, batch_size=batch, sampler=sampler, drop_last=True)
    batches = [b for _, b in zip(range(steps), loader)]
    models = {}
    for name in ("adam", "zero"):
        model = DDP(make_model(WIDTHS, torch.float64, seed))
        if name == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=lr)
        else:
            opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=lr)
        for x, y in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        models[name] = model.module
    out = {"steps": len(batches), "lr": lr, "max_parameter_gap": max_gap(models["adam"], models["zero"])}
    gaps = [torch.zeros(()) for _ in range(world)]
    dist.all_gather(gaps, torch.tensor(out["max_parameter_gap"]))
    out["max_parameter_gap"] = max(g.item() for g in gaps)

    # memory: the float32 optimizer state each rank keeps, sharded and not
    from effdnn_lib.memory import optimizer_state_bytes

    model = DDP(make_model(MEMORY_WIDTHS, torch.float32, seed))
    x = torch.randn(8, MEMORY_WIDTHS[0])
    y = torch.zeros(8, dtype=torch.long)
    full = torch.optim.Adam(model.parameters())
    zero = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam)
    nn.functional.cross_entropy(model(x), y).backward()
    full.step()
    zero.step()
    owned = [p for group in zero.optim.param_groups for p in group["params"]]
    mine = torch.tensor([optimizer_state_bytes(zero.optim), sum(p.numel() for p in owned), len(owned)])
    per_rank = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(per_rank, mine)
    out.update(
        memory_widths=MEMORY_WIDTHS,
        unsharded_state_bytes=optimizer_state_bytes(full),
        n_parameters=sum(p.numel() for p in model.parameters()),
        n_tensors=len(list(model.parameters())),
        per_rank_state_bytes=[int(t[0]) for t in per_rank],
        per_rank_parameters=[int(t[1]) for t in per_rank],
        per_rank_tensors=[int(t[2]) for t in per_rank],
    )
    return out


def allreduce_timing(sizes_bytes, repeats: int) -> dict:
    times = []
    for nbytes in sizes_bytes:
        t = torch.ones(nbytes // 4, dtype=torch.float32)
        for _ in range(2):
            dist.all_reduce(t)
        samples = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            samples.append(time.perf_counter() - start)
        samples = torch.tensor(samples)
        dist.all_reduce(samples, op=dist.ReduceOp.MAX)  # a collective ends when its slowest rank does
        times.append(samples.min().item())  # the fastest repeat: least disturbed by other processes
    return {"bytes": list(sizes_bytes), "seconds": times}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch", type=int, default=32, help="examples per rank and step")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--zero-steps", type=int, default=10)
    parser.add_argument("--timing-repeats", type=int, default=15)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--fail-rank", type=int, default=-1)
    args = parser.parse_args(argv)
    rank = int(os.environ["RANK"])
    if rank == args.fail_rank:
        print(f"rank {rank}: failing on purpose (--fail-rank)", file=sys.stderr, flush=True)
        sys.exit(3)
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    world = dist.get_world_size()
    result: dict = {"world_size": world, "backend": dist.get_backend()}
    start = time.perf_counter()
    result["ddp"] = ddp_equivalence(rank, world, args.batch, args.epochs, lr=0.1)
    result["zero"] = zero_equivalence(rank, world, args.batch, args.zero_steps, lr=1e-2)
    if rank == 0:
        print(f"rank 0: DDP and ZeRO done in {time.perf_counter() - start:.2f} s", flush=True)
    if not args.skip_timing:
        sizes = [2**k for k in range(6, 23, 2)]
        result["allreduce"] = allreduce_timing(sizes, args.timing_repeats)
        if rank == 0:
            print(f"rank 0: all-reduce timing done in {time.perf_counter() - start:.2f} s", flush=True)
    dist.barrier()
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
