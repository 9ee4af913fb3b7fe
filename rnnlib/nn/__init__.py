"""rnnlib.nn: PyTorch modules written from tensor primitives, compatible with torch.nn.

``RNN``, ``LSTM``, ``GRU`` and their cells have torch.nn's constructor arguments, state_dict
keys and forward semantics (``batch_first`` defaults to True here); they run the fast kernels of
``rnnlib.nn.fast`` by default and the readable step functions of ``rnnlib.nn.cells`` with
``impl="readable"``. The attention modules
return ``(context, weights)`` and take a padding mask.
"""

from rnnlib.nn.attention import AdditiveAttention, DotProductAttention
from rnnlib.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from rnnlib.nn.tagger import SequenceTagger  # noqa: E402,F401
from rnnlib.nn.decoding import Hypothesis, beam_search  # noqa: E402,F401
from rnnlib.nn.seq2seq import EncoderOutput, Seq2Seq, length_mask, reverse_padded  # noqa: E402,F401
from rnnlib.nn.captioning import CaptionModel, CNNEncoder, caption_loss  # noqa: E402,F401
from rnnlib.nn.models import CharLM, SequenceRegressor  # noqa: E402,F401
