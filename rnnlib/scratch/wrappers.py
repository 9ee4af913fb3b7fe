"""Bidirectional and stacked (multi-layer) recurrent networks, written once over any cell.

``cell`` is one of the modules :mod:`rnnlib.scratch.rnn`, :mod:`~rnnlib.scratch.lstm`,
:mod:`~rnnlib.scratch.gru` (or its name): anything with ``forward(x, state0, params, **options)``
and ``backward(dhs, cache, dstate_T)``. ``options`` (e.g. ``nonlinearity="relu"``) go to the cell.

States follow ``torch.nn``'s stacked layout: an array of shape (L * dirs, N, H) for RNN and
GRU, a tuple (h, c) of two such arrays for the LSTM, where index ``layer * dirs + direction``
holds that layer and direction (direction 1 = reverse). So the results compare directly with
``torch.nn.LSTM(num_layers=L, bidirectional=..., batch_first=True)``, whose weights
``stacked_params_from_torch(module)`` returns in the layout ``stacked_forward`` takes.

    hs, state_n, cache = bidirectional_forward(cell, x, state0, params, params_reverse)
    dx, dstate0, (grads, grads_reverse) = bidirectional_backward(dhs, cache, dstate_n=None)
    hs, state_n, cache = stacked_forward(cell, x, state0, layers, bidirectional=False)
    dx, dstate0, layer_grads = stacked_backward(dhs, cache, dstate_n=None)
"""

from typing import NamedTuple

import numpy as np

from rnnlib.scratch._checks import _describe, cell_module, check_array


class BidirectionalCache(NamedTuple):
    cell: object  # the cell module
    forward: tuple  # cache of the left-to-right pass
    reverse: tuple  # cache of the right-to-left pass (on the time-reversed input)


class StackedCache(NamedTuple):
    cell: object
    bidirectional: bool
    layers: list  # one cache per layer


# A state is an array h or a tuple (h, c); these helpers work on either, one component at a time.

def _stack(states):
    """Per-layer-and-direction states (each (N, H) or a tuple of them) -> torch layout (K, N, H)."""
    if isinstance(states[0], tuple):
        return tuple(np.stack(parts) for parts in zip(*states))
    return np.stack(states)


def _pick(stacked, k):
    """State k of a stacked state (or None)."""
    if stacked is None:
        return None
    return tuple(part[k] for part in stacked) if isinstance(stacked, tuple) else stacked[k]


def _check_stacked(cell, name, stacked, K):
    """A stacked state must have K entries on its first axis (None passes)."""
    if stacked is None:
        return
    if cell.CELL == "lstm":
        if not isinstance(stacked, tuple) or len(stacked) != 2:
            raise TypeError(f"{name} must be a tuple (h, c) of arrays of shape ({K}, N, H) for an LSTM, "
                            f"got {_describe(stacked)}")
        parts = [(f"{name}[0] (h)", stacked[0]), (f"{name}[1] (c)", stacked[1])]
    else:
        if isinstance(stacked, tuple):
            raise TypeError(f"{name} must be an array of shape ({K}, N, H), got {_describe(stacked)}")
        parts = [(name, stacked)]
    for part_name, part in parts:
        check_array(part_name, part, (K, "N", "H"), "(layers * directions, N, H)")


def bidirectional_forward(cell, x, state0, params, params_reverse, **options):
    """One bidirectional layer: a left-to-right and a right-to-left pass, outputs concatenated.

    x (N, T, D); state0 None or stacked (2, N, H) [a tuple of two for LSTM]: index 0 forward,
    1 reverse. Returns ``(hs, state_n, cache)`` with hs (N, T, 2H) = [forward h_t, reverse h_t]
    and state_n stacked (2, N, H): the forward pass ends at t = T, the reverse one at t = 1.
    """
    cell = cell_module(cell)
    _check_stacked(cell, "state0", state0, 2)
    hs_f, state_f, cache_f = cell.forward(x, _pick(state0, 0), params, **options)
    # the reverse pass reads the sequence from the end: run the same cell on x[:, ::-1]
    hs_r, state_r, cache_r = cell.forward(x[:, ::-1], _pick(state0, 1), params_reverse, **options)
    # hs_r[:, s] belongs to time step T-1-s: flip it back before concatenating
    hs = np.concatenate([hs_f, hs_r[:, ::-1]], axis=-1)
    return hs, _stack([state_f, state_r]), BidirectionalCache(cell, cache_f, cache_r)


