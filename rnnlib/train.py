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

Each update is :func:`train_step`, which a chapter can print: the rest of :func:`fit` is
bookkeeping. A run can be trusted with a long job:

* a non-finite loss or gradient norm is caught *before* ``optimizer.step()``: the update is not
  applied, no checkpoint is written after it, and fit raises :class:`NonFiniteLossError` naming
  the step, the loss and the last checkpoint (``on_nonfinite="stop"`` returns the history instead);
* ``checkpoint_path`` receives atomic checkpoints (a temporary file renamed over the old one)
  holding the model, the optimizer, the position in the data, the history and every random
  state, and ``fit(..., resume=path)`` continues bit-identically to a run that was never
  interrupted.

Under ``torchrun`` (the environment variables ``WORLD_SIZE`` > 1 and ``RANK`` set) the same call
trains with DistributedDataParallel: see :mod:`rnnlib.distributed`.
"""

import contextlib
import itertools
import math
import os
import random
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from rnnlib.device import effective_seed, get_device, seed_everything
from rnnlib.validate import check_bool, check_choice, check_number, check_positive_int

__all__ = [
    "History",
    "NonFiniteLossError",
    "fit",
    "train_step",
    "evaluate",
    "save_checkpoint",
    "load_checkpoint",
    "move_to",
]

CHECKPOINT_FORMAT = "rnnlib.train checkpoint"
CHECKPOINT_VERSION = 2


class NonFiniteLossError(FloatingPointError):
    """A training step whose loss or gradient norm is NaN or infinite: the update was not applied.

    Attributes:
        step: the global step (1-based) whose loss was not finite, or None (raised by
            :func:`train_step` alone).
        loss, grad_norm: the values measured at that step.
        history: the :class:`History` of the run up to and including that step (from :func:`fit`).
    """

    def __init__(self, message, loss, grad_norm, step=None, history=None):
        super().__init__(message)
        self.loss, self.grad_norm, self.step, self.history = loss, grad_norm, step, history


@dataclass
class History:
    """What happened during :func:`fit`: one entry per optimisation step (and per evaluation).

    Attributes:
        step: global step index (1-based) of each training entry.
        train_loss: the batch loss at that step.
        grad_norm: the total gradient norm before clipping.
        seconds: wall-clock seconds since the start of training at that step.
        val_step, val_loss: steps at which the validation loss was measured, and its value.
        wall_seconds: total wall-clock time of the run.
        examples: number of training examples seen (first dimension of the first batch tensor, summed).
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


# ----------------------------------------------------------------------------------------------
# One update


def train_step(model, batch, loss_fn, optimizer, clip_grad_norm=None):
    r"""One update of the parameters :math:`\theta` on one batch; returns ``(loss, grad_norm)`` as floats.

    .. math::

        g = \nabla_\theta\, \mathrm{loss}(\theta; \mathrm{batch}), \qquad
        \lVert g \rVert = \sqrt{\textstyle\sum_p \lVert g_p \rVert^2}, \qquad
        g \leftarrow g \cdot \min\!\Big(1, \frac{c}{\lVert g \rVert}\Big) \text{ (clipping to } c\text{)}

    then ``optimizer.step()`` (for SGD, :math:`\theta \leftarrow \theta - \eta g`). ``grad_norm``
    is measured before clipping. When the loss or the gradient norm is NaN or infinite the
    step is **not** applied and :class:`NonFiniteLossError` is raised: one bad batch cannot turn
    every weight into NaN.
    """
    loss = loss_fn(model, batch)
    _check_loss(loss)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parameters = [p for p in model.parameters() if p.grad is not None]
    # ||g|| = sqrt(sum_p ||g_p||^2), before clipping
    grad_norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
    loss_value, norm_value = float(loss.detach()), float(grad_norm)
    if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
        raise NonFiniteLossError(
            f"the loss is {loss_value} and the gradient norm {norm_value}: not finite, so the update was "
            "not applied", loss_value, norm_value)
    if clip_grad_norm is not None:
        # g <- g * min(1, c / (||g|| + 1e-6))
        torch.nn.utils.clip_grads_with_norm_(parameters, clip_grad_norm, grad_norm)
    optimizer.step()
    return loss_value, norm_value


