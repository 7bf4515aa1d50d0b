"""The one resumable training loop of the course, single process or under ``torchrun`` (DDP).

A method gives the loop four things (a :class:`Method` subclass; ``helpers/dcgan/train.py`` is a
short example): ``dataset(cfg)``, ``build(cfg, data, env) -> Parts`` (networks, optimisers, the
random streams its step draws from), ``step(state, batch) -> dict of scalars`` and, optionally,
``phase``, ``evaluate`` (the seed's curve) and ``samples`` (a grid of images). The loop does the rest:

* device, threads, seeding (python, numpy, torch from ``cfg.seed``, before ``build``);
* data through a ``torch.utils.data.DataLoader`` (worker processes, pinned memory, prefetch) whose
  batches come from :class:`StepSampler`: the global batch of step ``s`` is a pure function of
  ``(seed, s)``, so a resumed run continues the exact order and each DDP rank takes its own slice;
* precision (fp32, bf16 / fp16 autocast, grad scaling for fp16) through ``state.autocast()`` and
  ``state.update(name, loss)``;
* a :class:`helpers.core.checkpoint.RunDir`: restore, saves every K steps / M minutes, step and
  wall-clock budgets, the metrics log (means over ``cfg.log_every`` steps), evaluation rows;
* a progress bar, sample grids, and one result type, :class:`TrainResult`.

Distributed data parallel: under ``torchrun --nproc_per_node=N`` the loop joins the process group
(gloo on CPU, NCCL on GPU), broadcasts rank 0's initial weights, averages every optimiser's
gradients over the ranks right before its step (one flat all-reduce per update, the way NVIDIA's
StyleGAN3 training loop does it: GAN steps run a network several times per backward and through
frozen copies, which the ``DistributedDataParallel`` wrapper's hooks do not allow), and only rank 0
logs and saves. With ``cfg.batch = N * b`` each rank computes ``b`` of the global batch; for a model
without batch statistics the result equals one process with batch ``N * b`` (a test shows it).

Bit-identical resume: a run stopped by a budget and resumed equals an uninterrupted run on the
same machine, provided the method draws randomness only from ``Parts.generators`` (saved) or the
global torch RNG (saved), and its dataset is deterministic per index.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from helpers.core import runtime
from helpers.core.bench import native_bf16
from helpers.core.checkpoint import RunDir
from helpers.core.config import Config
from helpers.core.files import atomic_write
from helpers.core.images import to_uint8

__all__ = ["Method", "Parts", "Env", "State", "TrainResult", "StepSampler", "batches", "train", "evaluating",
           "resolve_precision", "distributed_env"]


# ----------------------------------------------------------------------------- what a method gives
@dataclass
class Parts:
    """What ``Method.build`` returns.

    ``models`` (on ``env.device``) and ``optimizers`` are saved in every checkpoint; so are the
    ``generators``: the random streams the step draws from (noise, hole boxes, ...). ``extra`` holds
    anything else the step needs (a fixed test batch, constants); it is not saved.
    """
    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    generators: dict[str, torch.Generator] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Env:
    """Where a run executes: device, DDP rank and world size, resolved precision."""
    device: torch.device
    rank: int = 0
    world: int = 1
    precision: str = "fp32"
    seed: int = 0

    def generator(self, name: str) -> torch.Generator:
        """A CPU ``torch.Generator`` seeded from (cfg.seed, ``name``, rank): one stream per purpose.

        Each DDP rank gets its own stream, so ranks draw different noise for different images.
        """
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + zlib.crc32(name.encode()) * 101 + self.rank) % 2**63)
        return g


class Method:
    """What a method supplies to :func:`train`. Override ``dataset``, ``build`` and ``step``."""

    name = "method"                 # progress-bar label and default run-folder prefix

    def dataset(self, cfg: Config) -> Dataset:
        """The training data: a map-style dataset (an item is a tensor or a dict of tensors).

        A dataset with a ``batch(indices) -> tensor or dict`` method (e.g. images held in memory)
        is read with that instead of a DataLoader (faster than collating single items).
        """
        raise NotImplementedError

    def build(self, cfg: Config, data: Dataset, env: Env) -> Parts:
        """Fresh networks (already seeded by the loop), optimisers and random streams."""
        raise NotImplementedError

    def step(self, s: "State", batch) -> Mapping[str, float | torch.Tensor]:
        """One training iteration on ``batch`` (on ``s.device``); returns the numbers to log."""
        raise NotImplementedError

    def total_steps(self, cfg: Config) -> int:
        return cfg.steps

    def phase(self, cfg: Config, step: int) -> str | None:
        """Name of the training phase of 0-based ``step`` (None: a single phase)."""
        return None

    def evaluate(self, s: "State") -> dict[str, float]:
        """Measures every ``cfg.eval_every`` steps (rank 0 only). Must draw no random numbers."""
        return {}

    def samples(self, s: "State") -> torch.Tensor | None:
        """Images (N, 3, H, W) in [-1, 1] for the grid saved every ``cfg.sample_every`` steps."""
        return None

    def log_keys(self) -> tuple[str, ...]:
        """Metrics shown in the progress bar."""
        return ()


# ----------------------------------------------------------------------------- state of a run
class State:
    """What ``Method.step`` sees: config, networks, optimisers, streams, device, step, precision."""

    def __init__(self, cfg: Config, parts: Parts, env: Env, scalers: Mapping[str, Any]):
        self.cfg = cfg
        self.models = parts.models
        self.optimizers = parts.optimizers
        self.generators = parts.generators
        self.extra = parts.extra
        self.env = env
        self.device = env.device
        self.rank, self.world = env.rank, env.world
        self.scalers = dict(scalers)
        self.step = 0                       # steps completed before the current one
        self.phase: str | None = None
        self.persist: dict[str, Any] = {}   # small JSON-able values saved with each checkpoint

    def autocast(self):
        """Context manager running the forward pass in the run's precision."""
        p = self.env.precision
        if p == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if p == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def update(self, name: str, loss: torch.Tensor) -> None:
        """Optimiser ``name``: zero its gradients, backward ``loss``, average over DDP ranks, step."""
        opt = self.optimizers[name]
        scaler = self.scalers.get(name)
        opt.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if self.world > 1:
            _allreduce_grads(opt, self.world)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()


