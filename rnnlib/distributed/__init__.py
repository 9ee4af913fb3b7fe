"""rnnlib.distributed: training on several processes with the same code as on one.

- :mod:`~rnnlib.distributed.ddp`: DistributedDataParallel set up from torchrun's environment
  (:func:`~rnnlib.distributed.ddp.setup_from_env`, used by :func:`rnnlib.train.fit`);
- :mod:`~rnnlib.distributed.char_lm`: the experiment of the scaling appendix, the character model
  trained by ``fit`` on one process or several (``torchrun -m rnnlib.distributed.char_lm``).
"""

from rnnlib.distributed.ddp import DistContext, barrier, setup_from_env, wrap_model  # noqa: F401