def _check_loss(loss):
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn must return a scalar tensor (0-d torch.Tensor), got {type(loss).__name__}")
    if loss.dim() != 0:
        raise ValueError(f"loss_fn must return a scalar tensor, got shape {tuple(loss.shape)}")
    if not loss.requires_grad:
        raise ValueError(
            "loss_fn must return a loss computed from the model's parameters (requires_grad=True), got a "
            "tensor without a gradient: did loss_fn detach it, call .item(), or run under torch.no_grad()?"
        )


# ----------------------------------------------------------------------------------------------
# Evaluation


def _batch_size_of(batch):
    first = batch
    while isinstance(first, (tuple, list)) and first:
        first = first[0]
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1


@torch.no_grad()
def evaluate(model, data, loss_fn, *, batch_size=None, device=None):
    """Mean of ``loss_fn`` over ``data`` (weighted by batch size), in eval mode, without gradients.

    ``data`` is a ``torch.utils.data.Dataset`` (read in order, ``batch_size`` at a time) or an
    iterable of batches.
    """
    _check_data("data", data, batch_size)
    device = device or next(model.parameters()).device
    if isinstance(data, torch.utils.data.Dataset):
        data = torch.utils.data.DataLoader(data, batch_size=batch_size, generator=torch.Generator())
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for batch in data:
            batch = move_to(batch, device)
            n = _batch_size_of(batch)
            total += float(loss_fn(model, batch)) * n
            count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError(f"data must hold at least one batch, got an empty {type(data).__name__}")
    return total / count


# ----------------------------------------------------------------------------------------------
# Argument checks (all made before any work)


def _check_data(name, data, batch_size, epochs=1):
    """``data`` is a non-empty Dataset (with batch_size) or an iterable of batches (without)."""
    if isinstance(data, torch.utils.data.Dataset):
        if batch_size is None:
            raise ValueError(f"batch_size must be given when {name} is a torch Dataset, got None")
        check_positive_int("batch_size", batch_size)
        if len(data) == 0:
            raise ValueError(f"{name} must hold at least one example, got an empty {type(data).__name__}")
        return
    if isinstance(data, (torch.Tensor, np.ndarray, str, bytes)) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"{name} must be a torch Dataset or an iterable of batches, got {type(data).__name__} "
            "(wrap tensors in torch.utils.data.TensorDataset(x, y))"
        )
    if batch_size is not None:
        raise ValueError(
            f"batch_size is only used when {name} is a torch Dataset, got batch_size={batch_size} "
            f"with {name} of type {type(data).__name__}"
        )
    if isinstance(data, Sequence) and len(data) == 0:
        raise ValueError(f"{name} must hold at least one batch, got an empty {type(data).__name__}")
    if isinstance(data, Iterator) and epochs > 1:
        raise ValueError(
            f"{name} is a one-shot iterator ({type(data).__name__}), which is empty after one pass, so epochs "
            f"must be 1, got epochs={epochs}: pass a list of batches or a re-iterable object instead"
        )


def _check_callable(name, value, signature):
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable as {signature} or None, got {type(value).__name__}")


def _check_optimizer(optimizer, model):
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    own = {id(p) for p in model.parameters()}
    tensors = [p for group in optimizer.param_groups for p in group["params"]]
    if tensors and not any(id(p) in own for p in tensors):
        raise ValueError(
            f"optimizer must update the model's parameters, got an optimizer over {len(tensors)} tensors of "
            "which none belongs to model (was it built from another model's parameters?)"
        )