def _allreduce_grads(opt: torch.optim.Optimizer, world: int) -> None:
    grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


@contextlib.contextmanager
def evaluating(*models: nn.Module):
    """Put ``models`` in eval mode with gradients off; restore their modes afterwards."""
    modes = [m.training for m in models]
    try:
        for m in models:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, was in zip(models, modes):
            m.train(was)


# ----------------------------------------------------------------------------- data order
class StepSampler(Sampler):
    """Batches of indices for steps ``start, start+1, ...``: a resumable, DDP-sharded data order.

    The data stream is an endless sequence of epochs; epoch ``e`` is a permutation of
    ``range(n)`` drawn from ``seed`` and ``e`` (or ``range(n)`` itself when ``shuffle=False``).
    Step ``s`` uses stream positions ``s * batch ... (s + 1) * batch - 1`` (the global batch);
    rank ``r`` of ``world`` takes its consecutive ``batch // world`` of them. Nothing is stateful:
    the order is a function of (seed, step), so resuming at step ``s`` needs no saved state.
    """

    def __init__(self, n: int, batch: int, seed: int = 0, start: int = 0, rank: int = 0,
                 world: int = 1, shuffle: bool = True):
        if n < 1:
            raise ValueError(f"the dataset is empty (n={n})")
        if batch % world:
            raise ValueError(f"the global batch ({batch}) must divide evenly over {world} ranks")
        self.n, self.batch, self.seed, self.start = int(n), int(batch), int(seed), int(start)
        self.rank, self.world, self.shuffle = rank, world, shuffle
        self._epoch, self._perm = -1, None

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            if self.shuffle:
                g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._perm = torch.randperm(self.n, generator=g)
            else:
                self._perm = torch.arange(self.n)
            self._epoch = epoch
        return self._perm

    def indices(self, step: int) -> list[int]:
        """This rank's indices of step ``step``."""
        local = self.batch // self.world
        lo = step * self.batch + self.rank * local
        out = []
        for pos in range(lo, lo + local):
            e, i = divmod(pos, self.n)
            out.append(int(self._order(e)[i]))
        return out

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start
        while True:
            yield self.indices(step)
            step += 1

    def __len__(self) -> int:  # endless; DataLoader only needs a number
        return 2**62


def batches(data: Dataset, sampler: StepSampler, cfg: Config, device: torch.device) -> Iterator:
    """Iterator of batches on ``device`` in the sampler's order."""
    if callable(getattr(data, "batch", None)):
        for idx in sampler:
            yield _to(data.batch(torch.tensor(idx)), device)
        return
    loader = DataLoader(data, batch_sampler=sampler, num_workers=cfg.workers,
                        pin_memory=device.type == "cuda",
                        prefetch_factor=4 if cfg.workers else None,
                        persistent_workers=False)
    for batch in loader:
        yield _to(batch, device)


