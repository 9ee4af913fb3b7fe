"""The one training loop of the course: progress bar, gradient clipping, evaluation, checkpoints, history.

Every chapter trains through :func:`fit`. A model is trained by a *loss function* that knows
how to turn one batch into a scalar loss, so the same loop serves character models,
forecasters, seq2seq and captioning models alike::

    def loss_fn(model, batch):
        x, y = batch                      # tensors already on the model's device
        logits, _ = model(x)              # (N, T, V)
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())

    history = fit(model, train_set, loss_fn, optimizer=torch.optim.Adam(model.parameters(), 1e-3),
                  epochs=3, batch_size=32, clip_grad_norm=1.0, val_data=val_set)

Under ``torchrun`` (the environment variables ``WORLD_SIZE`` > 1 and ``RANK`` set) the same call
trains with DistributedDataParallel: see :mod:`rnnlib.distributed`.
"""

import math
import os
import tempfile
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from rnnlib.device import effective_seed, get_device, seed_everything
from rnnlib.validate import check_positive_int

__all__ = ["History", "fit", "evaluate", "save_checkpoint", "load_checkpoint", "move_to"]


@dataclass
class History:
    """What happened during :func:`fit`: one entry per optimisation step (and per evaluation).

    Attributes:
        step: global step index (1-based) of each training entry.
        train_loss: the batch loss at that step.
        grad_norm: the total gradient norm before clipping (``nan`` if not measured).
        seconds: wall-clock seconds since the start of training at that step.
        val_step, val_loss: steps at which the validation loss was measured, and its value.
        wall_seconds: total wall-clock time of the run.
        tokens: number of training examples seen (first dimension of the first batch tensor, summed).
        receipt: what the ``receipt`` callable given to :func:`fit` returned, or None.
    """

    step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    val_step: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    wall_seconds: float = 0.0
    examples: int = 0
    receipt: object = None

    @property
    def final_val_loss(self):
        return self.val_loss[-1] if self.val_loss else float("nan")

    def smoothed_train_loss(self, window=20):
        """Moving average of ``train_loss`` over ``window`` steps (for plots)."""
        out, total = [], 0.0
        for i, value in enumerate(self.train_loss):
            total += value
            if i >= window:
                total -= self.train_loss[i - window]
            out.append(total / min(i + 1, window))
        return out