def _check_checkpoint_path(name, path):
    """A file path whose folder exists or can be made; never an existing directory."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {type(path).__name__}") from None
    if os.path.isdir(path):
        raise ValueError(f"{name} must be a file path, got the directory {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{name} must be in a folder that exists or can be created, got {path!r} ({exc})") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{name} must be in a writable folder, got {path!r}")
    return path


def _check_fit_arguments(model, data, loss_fn, optimizer, epochs, max_steps, max_seconds, batch_size, shuffle,
                         clip_grad_norm, val_data, eval_every, device, checkpoint_every, checkpoint_path,
                         on_nonfinite, progress, seed, on_step, receipt):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_positive_int("epochs", epochs)
    _check_data("data", data, batch_size, epochs)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(model, batch), got {type(loss_fn).__name__}")
    _check_optimizer(optimizer, model)
    for name, value in (("max_steps", max_steps), ("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        if value is not None:
            check_positive_int(name, value)
    for name, value in (("max_seconds", max_seconds), ("clip_grad_norm", clip_grad_norm)):
        if value is not None:
            check_number(name, value, 0, low_open=True)
    check_bool("shuffle", shuffle)
    check_bool("progress", progress)
    effective_seed(seed)  # checks seed
    check_choice("on_nonfinite", on_nonfinite, ("raise", "stop"))
    _check_callable("on_step", on_step, "on_step(step, loss, model)")
    _check_callable("receipt", receipt, "receipt(history)")
    if isinstance(val_data, Iterator):
        raise TypeError(f"val_data must be re-iterable (it is evaluated more than once), got a one-shot "
                        f"{type(val_data).__name__}: pass a list of batches")
    if val_data is not None:
        _check_data("val_data", val_data, batch_size if isinstance(val_data, torch.utils.data.Dataset) else None)
    elif eval_every is not None:
        raise ValueError(f"eval_every needs val_data to evaluate, got eval_every={eval_every} with val_data=None")
    if checkpoint_every is not None and checkpoint_path is None:
        raise ValueError(f"checkpoint_every needs a checkpoint_path, got checkpoint_every={checkpoint_every} "
                         "with checkpoint_path=None")
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r} ({exc})") from None


# ----------------------------------------------------------------------------------------------
# Where a run is, and the batches from there on


@dataclass
class _Position:
    """Where a run stands: ``batch`` batches of epoch ``epoch`` (0-based) done, ``step`` updates in all."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    seconds: float = 0.0
    finished: bool = False
    # the data order's random state at the start of ``epoch`` (Datasets only), so that the epoch
    # can be replayed up to ``batch`` exactly as an uninterrupted run drew it
    order_state: torch.Tensor = None


class _SkipSampler(torch.utils.data.Sampler):
    """The indices of ``sampler`` from the ``start``-th on (the sampler draws its order as usual)."""

    def __init__(self, sampler, start):
        self.sampler, self.start = sampler, start

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.start, None)

    def __len__(self):
        return max(0, len(self.sampler) - self.start)


class _Batches:
    """The batches of each epoch of ``data``, from any batch on, in the order of an uninterrupted run.

    A Dataset is shuffled by torch's ``RandomSampler`` drawing from one ``torch.Generator``
    seeded with ``seed`` (sharded by ``DistributedSampler`` under torchrun); a list of batches
    keeps its order; an object with ``set_epoch(epoch)`` (as ``DistributedSampler`` has) is told
    the epoch first, so its order can be replayed.
    """

    def __init__(self, data, batch_size, shuffle, seed, context):
        self.data, self.batch_size, self.shuffle, self.context = data, batch_size, shuffle, context
        self.is_dataset = isinstance(data, torch.utils.data.Dataset)
        self.generator = torch.Generator().manual_seed(seed) if self.is_dataset else None
        self.replayable = self.is_dataset or isinstance(data, Sequence) or hasattr(data, "set_epoch")
        self.fingerprint = {
            "data": type(data).__name__,
            "data length": len(data) if hasattr(data, "__len__") else -1,
            "batch_size": batch_size if batch_size is not None else -1,
            "shuffle": shuffle,
            "seed": seed,
            "world_size": context.world_size if context else 1,
        }
        if not self.is_dataset:
            self.sampler = None
        elif context is not None:
            self.sampler = torch.utils.data.distributed.DistributedSampler(data, shuffle=shuffle, seed=seed)
        elif shuffle:
            self.sampler = torch.utils.data.RandomSampler(data, generator=self.generator)
        else:
            self.sampler = torch.utils.data.SequentialSampler(data)

    def epoch(self, position):
        """The batches of ``position.epoch`` after the first ``position.batch``."""
        if self.is_dataset:
            if position.batch == 0:
                position.order_state = self.generator.get_state()
            else:
                self.generator.set_state(position.order_state)
            if self.context is not None:
                self.sampler.set_epoch(position.epoch)
            return torch.utils.data.DataLoader(
                self.data, batch_size=self.batch_size, generator=self.generator,
                sampler=_SkipSampler(self.sampler, position.batch * self.batch_size),
            )
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(position.epoch)
        return itertools.islice(self.data, position.batch, None)