def _to(batch, device):
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(v, device) for v in batch)
    return batch


# ----------------------------------------------------------------------------- distributed
def distributed_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment variables (1 process: 0, 1, 0)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def _init_distributed(device_type: str) -> None:
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run actually uses on ``device``.

    "auto"/"mixed": fp16 on CUDA, bf16 on a CPU with native bf16 units (AVX512-BF16 or AMX), fp32
    otherwise. An explicit "bf16" on a CPU without those units runs (emulated, many times slower
    than fp32) with a warning; "fp16" needs CUDA.
    """
    if precision in ("auto", "mixed"):
        if device.type == "cuda":
            return "fp16"
        return "bf16" if device.type == "cpu" and native_bf16() else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision 'fp16' needs a CUDA device (grad scaling); use 'bf16' or 'fp32' "
                         f"on {device.type}")
    if precision == "bf16" and device.type == "cpu" and not native_bf16():
        warnings.warn("precision 'bf16' on a CPU without AVX512-BF16/AMX is emulated and much slower "
                      "than fp32; use precision='auto'", RuntimeWarning, stacklevel=3)
    return precision


# ----------------------------------------------------------------------------- result
@dataclass
class TrainResult:
    """What :func:`train` returns (for a finished or a budget-stopped run)."""
    config: Config
    models: dict[str, nn.Module]
    run: RunDir
    step: int                 # steps completed
    total: int                # steps of the whole run
    stopped_by: str | None    # "steps" | "time" | None (finished)
    train_seconds: float      # wall clock of training steps (data wait included), all sessions
    eval_seconds: float       # wall clock of evaluation hooks, all sessions
    cpu_seconds: float        # CPU time of this process over all sessions (all threads)
    resumed_from: int         # step restored at the start of this call (0 = fresh)
    precision: str            # the resolved precision
    persist: dict = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.step >= self.total

    @property
    def history(self):
        """The metrics log as a DataFrame (one row per logged window or evaluation)."""
        return self.run.history()

    def __repr__(self) -> str:
        return (f"TrainResult(step={self.step}/{self.total}, stopped_by={self.stopped_by!r}, "
                f"train_seconds={self.train_seconds:.1f}, resumed_from={self.resumed_from}, "
                f"precision={self.precision!r}, run={str(self.run.path)!r})")


# ----------------------------------------------------------------------------- the loop
def _device(cfg: Config, local_rank: int, world: int) -> torch.device:
    dev = runtime.device(cfg.device)
    if dev.type == "cuda" and world > 1:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    return dev


def _save_grid(path: Path, images: torch.Tensor) -> None:
    from PIL import Image
    from torchvision.utils import make_grid

    n = len(images)
    grid = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow=max(1, int(math.ceil(math.sqrt(n)))),
                     padding=1, pad_value=1.0)
    img = to_uint8(grid)
    atomic_write(path, lambda f: Image.fromarray(img).save(f, format="PNG"))


def train(method: Method, cfg: Config, run_dir=None, *, budget_minutes: float | None = None,
          max_steps: int | None = None, progress: bool = True) -> TrainResult:
    """Train ``method`` with ``cfg`` in ``run_dir`` (default ``runs/<method>-<profile>``); resumable.

    Calling again with the same folder and config continues from the newest checkpoint at the exact
    step. ``budget_minutes`` (wall clock of this call) and ``max_steps`` (an absolute step number)
    stop the call cleanly with a checkpoint.
    """
    if not isinstance(cfg, Config):
        raise ValueError(f"cfg must be a helpers.core.config.Config, got {type(cfg).__name__}")
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {max_steps}")
    rank, world, local_rank = distributed_env()
    path = Path(run_dir) if run_dir is not None else runtime.run_dir(f"{method.name}-{cfg.profile}")
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(method, cfg, path, budget_minutes, max_steps, progress, rank, world, local_rank)
    finally:
        torch.set_num_threads(threads)


def _train(method, cfg, path, budget_minutes, max_steps, progress, rank, world, local_rank):
    device = _device(cfg, local_rank, world)
    if world > 1:
        _init_distributed(device.type)
    precision = resolve_precision(cfg.precision, device)
    env = Env(device, rank, world, precision, cfg.seed)
    runtime.seed_everything(cfg.seed)
    data = method.dataset(cfg)
    parts = method.build(cfg, data, env)
    if not parts.models:
        raise ValueError(f"{type(method).__name__}.build returned no models")
    if world > 1:
        for m in parts.models.values():
            for t in list(m.parameters()) + list(m.buffers()):
                dist.broadcast(t.data, src=0)
    scalers = ({k: torch.amp.GradScaler("cuda") for k in parts.optimizers} if precision == "fp16" else {})
    run = RunDir(path, cfg.result_dict(), models=parts.models, optimizers=parts.optimizers,
                 scalers=scalers, generators=parts.generators, every_steps=cfg.save_every,
                 every_minutes=cfg.save_minutes, keep_last=cfg.keep_last, writer=rank == 0)
    prog = run.restore()
    s = State(cfg, parts, env, scalers)
    s.persist = dict(prog.extra.get("persist", {}))
    saved_precision = prog.extra.get("precision")
    if saved_precision and saved_precision != precision:
        warnings.warn(f"{path}: this run was trained in {saved_precision} and continues in {precision} "
                      f"(cfg.precision={cfg.precision!r} resolves differently on {device.type}); "
                      "the numbers will differ from an uninterrupted run", RuntimeWarning, stacklevel=3)
    step = resumed = prog.step
    seconds = {k: float(prog.extra.get(k, 0.0)) for k in ("train_seconds", "eval_seconds", "cpu_seconds")}
    total = method.total_steps(cfg)
    run.start_budget(minutes=budget_minutes, max_steps=max_steps)
    sampler = StepSampler(len(data), cfg.batch, cfg.seed, start=step, rank=rank, world=world)
    stream = batches(data, sampler, cfg, device)
    for m in parts.models.values():
        m.train()
    bar = runtime.bar(total=total, initial=step, desc=method.name, disable=not progress or rank != 0,
               dynamic_ncols=True, mininterval=0.5)
    cpu0 = time.process_time()
    window: dict[str, float] = {}
    n_window, t_window = 0, time.perf_counter()

    def extra():
        return {"train_seconds": seconds["train_seconds"], "eval_seconds": seconds["eval_seconds"],
                "cpu_seconds": seconds["cpu_seconds"] + time.process_time() - cpu0,
                "precision": precision, "persist": s.persist}

    def stop_now() -> bool:
        stop = run.should_stop(step) or step >= total
        if world > 1:
            flag = torch.tensor([1.0 if stop else 0.0], device=device if device.type == "cuda" else "cpu")
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

    try:
        while not stop_now():
            t0 = time.perf_counter()
            batch = next(stream)
            s.step, s.phase = step, method.phase(cfg, step)
            out = method.step(s, batch)
            step += 1
            seconds["train_seconds"] += time.perf_counter() - t0
            for k, v in out.items():
                window[k] = window.get(k, 0.0) + float(v)
            n_window += 1
            bar.update(1)
            if rank != 0:
                continue
            row = None
            if step % cfg.log_every == 0 or step == total:
                now = time.perf_counter()
                row = {k: v / n_window for k, v in window.items()}
                row.update(sec_per_step=(now - t_window) / n_window,
                           train_seconds=seconds["train_seconds"])
                if s.phase is not None:
                    row["phase"] = s.phase
                window, n_window = {}, 0
            if cfg.eval_every and (step % cfg.eval_every == 0 or step == total):
                t_eval = time.perf_counter()
                measured = method.evaluate(s)
                seconds["eval_seconds"] += time.perf_counter() - t_eval
                if measured:
                    row = {**(row or {"train_seconds": seconds["train_seconds"]}),
                           **measured, "eval_seconds": seconds["eval_seconds"]}
            if row is not None:
                run.log(step, **row)
                bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in row.items()
                                 if k in method.log_keys()}, refresh=False)
                t_window = time.perf_counter()
            if cfg.sample_every and step % cfg.sample_every == 0:
                images = method.samples(s)
                if images is not None:
                    _save_grid(path / "samples" / f"step_{step:07d}.png", images)
            run.maybe_save(step, s.phase, extra())
    finally:
        bar.close()
        stream.close()
    if rank == 0:
        run.save(step, method.phase(cfg, max(step - 1, 0)), extra())
    if world > 1:
        dist.barrier()
    e = extra()
    return TrainResult(cfg, parts.models, run, step, total, None if step >= total else run.stopped_by,
                       e["train_seconds"], e["eval_seconds"], e["cpu_seconds"], resumed, precision,
                       dict(s.persist))

