"""Generated scenes of coloured shapes with captions, for image captioning (chapter 7).

Each image is a small RGB picture (``image_size`` x ``image_size``, 32 by default) of one to three
objects; each object has a *size* (small, big), a *colour* (red, green, blue, yellow) and a
*shape* (circle, square, triangle), and stands in its own column (left, middle, right) at a random
height. The caption names the objects from left to right::

    a small red circle left of a big blue square left of a small yellow triangle

so a caption is a list of objects joined by the relation ``left of``, and it can be parsed back
into the scene (:func:`parse_caption`, used by :func:`caption_semantic_scores`).

Compositional generalisation: some colour--shape pairs (:data:`WITHHELD_PAIRS`, e.g. a red
triangle) never occur in the training, validation or test scenes, although each colour and each
shape occurs with the others. The ``unseen`` split holds scenes with at least one withheld pair.

Everything is generated from a seed: the same seed gives the same images and captions.
"""

from dataclasses import dataclass, field

import numpy as np

from rnnlib.data.vocab import Vocab
from rnnlib.validate import check_positive_int, check_rng

__all__ = [
    "SIZES",
    "COLOURS",
    "SHAPES",
    "WITHHELD_PAIRS",
    "RELATION",
    "SceneObject",
    "SceneSet",
    "scene_vocab",
    "render_scene",
    "caption_words",
    "parse_caption",
    "caption_semantic_scores",
    "make_scenes",
    "scene_splits",
]