# ----------------------------------------------------------------------------------------------
# The loop


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
    checkpoint_every=None,
    resume=None,
    on_nonfinite="raise",
    progress=True,
    seed=0,
    on_step=None,
    receipt=None,
):
    """Train ``model`` by minimising ``loss_fn`` over ``data`` with :func:`train_step`; return a :class:`History`.

    Args:
        model: a ``torch.nn.Module``; it is moved to ``device``.
        data: a ``torch.utils.data.Dataset`` (shuffled in a seeded order, ``batch_size`` at a
            time), a list of batches (kept in order), or any re-iterable of batches (an object
            with ``set_epoch(epoch)`` is told each epoch first). A one-shot iterator (a generator)
            is allowed with ``epochs=1`` only.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; ``batch`` is already on ``device``.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        epochs: passes over ``data``.
        max_steps, max_seconds: stop early after this many steps / seconds (for equal-budget
            comparisons); ``None`` means no limit.
        clip_grad_norm: if given, clip the global gradient norm to this value.
        val_data: evaluated with :func:`evaluate` every ``eval_every`` steps and at the end of each epoch.
        device: defaults to :func:`rnnlib.get_device`.
        checkpoint_path: if given, a checkpoint is written there at the end of each epoch, every
            ``checkpoint_every`` steps and when the run stops, atomically (a temporary file
            renamed over the old one, so a crash never leaves half a checkpoint; only rank 0
            writes under torchrun). It holds everything :func:`fit` needs to resume.
        checkpoint_every: also write the checkpoint every this many steps.
        resume: a checkpoint written by :func:`fit`: the model, optimizer, history, position in
            the data and every random state (Python, NumPy, torch, CUDA, the data order) are
            restored and training continues as if it had never stopped, bit for bit. Call fit
            with the same arguments as the interrupted run: ``epochs`` and ``max_steps`` count
            from the start of that run. The whole checkpoint is checked before anything changes.
        on_nonfinite: what to do when a step's loss or gradient norm is NaN or infinite (the
            update is never applied, and no checkpoint is written after it): ``"raise"`` (the
            default) :class:`NonFiniteLossError`, or ``"stop"``: record that step in the history
            and return it (a chapter that shows a diverging run asks for this).
        progress: show a tqdm progress bar with the running loss (a widget in Jupyter); the
            environment variable ``RNNLIB_PROGRESS=0`` turns bars off everywhere.
        seed: seeds Python, NumPy and torch (:func:`rnnlib.seed_everything`) and the data order
            (both follow the seed family ``RNNLIB_SEED``).
        on_step: optional callback ``on_step(step, loss, model)`` called after each step; when it
            returns True the run ends after that step (the history is kept and ``val_data`` is
            evaluated, as when ``max_steps`` is reached), e.g. once a target loss is reached.
        receipt: optional callable ``receipt(history)``, e.g. :class:`rnnlib.energy.ComputeReceipt`;
            its result (wall time, FLOPs, estimated energy) is stored in ``history.receipt`` and
            printed at the end of the run.

    Calling fit again with the same optimizer continues that run: nothing is re-seeded, steps
    are numbered on, and this call's ``epochs``, ``max_steps`` and ``max_seconds`` count from
    where the run stands. With the same ``data`` the data order goes on too (the next batch; a
    new epoch gets a new order), so ``fit(epochs=1)`` twice trains exactly like ``fit(epochs=2)``.
    A new optimizer starts a new run. Objects that hold state between
    batches (``loss_fn`` or ``on_step`` with ``state_dict``/``load_state_dict``, such as
    :class:`rnnlib.bptt.TruncatedBPTT`) are saved in checkpoints too; other state, such as a
    learning-rate schedule stepped in ``on_step``, is not.
    """
    _check_fit_arguments(model, data, loss_fn, optimizer, epochs, max_steps, max_seconds, batch_size, shuffle,
                         clip_grad_norm, val_data, eval_every, device, checkpoint_every, checkpoint_path,
                         on_nonfinite, progress, seed, on_step, receipt)
    run = _Run(model, data, loss_fn, optimizer, epochs=epochs, max_steps=max_steps, max_seconds=max_seconds,
               batch_size=batch_size, shuffle=shuffle, clip_grad_norm=clip_grad_norm, val_data=val_data,
               eval_every=eval_every, device=device, checkpoint_path=checkpoint_path,
               checkpoint_every=checkpoint_every, resume=resume, on_nonfinite=on_nonfinite, progress=progress,
               seed=seed, on_step=on_step)
    model.train()
    while not run.finished():
        with run.epoch_batches() as bar:
            for batch in bar:
                if not run.step(batch, bar):
                    break
        run.end_epoch()
    return run.close(receipt)