def move_to(batch, device):
    """Move a tensor, or a (nested) tuple/list/dict of tensors, to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(move_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    return batch


def _batch_size_of(batch):
    first = batch
    while isinstance(first, (tuple, list)) and first:
        first = first[0]
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1


def _make_loader(data, batch_size, shuffle, seed, distributed):
    """A seeded DataLoader for a Dataset; any other iterable of batches is used as it is."""
    if not isinstance(data, torch.utils.data.Dataset):
        if batch_size is not None:
            raise ValueError(
                f"batch_size is only used when data is a torch Dataset, got batch_size={batch_size} "
                f"with data of type {type(data).__name__}"
            )
        return data, None
    if batch_size is None:
        raise ValueError("batch_size must be given when data is a torch Dataset, got None")
    check_positive_int("batch_size", batch_size)
    sampler = None
    if distributed:
        sampler = torch.utils.data.distributed.DistributedSampler(data, shuffle=shuffle, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        generator=generator,
    )
    return loader, sampler


@torch.no_grad()
def evaluate(model, data, loss_fn, *, batch_size=None, device=None):
    """Mean of ``loss_fn`` over ``data`` (weighted by batch size), in eval mode, without gradients."""
    device = device or next(model.parameters()).device
    loader, _ = _make_loader(data, batch_size, shuffle=False, seed=0, distributed=False)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        batch = move_to(batch, device)
        n = _batch_size_of(batch)
        total += float(loss_fn(model, batch)) * n
        count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("val_data must contain at least one batch, got an empty iterable")
    return total / count


def fit(
    model,
    data,
    loss_fn,
    *,
    optimizer,
    epochs=1,
    max_steps=None,
    max_seconds=None,
    batch_size=None,
    shuffle=True,
    clip_grad_norm=None,
    val_data=None,
    eval_every=None,
    device=None,
    checkpoint_path=None,
    progress=True,
    seed=0,
    on_step=None,
    receipt=None,
):
    """Train ``model`` by minimising ``loss_fn`` over ``data``; return a :class:`History`.

    One step is: ``loss = loss_fn(model, batch)``; ``loss.backward()``; optionally
    clip the global gradient norm, :math:`g \\leftarrow g \\cdot \\min(1, c / \\lVert g \\rVert)`;
    ``optimizer.step()``.

    Args:
        model: a ``torch.nn.Module``; it is moved to ``device``.
        data: a ``torch.utils.data.Dataset`` (a seeded DataLoader with ``batch_size`` is built)
            or any re-iterable of batches (tuples of tensors).
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; ``batch`` is already on ``device``.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        epochs: passes over ``data``.
        max_steps, max_seconds: stop early after this many steps / seconds (for equal-budget
            comparisons); ``None`` means no limit.
        clip_grad_norm: if given, clip the global gradient norm to this value.
        val_data: evaluated with :func:`evaluate` every ``eval_every`` steps and at the end of each epoch.
        device: defaults to :func:`rnnlib.get_device`.
        checkpoint_path: if given, the model (and optimizer) are saved there at the end of each
            epoch, atomically (only rank 0 writes under torchrun).
        progress: show a tqdm progress bar with the running loss (a widget in Jupyter); the
            environment variable ``RNNLIB_PROGRESS=0`` turns bars off everywhere.
        seed: seeds Python, NumPy and torch (:func:`rnnlib.seed_everything`) and the data order.
        on_step: optional callback ``on_step(step, loss, model)`` called after each step.
        receipt: optional callable ``receipt(history)``, e.g. :class:`rnnlib.energy.ComputeReceipt`;
            its result (wall time, FLOPs, estimated energy) is stored in ``history.receipt`` and
            printed at the end of the run.
    """
    from rnnlib import distributed as dist_utils

    check_positive_int("epochs", epochs)
    if max_steps is not None:
        check_positive_int("max_steps", max_steps)
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be a positive number or None, got {max_seconds!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
    if eval_every is not None:
        check_positive_int("eval_every", eval_every)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(model, batch), got {type(loss_fn).__name__}")
    if receipt is not None and not callable(receipt):
        raise TypeError(f"receipt must be callable as receipt(history) or None, got {type(receipt).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")

    seed_everything(seed)
    context = dist_utils.setup_from_env()
    device = torch.device(device) if device is not None else (context.device if context else get_device())
    model.to(device)
    train_model = dist_utils.wrap_model(model, context) if context else model
    # the data order follows the seed family too (RNNLIB_SEED), like the weights
    loader, sampler = _make_loader(data, batch_size, shuffle, effective_seed(seed), distributed=context is not None)
    is_main = context is None or context.rank == 0
    # RNNLIB_PROGRESS=0 hides the bars everywhere (tools/execute_notebooks.py sets it for the book).
    show_progress = progress and is_main and os.environ.get("RNNLIB_PROGRESS", "1") != "0"
    val_batch_size = batch_size if isinstance(val_data, torch.utils.data.Dataset) else None

    history = History()
    step = 0
    start = time.perf_counter()
    stop = False
    model.train()
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not show_progress, leave=False)
        for batch in bar:
            batch = move_to(batch, device)
            loss = loss_fn(train_model, batch)
            if loss.dim() != 0:
                raise ValueError(f"loss_fn must return a scalar tensor, got shape {tuple(loss.shape)}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
            optimizer.step()

            step += 1
            loss_value = float(loss.detach())
            history.step.append(step)
            history.train_loss.append(loss_value)
            history.grad_norm.append(float(norm))
            history.seconds.append(time.perf_counter() - start)
            history.examples += _batch_size_of(batch)
            bar.set_postfix(loss=f"{loss_value:.4f}")
            if on_step is not None:
                on_step(step, loss_value, model)
            if val_data is not None and eval_every is not None and step % eval_every == 0:
                history.val_step.append(step)
                history.val_loss.append(evaluate(model, val_data, loss_fn, batch_size=val_batch_size, device=device))
            if not math.isfinite(loss_value):
                stop = True  # a diverged run stays in the history; training further is meaningless
            if (max_steps is not None and step >= max_steps) or (
                max_seconds is not None and time.perf_counter() - start >= max_seconds
            ):
                stop = True
            if stop:
                break
        bar.close()
        if val_data is not None and (not history.val_step or history.val_step[-1] != step):
            history.val_step.append(step)
            history.val_loss.append(evaluate(model, val_data, loss_fn, batch_size=val_batch_size, device=device))
        if checkpoint_path is not None and is_main:
            save_checkpoint(checkpoint_path, model, optimizer, step=step, epoch=epoch + 1)
        if stop:
            break
    history.wall_seconds = time.perf_counter() - start
    if receipt is not None:
        history.receipt = receipt(history)
        if is_main:
            print(history.receipt)
    if context is not None:
        dist_utils.barrier(context)
    return history


def save_checkpoint(path, model, optimizer=None, **extra):
    """Save ``model`` (and ``optimizer``) state to ``path`` atomically.

    The file is written to a temporary file in the same folder and renamed over ``path``,
    so an interrupted save never leaves a half-written checkpoint. ``extra`` values must be
    plain Python numbers/strings (they are loaded with ``weights_only=True``).
    """
    for key, value in extra.items():
        if not isinstance(value, (int, float, str, bool, type(None))):
            raise TypeError(
                f"checkpoint extra value {key!r} must be an int, float, str, bool or None, got {type(value).__name__}"
            )
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    payload = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Loads with ``torch.load(..., weights_only=True)``: a damaged or foreign file raises a
    ``ValueError`` naming the file, and ``model`` is left unchanged. Returns the ``extra`` dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint path must be an existing file, got {path!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle, zip and weights_only errors all mean "not our checkpoint"
        raise ValueError(f"checkpoint {path!r} could not be read as an rnnlib checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or "model" not in payload:
        got = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"checkpoint {path!r} must hold a dict with a 'model' entry, got {got}")
    expected = model.state_dict()
    state = payload["model"]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad_shapes = [
        f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or bad_shapes:
        raise ValueError(
            f"checkpoint {path!r} does not fit the model: missing keys {missing}, "
            f"unexpected keys {unexpected}, shape mismatches (checkpoint vs model) {bad_shapes}"
        )
    model.load_state_dict(state, strict=True)
    if optimizer is not None and "optimizer" in payload:
        optimizer.load_state_dict(payload["optimizer"])
    return payload.get("extra", {})
