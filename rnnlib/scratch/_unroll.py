"""Old name of :mod:`rnnlib.scratch.unroll`, kept until chapter 2 prints the public one."""

from rnnlib.scratch.rnn import step_backward as param_grads  # noqa: F401  (the weight gradients live there now)
from rnnlib.scratch.unroll import backward, forward  # noqa: F401
