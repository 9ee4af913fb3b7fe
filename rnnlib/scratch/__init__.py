"""rnnlib.scratch: recurrent networks in NumPy, every forward with a hand-written backward.

Never imports torch (``params_from_torch`` only calls methods of the tensors it receives).

- cells ``rnn``, ``lstm``, ``gru``, each with ``step_forward, step_backward, forward, backward``
  (see :mod:`rnnlib.scratch.rnn`); the step functions hold each cell's equations, and
  ``unroll.forward(cell, ...)`` / ``unroll.backward(cell, ...)`` run any cell over time (BPTT);
- ``params``: ``params_from_torch``, ``params_to_torch``, ``stacked_params_from_torch``, ``init_params``;
- ``layers``: ``embedding_*``, ``linear_*``, ``softmax_cross_entropy``, ``sigmoid``;
- ``gradcheck``: ``numerical_gradient``, ``rel_error``, ``check_gradients``;
- ``optim``: ``SGD``, ``Adagrad``, ``Adam``, ``clip_grad_norm``, ``clip_grad_value``;
- ``wrappers``: ``bidirectional_*`` and ``stacked_*`` over any cell;
- ``attention``: additive and dot-product attention with a padding mask;
- ``captioning``: a captioning model (features -> h_0, embedding, RNN, masked softmax) and its loss.
"""

from rnnlib.scratch import attention, gradcheck, gru, layers, lstm, optim, params, rnn, unroll, wrappers
from rnnlib.scratch.attention import (
    additive_attention_backward,
    additive_attention_forward,
    dot_product_attention_backward,
    dot_product_attention_forward,
    init_additive_params,
)
from rnnlib.scratch.gradcheck import check_gradients, numerical_gradient, rel_error
from rnnlib.scratch.layers import (
    embedding_backward,
    embedding_forward,
    linear_backward,
    linear_forward,
    sigmoid,
    softmax_cross_entropy,
)
from rnnlib.scratch.optim import SGD, Adagrad, Adam, clip_grad_norm, clip_grad_value
from rnnlib.scratch.params import init_params, params_from_torch, params_to_torch, stacked_params_from_torch
from rnnlib.scratch.wrappers import bidirectional_backward, bidirectional_forward, stacked_backward, stacked_forward
from rnnlib.scratch import captioning  # noqa: E402
from rnnlib.scratch.captioning import (  # noqa: E402,F401
    captioning_greedy,
    captioning_loss,
    captioning_loss_backward,
    captioning_loss_forward,
    init_captioning_params,
)