class _Run:
    """The bookkeeping of one :func:`fit` run: where it stands, its history, budget and checkpoints."""

    # a later fit() with the same optimizer and data continues where the last one stopped
    _previous = weakref.WeakKeyDictionary()

    def __init__(self, model, data, loss_fn, optimizer, *, epochs, max_steps, max_seconds, batch_size, shuffle,
                 clip_grad_norm, val_data, eval_every, device, checkpoint_path, checkpoint_every, resume,
                 on_nonfinite, progress, seed, on_step):
        from rnnlib import distributed as dist_utils

        checkpoint_path = None if checkpoint_path is None else _check_checkpoint_path("checkpoint_path", checkpoint_path)
        checkpoint = None if resume is None else _read_checkpoint("resume", resume)
        self.context = dist_utils.setup_from_env()
        # the data order follows the seed family too (RNNLIB_SEED), like the weights
        self.batches = _Batches(data, batch_size, shuffle, effective_seed(seed), self.context)
        self.budget = {"epochs": epochs, "max_steps": max_steps}
        if checkpoint is not None:  # everything is checked before anything changes
            _check_resumable(checkpoint, self.batches, model, optimizer, loss_fn, on_step, self.budget)

        previous = self._previous.get(optimizer) if checkpoint is None else None
        if previous is None:
            seed_everything(seed)
            self.position = _Position()
        elif previous[0].data is data and previous[0].fingerprint == self.batches.fingerprint:
            # the run of the last call with this optimizer goes on where it stopped, data order included
            self.batches, self.position = previous
        else:
            # the run goes on over other data, from its first batch; nothing is re-seeded
            self.position = _Position(step=previous[1].step, seconds=previous[1].seconds)
        self.position.finished = False
        p = self.position
        # this call's budget counts from where the run stands (a resumed run's from its start)
        self.last_epoch, self.last_step, self.time_limit = (
            p.epoch + epochs, None if max_steps is None else p.step + max_steps,
            None if max_seconds is None else p.seconds + max_seconds)

        self.device = torch.device(device) if device is not None else (
            self.context.device if self.context else get_device())
        model.to(self.device)  # before the optimizer state is loaded, so that it lands on the same device
        self.history = History()
        if checkpoint is not None:
            self.position, self.history = _restore(checkpoint, model, optimizer, self.batches, loss_fn, on_step)
        self._previous[optimizer] = (self.batches, self.position)
        self.model, self.optimizer, self.loss_fn, self.on_step = model, optimizer, loss_fn, on_step
        self.train_model = dist_utils.wrap_model(model, self.context) if self.context else model
        self.is_main = self.context is None or self.context.rank == 0
        self.clip_grad_norm, self.on_nonfinite = clip_grad_norm, on_nonfinite
        self.val_data, self.eval_every = val_data, eval_every
        self.val_batch_size = batch_size if isinstance(val_data, torch.utils.data.Dataset) else None
        self.checkpoint_path = checkpoint_path if self.is_main else None
        self.checkpoint_every = checkpoint_every
        resumed_here = checkpoint is not None and checkpoint_path is not None and \
            os.path.abspath(checkpoint_path) == os.path.abspath(checkpoint["path"])
        self.saved_step = self.position.step if resumed_here else None
        # RNNLIB_PROGRESS=0 hides the bars everywhere (tools/execute_notebooks.py sets it for the book).
        self.show_progress = progress and self.is_main and os.environ.get("RNNLIB_PROGRESS", "1") != "0"
        self.start = time.perf_counter() - self.position.seconds
        self.seen = self.stop = False

    def finished(self):
        p = self.position
        return p.finished or p.epoch >= self.last_epoch or self._out_of_budget()

    def _out_of_budget(self):
        p = self.position
        return (self.last_step is not None and p.step >= self.last_step) or (
            self.time_limit is not None and p.seconds >= self.time_limit)

    def epoch_batches(self):
        """A progress bar over this epoch's batches, from the first one not trained on yet."""
        self.seen, self.stop = self.position.batch > 0, False
        return tqdm(self.batches.epoch(self.position), desc=f"epoch {self.position.epoch + 1}/{self.last_epoch}",
                    disable=not self.show_progress, leave=False)

    def step(self, batch, bar):
        """Train on one batch, then the step's bookkeeping; returns False when the run must stop."""
        self.seen = True
        batch = move_to(batch, self.device)
        try:
            loss, grad_norm = train_step(self.train_model, batch, self.loss_fn, self.optimizer, self.clip_grad_norm)
        except NonFiniteLossError as exc:
            return self._nonfinite(exc)
        p, history = self.position, self.history
        p.step, p.batch, p.seconds = p.step + 1, p.batch + 1, time.perf_counter() - self.start
        history.step.append(p.step)
        history.train_loss.append(loss)
        history.grad_norm.append(grad_norm)
        history.seconds.append(p.seconds)
        history.examples += _batch_size_of(batch)
        bar.set_postfix(loss=f"{loss:.4f}")
        # on_step returning True ends the run after this step, as a spent budget does
        asked_to_stop = self.on_step is not None and _stop_requested(self.on_step(p.step, loss, self.model))
        if self.val_data is not None and self.eval_every is not None and p.step % self.eval_every == 0:
            self._validate()
        self.stop = asked_to_stop or self._out_of_budget()
        if self.checkpoint_every is not None and p.step % self.checkpoint_every == 0 and not self.stop:
            self._save()
        return not self.stop

    def _nonfinite(self, exc):
        """Record the step that was not applied; raise or stop. Nothing is saved after it."""
        step = self.position.step + 1
        self.history.step.append(step)
        self.history.train_loss.append(exc.loss)
        self.history.grad_norm.append(exc.grad_norm)
        self.history.seconds.append(time.perf_counter() - self.start)
        self.position.finished = True
        if self.on_nonfinite == "raise":
            kept = (f"The last checkpoint, step {self.saved_step}, is kept at {self.checkpoint_path!r}. "
                    if self.saved_step is not None else "No checkpoint was written by this run. ")
            raise NonFiniteLossError(
                f"step {step}: the loss is {exc.loss} and the gradient norm {exc.grad_norm}: not finite, so fit "
                f"stopped before optimizer.step() (the model keeps the parameters of step {step - 1}). {kept}"
                "Lower the learning rate, clip the gradient norm (clip_grad_norm=...), or look for NaN/inf in this "
                "batch or a batch without any target; on_nonfinite='stop' returns the history instead of raising.",
                exc.loss, exc.grad_norm, step, self.history) from None
        return False

    def end_epoch(self):
        """Evaluate and save at the end of an epoch, or where the budget stopped the run."""
        p = self.position
        if p.finished:  # a non-finite step: nothing is evaluated or saved after it
            return
        if not self.seen:
            raise ValueError(f"data must yield at least one batch per epoch, got none in epoch {p.epoch + 1}"
                             + (" (a one-shot iterator is empty after its first pass)" if p.epoch else ""))
        if self.val_data is not None and (not self.history.val_step or self.history.val_step[-1] != p.step):
            self._validate()
        if not self.stop:
            p.epoch, p.batch = p.epoch + 1, 0
        p.finished = self.stop or p.epoch >= self.last_epoch
        self._save()

    def _validate(self):
        self.history.val_step.append(self.position.step)
        self.history.val_loss.append(
            evaluate(self.model, self.val_data, self.loss_fn, batch_size=self.val_batch_size, device=self.device))

    def _save(self):
        if self.checkpoint_path is None:
            return
        p = self.position
        payload = _payload(self.model, self.optimizer, {"step": p.step, "epoch": p.epoch})
        record = asdict(self.history)
        record.pop("receipt")
        generator = self.batches.generator
        payload["training"] = {
            "position": {k: v for k, v in asdict(p).items() if k != "order_state"},
            # at an epoch boundary the next epoch's order starts from the generator's current state
            "order_state": generator.get_state() if generator is not None and p.batch == 0 else p.order_state,
            "fingerprint": dict(self.batches.fingerprint),
            "budget": dict(self.budget),
            "history": record,
            "rng": _rng_state(),
            "loss_fn": self.loss_fn.state_dict() if _stateful(self.loss_fn) else None,
            "on_step": self.on_step.state_dict() if _stateful(self.on_step) else None,
        }
        _atomic_save(payload, self.checkpoint_path)
        self.saved_step = p.step

    def close(self, receipt):
        from rnnlib import distributed as dist_utils

        self.history.wall_seconds = time.perf_counter() - self.start
        if receipt is not None:
            self.history.receipt = receipt(self.history)
            if self.is_main:
                print(self.history.receipt)
        if self.context is not None:
            dist_utils.barrier(self.context)
        return self.history


