"""Parameters of the scratch cells: PyTorch's default initialisation, and exchange with torch.

A cell's params is a dict of NumPy arrays in PyTorch's layout (G = 1 RNN, 4 LSTM, 3 GRU)::

    W_ih (G*H, D)   W_hh (G*H, H)   b_ih (G*H,)   b_hh (G*H,)

which are ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` of layer k
of ``torch.nn.RNN/LSTM/GRU`` (``..._reverse`` for the backward direction), or ``weight_ih`` etc.
of the cells ``torch.nn.RNNCell/LSTMCell/GRUCell``. ``rnnlib.nn`` modules use the same names.

This module never imports torch at import time: ``params_from_torch`` only calls methods of
the tensors it is given, and ``params_to_torch`` imports torch inside the function.
"""

import numpy as np

from rnnlib.layout import GATES, PARAM_KEYS
from rnnlib.scratch import _checks
from rnnlib.validate import check_keys, check_positive_int

# scratch key -> torch parameter name (before the layer suffix)
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def _suffix(module, layer, reverse):
    """The parameter-name suffix: "" for a cell, "_l{layer}" or "_l{layer}_reverse" otherwise."""
    if not hasattr(module, "named_parameters"):
        raise TypeError(f"module must be a torch.nn.Module (RNN, LSTM, GRU or a cell), got {type(module).__name__}")
    if hasattr(module, "weight_ih"):  # RNNCell, LSTMCell, GRUCell
        if layer != 0 or reverse:
            raise ValueError(f"a cell module has one layer and one direction: layer must be 0 and reverse False, "
                             f"got layer={layer!r}, reverse={reverse!r}")
        return ""
    num_layers = getattr(module, "num_layers", 1)
    check_positive_int("layer", layer, allow_zero=True)
    if layer >= num_layers:
        raise ValueError(f"layer must be in [0, {num_layers}) for a module with num_layers={num_layers}, got {layer}")
    if reverse and not getattr(module, "bidirectional", False):
        raise ValueError("reverse=True needs a bidirectional module, got bidirectional=False")
    return f"_l{layer}" + ("_reverse" if reverse else "")


def params_from_torch(module, layer=0, reverse=False):
    """Copy one layer/direction of a torch (or rnnlib.nn) recurrent module into a params dict.

    Returns float64 NumPy copies (changing them does not change the module). A module built
    with ``bias=False`` gives zero biases.
    """
    suffix = _suffix(module, layer, reverse)
    W_ih = getattr(module, "weight_ih" + suffix)
    params = {}
    for key, name in TORCH_NAMES.items():
        tensor = getattr(module, name + suffix, None)
        if tensor is None:  # bias=False
            params[key] = np.zeros(W_ih.shape[0])
        else:
            params[key] = tensor.detach().cpu().double().numpy().copy()
    return params


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy a params dict into one layer/direction of a torch (or rnnlib.nn) module, in place.

    Values are cast to the module's dtype and device. Returns the module.
    """
    import torch

    suffix = _suffix(module, layer, reverse)
    check_keys("params", params, PARAM_KEYS)
    with torch.no_grad():
        for key, name in TORCH_NAMES.items():
            target = getattr(module, name + suffix, None)
            value = params[key]
            if target is None:  # bias=False: only zero biases can be represented
                if np.any(value != 0):
                    raise ValueError(f"params['{key}'] must be zero for a module built with bias=False")
                continue
            _checks.check_array(f"params['{key}']", value, tuple(target.shape), f"(shape of {name + suffix})")
            target.copy_(torch.as_tensor(value, dtype=target.dtype, device=target.device))
    return module


def stacked_params_from_torch(module):
    """All layers of a multi-layer (bidirectional) module, in the layout that
    :func:`rnnlib.scratch.wrappers.stacked_forward` takes: a list with one entry per layer,
    each a params dict, or a pair ``(params, params_reverse)`` when the module is bidirectional.
    """
    num_layers = getattr(module, "num_layers", 1)
    if getattr(module, "bidirectional", False):
        return [(params_from_torch(module, k), params_from_torch(module, k, reverse=True)) for k in range(num_layers)]
    return [params_from_torch(module, k) for k in range(num_layers)]


def init_params(cell, input_size, hidden_size, rng, dtype=np.float64):
    """PyTorch's default initialisation: every entry ~ U(-1/sqrt(H), 1/sqrt(H)).

    cell: "rnn", "lstm", "gru" (or the module rnnlib.scratch.rnn/lstm/gru);
    rng: a ``np.random.Generator`` (e.g. ``np.random.default_rng(0)``).
    """
    gates = GATES[_checks.cell_module(cell).CELL]
    D = check_positive_int("input_size", input_size)
    H = check_positive_int("hidden_size", hidden_size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    bound = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (gates * H, D), "W_hh": (gates * H, H), "b_ih": (gates * H,), "b_hh": (gates * H,)}
    return {key: rng.uniform(-bound, bound, size=shape).astype(dtype) for key, shape in shapes.items()}
