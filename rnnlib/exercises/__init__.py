"""Checkers that learners call on their own code: ``check_rnn_step_forward(my_fn)`` and friends.

Each checker runs the learner's function on fixed and random inputs against rnnlib's reference,
prints a verdict (what matched, the worst relative error) and, on failure, raises
``AssertionError`` with a hint when it recognises a common mistake.
"""

from rnnlib.exercises.rnn import check_rnn_step_backward, check_rnn_step_forward  # noqa: F401
from rnnlib.exercises.lstm import (  # noqa: E402,F401
    check_gru_step_forward,
    check_lstm_step_backward,
    check_lstm_step_forward,
)
from rnnlib.exercises.scaling import check_average_gradients  # noqa: E402,F401
from rnnlib.exercises.bias import check_bias_amplification  # noqa: E402,F401
from rnnlib.exercises.clipping import check_clip_grad_norm  # noqa: E402,F401
from rnnlib.exercises.attention import check_attention  # noqa: E402,F401
from rnnlib.exercises.bidirectional import check_bidirectional_forward  # noqa: E402,F401
from rnnlib.exercises.captioning import check_caption_loss  # noqa: E402,F401
from rnnlib.exercises.energy import check_recurrent_flops  # noqa: E402,F401