# ----------------------------------------------------------------------------------------------
# Checkpoints


def _stateful(obj):
    return obj is not None and callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None))


def _rng_state():
    """Every random state a training step may draw from, in types that ``weights_only`` loads."""
    version, internal, gauss_next = random.getstate()
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state):
    python, numpy_state = state["python"], state["numpy"]
    random.setstate((python["version"], tuple(python["internal"].tolist()), python["gauss_next"]))
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _payload(model, optimizer, extra):
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
        payload["optimizer_class"] = type(optimizer).__name__
    return payload


def _atomic_save(payload, path):
    """Write ``payload`` to a temporary file next to ``path``, then rename it over ``path``.

    ``os.replace`` is atomic: a reader (or a run that resumes after a crash) finds either the
    old checkpoint or the new one, never half of one. A process killed mid-write leaves only a
    ``.<name>.*.tmp`` file beside it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    return path


def save_checkpoint(path, model, optimizer=None, **extra):
    """Save ``model`` (and ``optimizer``) state to ``path`` atomically.

    The file is written to a temporary file in the same folder and renamed over ``path``,
    so an interrupted save never leaves a half-written checkpoint. ``extra`` values must be
    plain Python numbers/strings (they are loaded with ``weights_only=True``). To resume a
    training run exactly, use :func:`fit`'s ``checkpoint_path`` and ``resume`` instead.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    for key, value in extra.items():
        if not isinstance(value, (int, float, str, bool, type(None))):
            raise TypeError(
                f"checkpoint extra value {key!r} must be an int, float, str, bool or None, got {type(value).__name__}"
            )
    path = _check_checkpoint_path("path", path)
    return _atomic_save(_payload(model, optimizer, extra), path)


