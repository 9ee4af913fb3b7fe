r"""Backpropagation through time in practice: truncation, memory, and gradient checkpointing.

* Truncated BPTT (Williams & Peng 1990) on top of :func:`rnnlib.train.fit`: long streams are
  cut into consecutive windows of ``k`` steps (:func:`stream_windows`); the loss function
  :class:`TruncatedBPTT` carries the recurrent state from one window to the next but *detaches*
  it, so the forward pass sees the whole past while gradients flow back at most ``k`` steps.
  In Williams & Peng's notation this is BPTT(k, k): every k steps, backpropagate k steps.
* :func:`peak_memory` measures the peak of the memory that tensors occupy while a function
  runs (a training step, say): on CUDA from the allocator's statistics, elsewhere by tracking
  every tensor storage that the function allocates.
* :func:`checkpointed_forward` runs a recurrent module over a sequence in segments under
  ``torch.utils.checkpoint`` (Chen et al. 2016): only the states at segment boundaries are kept
  for the backward pass, and each segment's activations are recomputed when its gradient is
  needed, trading one extra forward pass for memory.
"""

import weakref

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint

from rnnlib.validate import check_positive_int

__all__ = ["stream_windows", "TruncatedBPTT", "detach_state", "peak_memory", "checkpointed_forward"]


def detach_state(state):
    """Cut a state (a tensor, or a tuple such as ``(h, c)``) out of the autograd graph."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def stream_windows(x, y, window):
    """Cut parallel streams into consecutive windows for truncated BPTT.

    Row ``j`` of window ``i + 1`` continues row ``j`` of window ``i``, so a state carried
    from one window to the next is the state of the same stream.

    Args:
        x: (N, L, ...) tensor, N streams of length L (token ids or features).
        y: (N, L, ...) targets aligned with x.
        window: k, the number of steps per window (the last window may be shorter).

    Returns:
        a list of batches ``(x[:, s:s+k], y[:, s:s+k], position)`` with ``position`` a 0-d
        int64 tensor holding the window's index (0 starts a new pass: :class:`TruncatedBPTT`
        resets the state there). Pass the list as ``data`` to :func:`rnnlib.train.fit`, which
        keeps its order.
    """
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.dim() < 2 or y.dim() < 2 or x.shape[:2] != y.shape[:2]:
        raise ValueError(
            f"x and y must have shapes (N, L, ...) with the same N and L, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    check_positive_int("window", window)
    length = x.shape[1]
    return [
        (x[:, start : start + window], y[:, start : start + window], torch.tensor(index))
        for index, start in enumerate(range(0, length, window))
    ]


def _sequence_cross_entropy(outputs, targets):
    """Mean cross-entropy of logits (N, T, V) against targets (N, T), ignoring targets -100."""
    if not bool((targets != -100).any()):
        # a window with nothing to predict (e.g. before the first recall target): zero loss, not NaN
        return outputs.sum() * 0.0
    return F.cross_entropy(outputs.flatten(0, 1), targets.flatten(), ignore_index=-100)


class TruncatedBPTT:
    r"""A loss function for :func:`rnnlib.train.fit` that carries the state across windows.

    Called with a batch ``(x, y, position)`` from :func:`stream_windows`: it runs
    ``outputs, state = model(x, state)`` from the state the previous window ended in, stores
    that new state *detached* for the next window, and returns ``criterion(outputs, y)``.
    Gradients therefore stop at the window's start: BPTT(k, k) in Williams & Peng's terms.

    The state is reset at ``position == 0`` (a new pass over the streams), and training and
    evaluation (``model.training`` False, as in :func:`rnnlib.train.evaluate`) carry separate
    states, so evaluating in the middle of training does not disturb the training streams.
    ``state_dict()``/``load_state_dict()`` save and restore the carried states, so that a run
    resumed from a checkpoint (:func:`rnnlib.train.fit` with ``resume``) continues exactly.

    Args:
        criterion: ``criterion(outputs, targets) -> scalar``; by default the cross-entropy of
            logits (N, T, V) against token ids (N, T), ignoring -100.
    """

    def __init__(self, criterion=None):
        if criterion is not None and not callable(criterion):
            raise TypeError(f"criterion must be callable as criterion(outputs, targets), got {type(criterion).__name__}")
        self.criterion = criterion or _sequence_cross_entropy
        self._states = {True: None, False: None}

    def __call__(self, model, batch):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 3):
            raise ValueError(
                "batch must be (x, y, position) as made by stream_windows, got "
                f"{type(batch).__name__} of length {len(batch) if isinstance(batch, (tuple, list)) else '-'}"
            )
        x, y, position = batch
        mode = model.training
        if int(position) == 0:
            self._states[mode] = None
        outputs, state = model(x, self._states[mode])
        # the next window starts from this state, but its gradient stops here
        self._states[mode] = detach_state(state)
        return self.criterion(outputs, y)

    def state_dict(self):
        """The states carried to the next window, in training and in evaluation (tensors or None)."""
        return {"train": self._states[True], "eval": self._states[False]}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or set(state) != {"train", "eval"}:
            raise ValueError(f"state must be a dict with keys 'train' and 'eval' (from state_dict()), got {state!r}")
        self._states = {True: state["train"], False: state["eval"]}


class _StorageTracker(TorchDispatchMode):
    """Counts the bytes of every tensor storage created inside the mode while it is alive."""

    def __init__(self):
        super().__init__()
        self._live = {}
        self.current = 0
        self.peak = 0

    def _release(self, key):
        self.current -= self._live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0 or key in self._live:
                continue  # a view of a storage already counted, or nothing allocated
            self._live[key] = nbytes
            self.current += nbytes
            # torch keeps a storage's Python object alive as long as the storage itself, so
            # this runs when the memory is freed (by autograd or by Python), not before
            weakref.finalize(storage, self._release, key)
        self.peak = max(self.peak, self.current)
        return out


def peak_memory(fn, *args, device=None, **kwargs):
    """Run ``fn(*args, **kwargs)``; return ``(result, peak_bytes)``.

    ``peak_bytes`` is the highest amount of memory held by tensors that ``fn`` allocated, at
    any moment while it ran (memory allocated before the call -- parameters, inputs -- is not
    counted). On a CUDA ``device`` it comes from ``torch.cuda.max_memory_allocated``; on any
    other device every storage created by a torch operation is tracked until it is freed
    (this slows ``fn`` down: time it separately).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    device = torch.device(device) if device is not None else None
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        result = fn(*args, **kwargs)
        torch.cuda.synchronize(device)
        return result, int(torch.cuda.max_memory_allocated(device) - before)
    with _StorageTracker() as tracker:
        result = fn(*args, **kwargs)
    return result, int(tracker.peak)


