"""rnnlib.data.scenes: captions describe the rendered scene, withheld pairs stay out of training, seeded."""

import numpy as np
import pytest

from rnnlib.data import scenes
from rnnlib.data.scenes import (
    COLOURS,
    WITHHELD_PAIRS,
    SceneObject,
    caption_words,
    make_scenes,
    parse_caption,
    render_scene,
    scene_splits,
)


@pytest.fixture(scope="module")
def splits():
    return scene_splits(n_train=300, n_val=50, n_test=50, n_unseen=50, rng=3)


def test_shapes_and_vocabulary(splits):
    data, vocab = splits
    assert vocab.itos[:3] == ["<pad>", "<start>", "<end>"]
    for part in data.values():
        assert part.images.dtype == np.float32 and part.images.shape[1:] == (3, 32, 32)
        assert part.captions.dtype == np.int64 and part.captions.shape[1] == 18
        assert (part.captions[:, 0] == vocab.BOS).all()
        assert 0.0 <= part.images.min() and part.images.max() <= 1.0


def test_captions_describe_the_scene(splits):
    data, vocab = splits
    for part in data.values():
        for ids, objects, text in zip(part.captions, part.objects, part.texts):
            words = vocab.decode(ids)
            assert " ".join(words) == text
            left_to_right = sorted(objects, key=lambda o: o.column)
            parsed, ok = parse_caption(words)
            assert ok and parsed == [o.attributes for o in left_to_right]
            assert 1 <= len(objects) <= 3 and len({o.column for o in objects}) == len(objects)


def test_pixels_show_the_named_colours(splits):
    # independent of the renderer's bookkeeping: count pixels near each colour in the image
    data, _ = splits
    part = data["test"]
    for image, objects in zip(part.images[:20], part.objects[:20]):
        for name, rgb in COLOURS.items():
            close = (np.abs(image - np.asarray(rgb, np.float32)[:, None, None]).max(axis=0) < 0.15).sum()
            assert (close > 4) == any(o.colour == name for o in objects), name


def test_left_of_follows_pixel_positions():
    objects = [SceneObject("big", "blue", "square", column=2, y=0.5), SceneObject("small", "red", "circle", column=0, y=0.3)]
    image = render_scene(objects, 32)
    red_x = np.nonzero((image[0] > 0.8) & (image[2] < 0.3))[1].mean()
    blue_x = np.nonzero(image[2] > 0.8)[1].mean()
    assert red_x < blue_x
    assert " ".join(caption_words(objects)) == "a small red circle left of a big blue square"


def test_withheld_pairs_only_in_unseen(splits):
    data, _ = splits
    for name in ("train", "val", "test"):
        pairs = {(o.colour, o.shape) for objs in data[name].objects for o in objs}
        assert not pairs & WITHHELD_PAIRS, name
        assert " red triangle" not in " ".join(data[name].texts)
    assert all(any((o.colour, o.shape) in WITHHELD_PAIRS for o in objs) for objs in data["unseen"].objects)
    # every colour and every shape still appears in training
    train_words = set(" ".join(data["train"].texts).split())
    assert set(COLOURS) | set(scenes.SHAPES) <= train_words


def test_deterministic_and_split_streams_independent():
    a, _ = scene_splits(n_train=40, n_val=10, n_test=10, n_unseen=10, rng=5)
    b, _ = scene_splits(n_train=40, n_val=10, n_test=10, n_unseen=10, rng=5)
    c, _ = scene_splits(n_train=80, n_val=10, n_test=10, n_unseen=10, rng=5)
    d, _ = scene_splits(n_train=40, n_val=10, n_test=10, n_unseen=10, rng=6)
    for name in a:
        np.testing.assert_array_equal(a[name].images, b[name].images)
        np.testing.assert_array_equal(a[name].captions, b[name].captions)
    np.testing.assert_array_equal(a["test"].images, c["test"].images)
    assert not np.array_equal(a["train"].images, d["train"].images)


def test_parse_caption_tolerates_errors():
    objects, ok = parse_caption("a small red circle left of of a big blue square")
    assert objects == [("small", "red", "circle"), ("big", "blue", "square")] and not ok
    assert parse_caption("") == ([], False)


def test_bad_input():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed >= 0, got str 'x'"):
        make_scenes(3, rng="x")
    with pytest.raises(ValueError, match="max_objects"):
        make_scenes(3, np.random.default_rng(0), max_objects=4)
    with pytest.raises(ValueError, match="unknown tokens"):
        scenes.scene_vocab().encode(["a", "purple", "circle"])
