"""rnnlib.scratch: recurrent networks in NumPy, every forward with a hand-written backward.

Never imports torch (``params_from_torch`` only calls methods of the tensors it receives).

Cells, each with ``step_forward, step_backward, forward, backward`` (see ``rnnlib.scratch.rnn``):
``rnn``, ``lstm``, ``gru``. Parameters: ``params_from_torch``, ``params_to_torch``, ``init_params``.
Layers: ``embedding_*``, ``linear_*``, ``softmax_cross_entropy``. Gradient checks: ``gradcheck``.
"""

from rnnlib.scratch import gradcheck, gru, layers, lstm, params, rnn
from rnnlib.scratch.gradcheck import check_gradients, numerical_gradient, rel_error
from rnnlib.scratch.layers import (
    embedding_backward,
    embedding_forward,
    linear_backward,
    linear_forward,
    sigmoid,
    softmax_cross_entropy,
)
from rnnlib.scratch.params import init_params, params_from_torch, params_to_torch, stacked_params_from_torch