def checkpointed_forward(module, x, state=None, *, segment_length, keep_outputs=True):
    r"""Run ``module`` over ``x`` in segments, each under ``torch.utils.checkpoint``.

    The forward pass keeps, for the backward pass, only each segment's input state (and its
    outputs if ``keep_outputs``); the backward pass recomputes one segment at a time. With
    ``segment_length`` :math:`s` the activation memory falls from :math:`O(T)` to
    :math:`O(T/s + s)`, smallest near :math:`s = \sqrt{T}` (Chen et al. 2016), for about one
    extra forward pass of compute.

    Args:
        module: recurrent module, ``forward(x (N, t, D), state) -> (outputs (N, t, H), state)``.
        x: (N, T, D) inputs.
        state: initial state or None.
        segment_length: steps per checkpointed segment.
        keep_outputs: return every step's output (N, T, H); with False only the final state
            is returned (outputs None) and no per-step output is held (many-to-one models).

    Returns:
        ``(outputs, state_T)`` as the module would, with gradients equal to the module's own.
    """
    check_positive_int("segment_length", segment_length)
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor of shape (N, T, D) (batch_first), got {got}")
    outputs = []

    def run_segment(segment, segment_state):
        return module(segment, segment_state)

    for start in range(0, x.shape[1], segment_length):
        out, state = checkpoint(run_segment, x[:, start : start + segment_length], state, use_reentrant=False)
        if keep_outputs:
            outputs.append(out)
    return (torch.cat(outputs, dim=1) if keep_outputs else None), state