def _read_checkpoint(name, path, map_location="cpu"):
    """The checkpoint dict at ``path`` (``name`` is the argument, for messages); ValueError if it is not one."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {type(path).__name__}") from None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name} must be an existing file (a checkpoint), got {path!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle, zip and weights_only errors all mean "not our checkpoint"
        raise ValueError(f"checkpoint {path!r} could not be read as an rnnlib checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), dict):
        got = sorted(map(str, payload)) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"checkpoint {path!r} must hold a dict with a 'model' state_dict, got {got}")
    payload["path"] = path
    return payload


def _check_model_state(payload, model):
    path = payload["path"]
    expected, state = model.state_dict(), payload["model"]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad_shapes = [
        f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and (not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != tuple(v.shape))
    ]
    if missing or unexpected or bad_shapes:
        raise ValueError(
            f"checkpoint {path!r} does not fit the model: missing keys {missing}, "
            f"unexpected keys {unexpected}, shape mismatches (checkpoint vs model) {bad_shapes}"
        )


def _check_optimizer_state(payload, optimizer):
    """Raise ValueError unless the checkpoint's optimizer state loads into ``optimizer``, entry by entry."""
    path = payload["path"]
    saved = payload.get("optimizer")
    if saved is None:
        raise ValueError(f"optimizer was given but checkpoint {path!r} holds no optimizer state: "
                         "load it with load_checkpoint(path, model)")
    saved_class = payload.get("optimizer_class")
    if saved_class is not None and saved_class != type(optimizer).__name__:
        raise ValueError(f"optimizer must be of class {saved_class} to load checkpoint {path!r}, got {type(optimizer).__name__}")
    groups = optimizer.param_groups
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list) or len(saved["param_groups"]) != len(groups):
        got = len(saved["param_groups"]) if isinstance(saved, dict) and isinstance(saved.get("param_groups"), list) else "?"
        raise ValueError(f"optimizer has {len(groups)} parameter groups, the one saved in {path!r} has {got}")
    index = {}
    for i, (group, saved_group) in enumerate(zip(groups, saved["param_groups"])):
        if len(group["params"]) != len(saved_group.get("params", ())):
            raise ValueError(f"optimizer's parameter group {i} holds {len(group['params'])} tensors, the one saved "
                             f"in {path!r} holds {len(saved_group.get('params', ()))}")
        # without the class name (older checkpoints), the settings tell the kind of optimizer
        if saved_class is None and set(group) != set(saved_group):
            raise ValueError(f"optimizer's settings {sorted(group)} differ from those saved in {path!r} "
                             f"{sorted(saved_group)}: is it another kind of optimizer?")
        index.update(zip(saved_group["params"], group["params"]))
    for key, state in saved.get("state", {}).items():
        if key not in index or not isinstance(state, dict):
            raise ValueError(f"checkpoint {path!r} holds optimizer state for a parameter {key!r} that optimizer does not have")
        for name, value in state.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != index[key].shape:
                raise ValueError(f"optimizer state {name!r} of parameter {key} in {path!r} has shape "
                                 f"{tuple(value.shape)}, the parameter has {tuple(index[key].shape)}")


