"""rnnlib.metrics: words, known_word_share and speaker_lines, the measures of generated text."""

import pytest

from rnnlib.metrics import known_word_share, speaker_lines, words

PLAY = "HAMLET:\nTo be, or not to be: that is the question.\n\nFIRST CLOWN:\nO'er the hill, sir!\n"


def test_words_are_lower_case_runs_of_letters_with_inner_apostrophes():
    assert words("To be, or NOT to be -- o'er 'tis x2") == ["to", "be", "or", "not", "to", "be", "o'er", "tis", "x"]
    assert words("") == []


def test_known_word_share_counts_every_occurrence():
    vocabulary = set(words(PLAY))
    assert known_word_share("To be or not", vocabulary) == 1.0
    # "the gorbly sir" -> 2 of 3 words are known
    assert known_word_share("the gorbly sir", vocabulary) == pytest.approx(2 / 3)
    assert known_word_share("Hamlet HAMLET hamlet zzz", vocabulary) == pytest.approx(3 / 4)


def test_known_word_share_rejects_bad_input():
    with pytest.raises(TypeError, match="vocabulary must be a set of words, got list"):
        known_word_share("to be", ["to", "be"])
    with pytest.raises(ValueError, match="text must contain at least one word"):
        known_word_share("!! --", {"to"})


def test_speaker_lines_are_names_in_capitals_alone_on_their_line():
    assert speaker_lines(PLAY) == ["HAMLET:", "FIRST CLOWN:"]
    assert speaker_lines("Hamlet:\nHAMLET: To be\n HAMLET:\nLADY MACBETH:\nKING-LEAR:") == ["LADY MACBETH:", "KING-LEAR:"]
    with pytest.raises(TypeError, match="text must be a str"):
        speaker_lines(None)