SIZES = ("small", "big")
COLOURS = {
    "red": (0.90, 0.12, 0.10),
    "green": (0.10, 0.72, 0.15),
    "blue": (0.15, 0.30, 0.95),
    "yellow": (0.95, 0.85, 0.10),
}
SHAPES = ("circle", "square", "triangle")
# one withheld shape per colour, each shape withheld once: every word is still seen in training
WITHHELD_PAIRS = frozenset({("red", "triangle"), ("blue", "circle"), ("yellow", "square")})
RELATION = ("left", "of")
COLUMNS = 3
_RADIUS = {"small": 0.11, "big": 0.16}  # as a fraction of the image side
_BACKGROUND = 0.12
_NOISE = 0.03


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene: its words and where it stands (column 0..2, centre y in [0, 1])."""

    size: str
    colour: str
    shape: str
    column: int = 0
    y: float = 0.5

    @property
    def words(self):
        """The object as a caption phrase: ``("a", size, colour, shape)``."""
        return ("a", self.size, self.colour, self.shape)

    @property
    def attributes(self):
        """``(size, colour, shape)``: what a caption says about the object."""
        return (self.size, self.colour, self.shape)


def scene_vocab():
    """The caption vocabulary: special tokens, ``a``, sizes, colours, shapes, ``left``, ``of``."""
    return Vocab(["a", *SIZES, *COLOURS, *SHAPES, *RELATION], specials=("<pad>", "<start>", "<end>"))


def caption_words(objects):
    """The caption of a scene: its objects from left to right, joined by ``left of``."""
    words = []
    for k, obj in enumerate(sorted(objects, key=lambda o: o.column)):
        if k:
            words += RELATION
        words += obj.words
    return words


def parse_caption(words):
    """Parse a caption back into ``(objects, well_formed)``.

    ``objects`` is the list of ``(size, colour, shape)`` triples that the caption names, left to
    right, read as ``a <size> <colour> <shape>`` groups separated by ``left of``; words that do
    not fit the grammar are skipped (and ``well_formed`` is False), so that a partly wrong
    caption still yields the objects it names correctly.
    """
    if isinstance(words, str):
        words = words.split()
    objects, well_formed, i = [], True, 0
    while i < len(words):
        group = tuple(words[i : i + 4])
        if len(group) == 4 and group[0] == "a" and group[1] in SIZES and group[2] in COLOURS and group[3] in SHAPES:
            objects.append(group[1:])
            i += 4
            if i < len(words):
                if tuple(words[i : i + 2]) == RELATION:
                    i += 2
                else:
                    well_formed = False
        else:
            well_formed = False
            i += 1
    if not objects:
        well_formed = False
    return objects, well_formed


def caption_semantic_scores(captions, scenes):
    """Parse each caption back into objects and compare them with its scene
    (:func:`rnnlib.metrics.object_scores`: object precision, recall and F1, relation accuracy, exact
    and well-formed fractions).

    ``captions``: N strings or word lists in the scene grammar (``a <size> <colour> <shape>``
    groups joined by ``left of``); ``scenes``: N lists of the true objects, left to right, each a
    ``(size, colour, shape)`` triple or a :class:`SceneObject`.
    """
    from rnnlib.metrics import object_scores

    if len(captions) != len(scenes):
        raise ValueError(f"scenes must hold one scene per caption ({len(captions)}), got {len(scenes)}")
    if not captions:
        raise ValueError("captions must not be empty, got 0 captions")
    parsed = [parse_caption(caption) for caption in captions]
    truth = [[tuple(o.attributes) if hasattr(o, "attributes") else tuple(o) for o in scene] for scene in scenes]
    return object_scores([objects for objects, _ in parsed], truth, [ok for _, ok in parsed])


def render_scene(objects, image_size=32, rng=None):
    """Draw a scene: float32 array (3, image_size, image_size) in [0, 1], channels first (as torch).

    A dark background, each object filled with its colour; with ``rng``, Gaussian pixel noise
    (standard deviation 0.03) so that no two images are identical.
    """
    check_positive_int("image_size", image_size)
    coords = (np.arange(image_size) + 0.5) / image_size
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    image = np.full((3, image_size, image_size), _BACKGROUND, dtype=np.float64)
    for obj in objects:
        cx, cy, r = (obj.column + 0.5) / COLUMNS, obj.y, _RADIUS[obj.size]
        if obj.shape == "circle":
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r**2
        elif obj.shape == "square":
            half = 0.85 * r  # the square's area is close to the circle's
            inside = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        else:  # an upright triangle: its half-width grows from 0 at the apex to r at the base
            top, bottom = cy - r, cy + r
            inside = (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= (yy - top) / 2)
        image[:, inside] = np.asarray(COLOURS[obj.colour])[:, None]
    if rng is not None:
        image += rng.normal(0.0, _NOISE, size=image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


@dataclass
class SceneSet:
    """A split of scenes.

    ``images`` float32 (N, 3, S, S); ``captions`` int64 (N, L) = ``<start> words <end> <pad>...``;
    ``objects`` a list of N lists of :class:`SceneObject`; ``texts`` the N captions as strings.
    """

    images: np.ndarray
    captions: np.ndarray
    objects: list
    texts: list = field(default_factory=list)

    def __len__(self):
        return len(self.objects)

    def tensors(self):
        """``(images, captions)`` as torch tensors (float32, int64), e.g. for a TensorDataset."""
        import torch

        return torch.from_numpy(self.images), torch.from_numpy(self.captions)


def _sample_object(rng, column, pairs):
    colour, shape = pairs[rng.integers(len(pairs))]
    size = SIZES[rng.integers(len(SIZES))]
    margin = _RADIUS["big"] + 0.02
    return SceneObject(size, colour, shape, int(column), float(rng.uniform(margin, 1 - margin)))


def _sample_scene(rng, unseen, max_objects):
    seen_pairs = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in WITHHELD_PAIRS]
    all_pairs = [(c, s) for c in COLOURS for s in SHAPES]
    count = int(rng.integers(1, max_objects + 1))
    columns = np.sort(rng.choice(COLUMNS, size=count, replace=False))
    if not unseen:
        return [_sample_object(rng, col, seen_pairs) for col in columns]
    # at least one withheld pair, in a random position; the others from every pair
    withheld = sorted(WITHHELD_PAIRS)
    special = int(rng.integers(count))
    return [
        _sample_object(rng, col, withheld if k == special else all_pairs) for k, col in enumerate(columns)
    ]


def make_scenes(n, rng, image_size=32, unseen=False, max_objects=3, vocab=None):
    """``n`` scenes drawn with ``rng`` (a ``numpy.random.Generator`` or an int seed); returns a :class:`SceneSet`.

    With ``unseen=False`` no object is a withheld colour--shape pair; with ``unseen=True`` every
    scene has at least one. Captions are padded to the longest possible caption
    (``max_objects`` objects), so that every split has the same length L.
    """
    check_positive_int("n", n)
    check_positive_int("max_objects", max_objects)
    if max_objects > COLUMNS:
        raise ValueError(f"max_objects must be at most {COLUMNS} (one object per column), got {max_objects}")
    rng = check_rng(rng)
    vocab = vocab or scene_vocab()
    max_len = 2 + 4 * max_objects + 2 * (max_objects - 1)
    objects = [_sample_scene(rng, unseen, max_objects) for _ in range(n)]
    images = np.stack([render_scene(objs, image_size, rng) for objs in objects])
    words = [caption_words(objs) for objs in objects]
    captions = np.array([vocab.encode(w, bos_eos=True, max_len=max_len) for w in words], dtype=np.int64)
    return SceneSet(images, captions, objects, [" ".join(w) for w in words])


def scene_splits(n_train=4000, n_val=500, n_test=500, n_unseen=500, rng=0, image_size=32, max_objects=3):
    """Train, validation, test and unseen-combination splits; returns ``(splits, vocab)``.

    ``splits`` is a dict ``{"train", "val", "test", "unseen"}`` of :class:`SceneSet`. Each split
    has its own random stream spawned from ``rng`` (a ``numpy.random.Generator`` or an int seed),
    so changing one split's size leaves the others unchanged. Only ``unseen`` holds the
    colour--shape pairs of :data:`WITHHELD_PAIRS`.
    """
    sizes = {name: check_positive_int(f"n_{name}", n)
             for name, n in (("train", n_train), ("val", n_val), ("test", n_test), ("unseen", n_unseen))}
    streams = check_rng(rng).spawn(len(sizes))
    vocab = scene_vocab()
    splits = {
        name: make_scenes(n, stream, image_size, unseen=(name == "unseen"), max_objects=max_objects, vocab=vocab)
        for (name, n), stream in zip(sizes.items(), streams)
    }
    return splits, vocab