def load_checkpoint(path, model, optimizer=None, map_location="cpu"):
    """Load a checkpoint written by :func:`save_checkpoint` or :func:`fit` into ``model`` (and ``optimizer``).

    Loads with ``torch.load(..., weights_only=True)``. Everything is checked before anything
    changes: a damaged or foreign file, a model of other keys or shapes, or an optimizer of
    another kind or size raises a ``ValueError`` naming the file and what differs, and ``model``
    and ``optimizer`` are left unchanged. Returns the ``extra`` dict.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    payload = _read_checkpoint("path", path, map_location)
    _check_model_state(payload, model)
    if optimizer is not None:
        _check_optimizer_state(payload, optimizer)
    model.load_state_dict(payload["model"], strict=True)
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    extra = payload.get("extra", {})
    return dict(extra) if isinstance(extra, dict) else {}


def _stop_requested(answer):
    """on_step's answer: None or a bool (NumPy's and torch's included); anything else is an error."""
    if answer is None:
        return False
    if isinstance(answer, (bool, np.bool_)) or (isinstance(answer, torch.Tensor) and answer.dtype == torch.bool
                                                and answer.numel() == 1):
        return bool(answer)
    raise TypeError(f"on_step must return None, True or False, got {type(answer).__name__} {answer!r}")


def _check_resumable(payload, batches, model, optimizer, loss_fn, on_step, budget):
    """Raise unless ``payload`` is a checkpoint of :func:`fit` that this call can continue exactly."""
    path = payload["path"]
    training = payload.get("training")
    if not isinstance(training, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"resume must be a checkpoint written by fit(checkpoint_path=...), got {path!r}, which holds "
                         "no training state (written by save_checkpoint?): load it with load_checkpoint instead")
    if not batches.replayable:
        raise ValueError(
            "resume needs data whose order fit can replay: a torch Dataset, a list of batches, or an object with "
            f"set_epoch(epoch); got data of type {type(batches.data).__name__}"
        )
    for saved, current in ((training.get("fingerprint", {}), batches.fingerprint), (training.get("budget", {}), budget)):
        for key, value in current.items():
            if saved.get(key) != value:
                argument = "data" if key.startswith("data") else key
                raise ValueError(f"{argument} must be as in the run that wrote {path!r} to resume it: its {key} was "
                                 f"{saved.get(key)!r}, got {value!r}")
    _check_model_state(payload, model)
    _check_optimizer_state(payload, optimizer)
    for name, obj in (("loss_fn", loss_fn), ("on_step", on_step)):
        if (training.get(name) is not None) != _stateful(obj):
            raise ValueError(f"{name} must keep state (state_dict/load_state_dict) exactly when the one of the run "
                             f"that wrote {path!r} did, to resume it")


def _restore(payload, model, optimizer, batches, loss_fn, on_step):
    """Load a checkpoint checked by :func:`_check_resumable`; return ``(position, history)``."""
    training = payload["training"]
    model.load_state_dict(payload["model"], strict=True)
    optimizer.load_state_dict(payload["optimizer"])
    for name, obj in (("loss_fn", loss_fn), ("on_step", on_step)):
        if training.get(name) is not None:
            obj.load_state_dict(training[name])
    _set_rng_state(training["rng"])
    position = _Position(**training["position"], order_state=training["order_state"])
    if batches.generator is not None and position.batch == 0:
        batches.generator.set_state(position.order_state)
    return position, History(**training["history"])