def bidirectional_backward(dhs, cache, dstate_n=None):
    """Backward of :func:`bidirectional_forward`.

    dhs (N, T, 2H); dstate_n None or stacked like state_n. Returns
    ``(dx, dstate0, (grads, grads_reverse))``, dx (N, T, D), dstate0 stacked (2, N, H).
    """
    if not isinstance(cache, BidirectionalCache):
        raise TypeError(f"cache must be the cache returned by bidirectional_forward, got {type(cache).__name__}")
    cell = cache.cell
    T, (N, H) = len(cache.forward.steps), cache.forward.steps[0].h_prev.shape
    check_array("dhs", dhs, (N, T, 2 * H), "(forward and reverse halves)")
    _check_stacked(cell, "dstate_n", dstate_n, 2)
    dx_f, dstate_f, grads_f = cell.backward(dhs[..., :H], cache.forward, _pick(dstate_n, 0))
    # the reverse pass saw time reversed: reverse its upstream gradient, and its dx back
    dx_r, dstate_r, grads_r = cell.backward(dhs[:, ::-1, H:], cache.reverse, _pick(dstate_n, 1))
    dx = dx_f + dx_r[:, ::-1]
    return dx, _stack([dstate_f, dstate_r]), (grads_f, grads_r)


def stacked_forward(cell, x, state0, layers, bidirectional=False, **options):
    """L layers, each reading the previous layer's outputs (as ``torch.nn`` with num_layers=L).

    layers: list of L params dicts, or of L pairs ``(params, params_reverse)`` when
    bidirectional (see :func:`rnnlib.scratch.params.stacked_params_from_torch`).
    x (N, T, D); state0 None or stacked (L * dirs, N, H). Returns ``(hs, state_n, cache)``:
    hs (N, T, dirs * H), the top layer's outputs; state_n stacked (L * dirs, N, H).
    """
    cell = cell_module(cell)
    if not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise ValueError(f"layers must be a non-empty list of params (one per layer), got {_describe(layers)}")
    dirs = 2 if bidirectional else 1
    for k, layer in enumerate(layers):
        is_pair = isinstance(layer, (tuple, list)) and len(layer) == 2
        if (bidirectional and not is_pair) or (not bidirectional and not isinstance(layer, dict)):
            expected = "a pair (params, params_reverse)" if bidirectional else "a params dict"
            raise TypeError(f"layers[{k}] must be {expected} (bidirectional={bidirectional}), got {_describe(layer)}")
    _check_stacked(cell, "state0", state0, len(layers) * dirs)

    caches, final_states = [], []
    for k, layer in enumerate(layers):
        if bidirectional:
            layer_state0 = None if state0 is None else _stack([_pick(state0, 2 * k), _pick(state0, 2 * k + 1)])
            x, state_n, layer_cache = bidirectional_forward(cell, x, layer_state0, *layer, **options)
            final_states += [_pick(state_n, 0), _pick(state_n, 1)]
        else:
            x, state_n, layer_cache = cell.forward(x, _pick(state0, k), layer, **options)
            final_states.append(state_n)
        caches.append(layer_cache)
    return x, _stack(final_states), StackedCache(cell, bidirectional, caches)


def stacked_backward(dhs, cache, dstate_n=None):
    """Backward of :func:`stacked_forward`: from the top layer down.

    dhs (N, T, dirs * H); dstate_n None or stacked (L * dirs, N, H). Returns
    ``(dx, dstate0, layer_grads)``: dx (N, T, D), dstate0 stacked like state0, and layer_grads
    with the layout of ``layers`` (a grads dict, or a pair of them, per layer).
    """
    if not isinstance(cache, StackedCache):
        raise TypeError(f"cache must be the cache returned by stacked_forward, got {type(cache).__name__}")
    dirs = 2 if cache.bidirectional else 1
    _check_stacked(cache.cell, "dstate_n", dstate_n, len(cache.layers) * dirs)
    layer_grads, dstates0 = [], []
    for k in reversed(range(len(cache.layers))):
        # the gradient w.r.t. this layer's outputs is the gradient w.r.t. the next layer's input
        if cache.bidirectional:
            layer_dstate = None if dstate_n is None else _stack([_pick(dstate_n, 2 * k), _pick(dstate_n, 2 * k + 1)])
            dhs, dstate0, grads = bidirectional_backward(dhs, cache.layers[k], layer_dstate)
            dstates0 = [_pick(dstate0, 0), _pick(dstate0, 1)] + dstates0
        else:
            dhs, dstate0, grads = cache.cell.backward(dhs, cache.layers[k], _pick(dstate_n, k))
            dstates0 = [dstate0] + dstates0
        layer_grads.insert(0, grads)
    return dhs, _stack(dstates0), layer_grads
