"""A probe of rnnlib's public API with bad and edge inputs, counted per kind (issue 17).

Each case runs one call and is classified as

* **clear error**: the expected exception type, raised from inside rnnlib, whose message names
  the argument (or, for a checker, names the learner's mistake);
* **correct result**: no exception, and the result passes the case's check;
* **silent wrong result**: no exception, but the result fails the check (or the case needed an
  error);
* **obscure error**: any other exception: raised from inside torch, NumPy or Python, of another
  type, or not naming the argument.

The kinds are those of issue 17: non-finite steps and losses, checkpoints and resume, numbers
(NaN, inf), the exercise checkers, token and special ids, data splits and series, late or
misleading errors, and rnnlib.nn under in-place use and autocast.

The test requires no silent wrong result and no obscure error, and prints the counts per kind.
Run ``python tests/test_probe_bad_inputs.py`` to see every case's outcome.
"""

import math
import os
import pickle
import random
import sys
import tempfile
import traceback
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
import torch

import rnnlib

RNNLIB_DIR = os.path.dirname(os.path.abspath(rnnlib.__file__))
OUTCOMES = ("clear error", "correct result", "silent wrong result", "obscure error")
BAD_NUMBERS = (float("nan"), float("inf"), float("-inf"))


@dataclass
class Probe:
    kind: str
    label: str
    run: Callable
    names: tuple = ()  # an error must name one of these (case-insensitive)
    check: Callable = None  # result -> True when the result is correct; None: an error is required
    error: tuple = (ValueError, TypeError)


@dataclass
class Report:
    outcomes: dict = field(default_factory=lambda: defaultdict(Counter))
    details: list = field(default_factory=list)


def _raised_in_rnnlib(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(RNNLIB_DIR)


def _where(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit(os.sep, 1)[-1]}:{frames[-1].lineno}" if frames else "?"


def classify(probe):
    """(outcome, detail) of one probe."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = probe.run()
    except Exception as exc:  # noqa: BLE001 - the probe classifies every exception
        message = str(exc)
        named = not probe.names or any(n.lower() in message.lower() for n in probe.names)
        if isinstance(exc, probe.error) and _raised_in_rnnlib(exc) and named:
            return "clear error", f"{type(exc).__name__}: {message[:160]}"
        return "obscure error", f"{type(exc).__name__} at {_where(exc)}: {message[:200]}"
    if probe.check is not None:
        try:
            ok = bool(probe.check(result))
        except Exception as exc:  # noqa: BLE001
            return "silent wrong result", f"check raised {type(exc).__name__}: {exc}"
        if ok:
            return "correct result", ""
    return "silent wrong result", f"returned {str(result)[:160]}"


def run_probes(probes):
    report = Report()
    for probe in probes:
        outcome, detail = classify(probe)
        report.outcomes[probe.kind][outcome] += 1
        report.details.append((probe.kind, probe.label, outcome, detail))
    return report


def format_counts(report):
    width = max(len(kind) for kind in report.outcomes)
    lines = [f"{'kind':{width}s}  " + "  ".join(f"{o:>19s}" for o in OUTCOMES) + "  total"]
    totals = Counter()
    for kind, counts in report.outcomes.items():
        totals.update(counts)
        lines.append(f"{kind:{width}s}  " + "  ".join(f"{counts[o]:19d}" for o in OUTCOMES)
                     + f"  {sum(counts.values()):5d}")
    lines.append(f"{'all':{width}s}  " + "  ".join(f"{totals[o]:19d}" for o in OUTCOMES)
                 + f"  {sum(totals.values()):5d}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Small things the cases share


def _linear(seed=0, out=1):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, out)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def _regression(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return torch.utils.data.TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5]]))


def _mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def _fit(model, data, **options):
    from rnnlib.train import fit

    args = dict(optimizer=torch.optim.SGD(model.parameters(), lr=0.05), progress=False, device="cpu")
    if isinstance(data, torch.utils.data.Dataset):
        args["batch_size"] = 8
    args.update(options)
    return fit(model, data, _mse, **args)


def _nan_batches(bad_at, n=5):
    """A list of n batches whose batch number ``bad_at`` (1-based) holds NaN inputs."""
    g = torch.Generator().manual_seed(1)
    batches = []
    for i in range(1, n + 1):
        x = torch.randn(4, 3, generator=g)
        if i == bad_at:
            x[0, 0] = float("nan")
        batches.append((x, torch.zeros(4, 1)))
    return batches


def _tmpdir():
    return tempfile.mkdtemp(prefix="rnnlib-probe-")


def _expect_raise(run, error, then=None):
    """Run ``run``; return "no error" when nothing was raised, else call ``then(exc)`` (or re-raise)."""
    try:
        run()
    except error as exc:
        if then is not None:
            return then(exc)
        raise
    return "no error"


# ----------------------------------------------------------------------------------------------
# Kind 1: a non-finite step is never applied or saved; losses on batches without targets


def _nonfinite_probes():
    kind = "non-finite steps and losses"
    probes = []

    def nan_at_step(bad_at, **options):
        def run():
            model = _linear()
            reference = _linear()
            _fit(reference, _nan_batches(bad_at)[: bad_at - 1], **{k: v for k, v in options.items()
                                                                   if k == "clip_grad_norm"}) if bad_at > 1 else None
            good = _params(reference)
            try:
                _fit(model, _nan_batches(bad_at), on_nonfinite="raise", **options)
            except FloatingPointError as exc:
                if not _same(_params(model), good):
                    return "the non-finite update was applied"
                raise exc
            return "no error"
        return run

    for bad_at in (1, 3):
        for clip in (None, 1.0):
            probes.append(Probe(kind, f"fit: NaN loss at step {bad_at}, clip_grad_norm={clip}",
                                nan_at_step(bad_at, clip_grad_norm=clip), names=(f"step {bad_at}",),
                                error=FloatingPointError))

    def infinite_gradient(clip):
        def run():
            model = torch.nn.Linear(1, 1)
            with torch.no_grad():
                model.weight.fill_(0.0)
                model.bias.fill_(0.0)
            before = _params(model)

            def sqrt_loss(m, batch):  # loss 0 (finite), gradient 0.5 / sqrt(0) = inf
                return torch.sqrt(m.weight.sum() + m.bias.sum())

            from rnnlib.train import fit

            try:
                fit(model, [(torch.zeros(1),)], sqrt_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                    clip_grad_norm=clip, progress=False, device="cpu", on_nonfinite="raise")
            except FloatingPointError:
                if not _same(_params(model), before):
                    return "the non-finite update was applied"
                raise
            return "no error"
        return run

    for clip in (None, 1.0):
        probes.append(Probe(kind, f"fit: finite loss, infinite gradient, clip_grad_norm={clip}",
                            infinite_gradient(clip), names=("gradient norm",), error=FloatingPointError))

    def checkpoint_survives(bad_at, checkpoint_every):
        def run():
            folder = _tmpdir()
            path = os.path.join(folder, "ckpt.pt")
            model = _linear()
            try:
                _fit(model, _nan_batches(bad_at), checkpoint_path=path, checkpoint_every=checkpoint_every,
                     on_nonfinite="raise")
            except FloatingPointError:
                pass
            else:
                return "no error"
            if not os.path.exists(path):
                return bad_at == 1  # nothing good to save before the first step
            state = torch.load(path, weights_only=True)["model"]
            return all(torch.isfinite(v).all() for v in state.values())
        return run

    for bad_at, every in ((1, 1), (3, 1), (4, 2), (5, 1)):
        probes.append(Probe(kind, f"fit: checkpoint after a NaN at step {bad_at} (checkpoint_every={every})",
                            checkpoint_survives(bad_at, every), check=lambda ok: ok is True))

    def stop_mode():
        model = _linear()
        history = _fit(model, _nan_batches(3), on_nonfinite="stop")
        return history, model

    probes.append(Probe(kind, "fit(on_nonfinite='stop') records the NaN step and stops", stop_mode,
                        check=lambda r: len(r[0].step) == 3 and math.isnan(r[0].train_loss[-1])
                        and all(torch.isfinite(p).all() for p in r[1].parameters())))
    probes.append(Probe(kind, "fit(on_nonfinite='ignore')", lambda: _fit(_linear(), _nan_batches(3), on_nonfinite="ignore"),
                        names=("on_nonfinite",)))

    def loss_fn_returns(value):
        def run():
            from rnnlib.train import fit

            model = _linear()
            return fit(model, [(torch.randn(4, 3), torch.zeros(4, 1))], lambda m, b: value(m, b),
                       optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False, device="cpu")
        return run

    probes.append(Probe(kind, "fit: loss_fn returns a float", loss_fn_returns(lambda m, b: 1.0), names=("loss_fn",)))
    probes.append(Probe(kind, "fit: loss_fn returns a detached loss",
                        loss_fn_returns(lambda m, b: _mse(m, b).detach()), names=("loss_fn",)))
    probes.append(Probe(kind, "fit: loss_fn returns a vector", loss_fn_returns(lambda m, b: m(b[0])),
                        names=("loss_fn",)))
    probes.append(Probe(kind, "fit: loss_fn returns None", loss_fn_returns(lambda m, b: None), names=("loss_fn",)))

    def caption_loss_all_padding():
        from rnnlib.nn.captioning import CaptionModel, caption_loss

        torch.manual_seed(0)
        model = CaptionModel(8, embedding_dim=4, hidden_size=8, channels=(4, 4, 4))
        images = torch.rand(2, 3, 8, 8)
        captions = torch.tensor([[1, 0, 0], [1, 0, 0]])
        loss = caption_loss(model, (images, captions))
        loss.backward()
        return loss

    probes.append(Probe(kind, "caption_loss on a batch whose captions are all padding", caption_loss_all_padding,
                        names=("captions",), check=lambda loss: loss.item() == 0.0))

    def truncated_bptt_no_targets():
        from rnnlib.bptt import TruncatedBPTT
        from rnnlib.nn.models import CharLM

        model = CharLM(4, 8)
        return TruncatedBPTT()(model, (torch.zeros(2, 3, dtype=torch.long), torch.full((2, 3), -100), torch.tensor(0)))

    probes.append(Probe(kind, "TruncatedBPTT's loss on a window with no target", truncated_bptt_no_targets,
                        check=lambda loss: loss.item() == 0.0 and loss.requires_grad))

    def scratch_ce(mask):
        from rnnlib.scratch.layers import softmax_cross_entropy

        return softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64), mask)

    probes.append(Probe(kind, "scratch softmax_cross_entropy with an all-False mask",
                        lambda: scratch_ce(np.zeros((2, 3), bool)), names=("mask",)))
    probes.append(Probe(kind, "scratch softmax_cross_entropy with a mask of 0/1 ints",
                        lambda: scratch_ce(np.ones((2, 3), np.int64)), names=("mask",)))

    def scratch_captioning_all_padding():
        from rnnlib.scratch.captioning import captioning_loss, init_captioning_params

        params = init_captioning_params(5, 6, 4, 3, np.random.default_rng(0))
        return captioning_loss(np.ones((2, 5)), np.array([[1, 0, 0], [1, 0, 0]]), params)

    probes.append(Probe(kind, "scratch captioning_loss on captions that are all padding",
                        scratch_captioning_all_padding, names=("captions",)))

    def evaluate_empty():
        from rnnlib.train import evaluate

        return evaluate(_linear(), [], _mse)

    probes.append(Probe(kind, "evaluate on an empty iterable", evaluate_empty, names=("data",)))
    return probes


# ----------------------------------------------------------------------------------------------
# Kind 2: checkpoints and exact resume


def _interrupted(at_step):
    def on_step(step, loss, model):
        if step == at_step:
            raise KeyboardInterrupt(f"killed after step {at_step}")
    return on_step


def _resume_probes():
    kind = "checkpoints and resume"
    probes = []

    def exact_resume(kill_at, every, shuffle=True, epochs=3):
        def run():
            from rnnlib.train import fit

            data = _regression(40)

            def train(**options):
                torch.manual_seed(5)
                model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
                optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
                history = fit(model, data, _mse, optimizer=optimizer, epochs=epochs, batch_size=6,
                              shuffle=shuffle, progress=False, device="cpu", seed=3, **options)
                return model, history

            path = os.path.join(_tmpdir(), "run.pt")
            whole, whole_history = train()
            try:
                train(checkpoint_path=path, checkpoint_every=every, on_step=_interrupted(kill_at))
            except KeyboardInterrupt:
                pass
            if not os.path.exists(path):
                return "no checkpoint was written before the kill"
            resumed, resumed_history = train(checkpoint_path=path, checkpoint_every=every, resume=path)
            return (_same(_params(whole), _params(resumed))
                    and whole_history.train_loss == resumed_history.train_loss)
        return run

    # 40 examples in batches of 6: 7 steps per epoch, so step 7 ends an epoch
    for kill_at, every, shuffle in ((5, 2, True), (8, 7, True), (9, 3, False), (14, 1, True), (10, 100, True),
                                    (15, 7, True)):
        probes.append(Probe(kind, f"fit resume after a kill at step {kill_at} (checkpoint_every={every}, "
                                  f"shuffle={shuffle})", exact_resume(kill_at, every, shuffle), check=lambda ok: ok))

    def epochs_in_a_loop():
        seen = []

        def recording_loss(model, batch):
            seen.append(tuple(batch[0][:, 0].tolist()))
            return _mse(model, batch)

        from rnnlib.train import fit

        model = _linear()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        data = _regression(16)
        for _ in range(2):
            fit(model, data, recording_loss, optimizer=optimizer, epochs=1, batch_size=16,
                progress=False, device="cpu", seed=0)
        return seen

    probes.append(Probe(kind, "fit(epochs=1) twice does not replay epoch 1's order", epochs_in_a_loop,
                        check=lambda seen: len(seen) == 2 and seen[0] != seen[1]))

    def one_shot(epochs):
        def run():
            batches = (b for b in _nan_batches(0, n=3))
            return _fit(_linear(), batches, epochs=epochs)
        return run

    probes.append(Probe(kind, "fit: a generator with epochs=3", one_shot(3), names=("epochs", "generator")))
    probes.append(Probe(kind, "fit: a generator with epochs=1", one_shot(1), check=lambda h: len(h.step) == 3))
    probes.append(Probe(kind, "fit: an empty TensorDataset",
                        lambda: _fit(_linear(), torch.utils.data.TensorDataset(torch.zeros(0, 3), torch.zeros(0, 1))),
                        names=("data",)))
    probes.append(Probe(kind, "fit: an empty list of batches", lambda: _fit(_linear(), []), names=("data",)))

    class OnceIterable:
        def __init__(self):
            self.batches = _nan_batches(0, n=2)

        def __iter__(self):
            batches, self.batches = self.batches, []
            return iter(batches)

    probes.append(Probe(kind, "fit: an iterable that is empty on its second pass",
                        lambda: _fit(_linear(), OnceIterable(), epochs=2), names=("data",)))

    def checkpoint_path_is(kind_of_path):
        def run():
            folder = _tmpdir()
            if kind_of_path == "directory":
                path = folder
            else:
                blocker = os.path.join(folder, "file")
                open(blocker, "w").close()
                path = os.path.join(blocker, "ckpt.pt")
            model = _linear()
            before = _params(model)
            try:
                _fit(model, _regression(), checkpoint_path=path)
            except (ValueError, TypeError):
                if not _same(_params(model), before):
                    return "trained before failing"
                raise
            return "no error"
        return run

    probes.append(Probe(kind, "fit: checkpoint_path is a directory", checkpoint_path_is("directory"),
                        names=("checkpoint_path",)))
    probes.append(Probe(kind, "fit: checkpoint_path inside a file", checkpoint_path_is("under a file"),
                        names=("checkpoint_path",)))

    for value, label in ((0, "0"), (1.5, "1.5"), (float("nan"), "nan")):
        probes.append(Probe(kind, f"fit: checkpoint_every={label}",
                            lambda value=value: _fit(_linear(), _regression(), checkpoint_path=os.path.join(
                                _tmpdir(), "c.pt"), checkpoint_every=value), names=("checkpoint_every",)))
    probes.append(Probe(kind, "fit: checkpoint_every without checkpoint_path",
                        lambda: _fit(_linear(), _regression(), checkpoint_every=2), names=("checkpoint_every",)))

    def saved(model=None, optimizer=None, **extra):
        from rnnlib.train import save_checkpoint

        path = os.path.join(_tmpdir(), "c.pt")
        return save_checkpoint(path, model or _linear(), optimizer, **extra)

    def load_into(path_fn, optimizer_fn=None, model_fn=_linear):
        def run():
            from rnnlib.train import load_checkpoint

            model = model_fn()
            before = _params(model)
            optimizer = optimizer_fn(model) if optimizer_fn else None
            try:
                return load_checkpoint(path_fn(), model, optimizer)
            except (ValueError, TypeError, FileNotFoundError):
                if not _same(_params(model), before):
                    return "the model was changed before the error"
                raise
        return run

    def written(content):
        path = os.path.join(_tmpdir(), "c.pt")
        with open(path, "wb") as f:
            f.write(content)
        return path

    def torch_saved(obj):
        path = os.path.join(_tmpdir(), "c.pt")
        torch.save(obj, path)
        return path

    def half_of_a_checkpoint():
        path = saved()
        data = open(path, "rb").read()
        return written(data[: len(data) // 2])

    load_errors = (ValueError, TypeError, FileNotFoundError)
    probes += [
        Probe(kind, "load_checkpoint: not a checkpoint", load_into(lambda: written(b"hello")), names=("checkpoint",),
              error=load_errors),
        Probe(kind, "load_checkpoint: half a checkpoint", load_into(half_of_a_checkpoint), names=("checkpoint",),
              error=load_errors),
        Probe(kind, "load_checkpoint: a saved tensor", load_into(lambda: torch_saved(torch.zeros(3))),
              names=("checkpoint",), error=load_errors),
        Probe(kind, "load_checkpoint: a pickled foreign object",
              load_into(lambda: written(pickle.dumps({"model": Foreign()}))), names=("checkpoint",), error=load_errors),
        Probe(kind, "load_checkpoint: a dict without the model entry",
              load_into(lambda: torch_saved({"weights": {}})), names=("model",), error=load_errors),
        Probe(kind, "load_checkpoint: a model of another shape",
              load_into(lambda: saved(torch.nn.Linear(5, 1))), names=("shape",), error=load_errors),
        Probe(kind, "load_checkpoint: a directory", load_into(_tmpdir), names=("path",), error=load_errors),
        Probe(kind, "load_checkpoint: a missing file", load_into(lambda: os.path.join(_tmpdir(), "none.pt")),
              names=("path",), error=load_errors),
        Probe(kind, "load_checkpoint: Adam state into SGD (model untouched)",
              load_into(lambda: _adam_checkpoint(saved), lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)),
              names=("optimizer",), error=load_errors),
        Probe(kind, "load_checkpoint: optimizer over another number of tensors (model untouched)",
              load_into(lambda: _adam_checkpoint(saved),
                        lambda m: torch.optim.Adam([m.weight], lr=0.1)), names=("optimizer",), error=load_errors),
        Probe(kind, "load_checkpoint: a checkpoint without optimizer into an optimizer",
              load_into(saved, lambda m: torch.optim.Adam(m.parameters())), names=("optimizer",), error=load_errors),
        Probe(kind, "load_checkpoint: model is not a Module",
              lambda: __import__("rnnlib.train", fromlist=["x"]).load_checkpoint(saved(), "model"), names=("model",)),
        Probe(kind, "load_checkpoint: a round trip", load_into(lambda: saved(step=3)), check=lambda extra: extra == {"step": 3}),
        Probe(kind, "save_checkpoint: an extra value that is an object",
              lambda: saved(note=object()), names=("note",)),
        Probe(kind, "save_checkpoint: path is a directory",
              lambda: __import__("rnnlib.train", fromlist=["x"]).save_checkpoint(_tmpdir(), _linear()), names=("path",)),
    ]

    def resume_from(path_fn, **options):
        def run():
            model = _linear()
            before = _params(model)
            try:
                return _fit(model, _regression(), resume=path_fn(), **options)
            except (ValueError, TypeError, FileNotFoundError):
                if not _same(_params(model), before):
                    return "trained before failing"
                raise
        return run

    def fit_checkpoint(**options):
        path = os.path.join(_tmpdir(), "run.pt")
        _fit(_linear(), _regression(), checkpoint_path=path, **options)
        return path

    probes += [
        Probe(kind, "fit: resume from a missing file", resume_from(lambda: os.path.join(_tmpdir(), "none.pt")),
              names=("resume",), error=load_errors),
        Probe(kind, "fit: resume from a save_checkpoint file (no training state)", resume_from(saved),
              names=("resume",), error=load_errors),
        Probe(kind, "fit: resume with another batch_size", resume_from(fit_checkpoint, batch_size=4),
              names=("batch_size",), error=load_errors),
        Probe(kind, "fit: resume with another seed", resume_from(fit_checkpoint, seed=7),
              names=("seed",), error=load_errors),
        Probe(kind, "fit: resume with other data", lambda: _fit(_linear(), _regression(32), resume=fit_checkpoint()),
              names=("data",), error=load_errors),
        Probe(kind, "fit: resume from a damaged file", resume_from(lambda: written(b"\x00" * 10)),
              names=("checkpoint",), error=load_errors),
        Probe(kind, "fit: resume a run that is already finished",
              resume_from(fit_checkpoint), check=lambda h: len(h.step) == 8),
        Probe(kind, "fit: resume with a generator", lambda: _fit(_linear(), (b for b in _nan_batches(0)),
                                                                 resume=fit_checkpoint()), names=("resume", "data")),
    ]

    def optimizer_of_another_model():
        model = _linear()
        other = _linear(1)
        return _fit(model, _regression(), optimizer=torch.optim.SGD(other.parameters(), lr=0.1))

    probes.append(Probe(kind, "fit: an optimizer over another model's parameters", optimizer_of_another_model,
                        names=("optimizer",)))

    def crash_mid_save():
        from rnnlib import train

        path = os.path.join(_tmpdir(), "run.pt")
        model = _linear()
        _fit(model, _regression(), checkpoint_path=path)
        good = open(path, "rb").read()
        real_save = torch.save

        def half_then_crash(obj, f, *args, **kwargs):
            f.write(b"PK\x03\x04 half")
            raise OSError("killed mid-save")

        torch.save = half_then_crash
        try:
            train.save_checkpoint(path, model, step=2)
        except OSError:
            pass
        finally:
            torch.save = real_save
        return open(path, "rb").read() == good and os.listdir(os.path.dirname(path)) == ["run.pt"]

    probes.append(Probe(kind, "save_checkpoint: a crash in the middle leaves the old file", crash_mid_save,
                        check=lambda ok: ok))
    return probes


class Foreign:
    """A class that ``torch.load(weights_only=True)`` must refuse to unpickle."""


def _adam_checkpoint(saved):
    model = _linear()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(2, 3)).sum().backward()
    optimizer.step()
    return saved(model, optimizer)


# ----------------------------------------------------------------------------------------------
# Kind 3: numbers that are not numbers


def _number_probes():
    kind = "numbers (NaN, inf)"
    probes = []
    from rnnlib.scratch import optim

    def grads():
        return {"W": np.ones((2, 2))}

    for cls, names in ((optim.SGD, ("lr", "momentum", "dampening", "weight_decay")),
                       (optim.Adagrad, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")),
                       (optim.Adam, ("lr", "eps", "weight_decay"))):
        for name in names:
            for value in BAD_NUMBERS:
                probes.append(Probe(kind, f"scratch {cls.__name__}({name}={value})",
                                    lambda cls=cls, name=name, value=value: cls(**{name: value}), names=(name,)))
    for index in (0, 1):
        for value in BAD_NUMBERS:
            betas = [0.9, 0.999]
            betas[index] = value
            probes.append(Probe(kind, f"scratch Adam(betas={betas})", lambda betas=tuple(betas): optim.Adam(betas=betas),
                                names=(f"betas[{index}]",)))
    for fn in (optim.clip_grad_norm, optim.clip_grad_value):
        for value in BAD_NUMBERS:
            probes.append(Probe(kind, f"scratch {fn.__name__}(grads, {value})", lambda fn=fn, value=value: fn(grads(), value),
                                names=("max_norm", "clip")))
        probes.append(Probe(kind, f"scratch {fn.__name__}(grads, True)", lambda fn=fn: fn(grads(), True),
                            names=("max_norm", "clip")))
    probes.append(Probe(kind, "scratch SGD(lr=0.1).step with a NaN learning rate set later",
                        lambda: optim.SGD(lr=np.float64(0.1)), check=lambda o: o.lr == 0.1))

    for name, values in (("clip_grad_norm", BAD_NUMBERS), ("max_seconds", BAD_NUMBERS)):
        for value in values:
            probes.append(Probe(kind, f"fit({name}={value})",
                                lambda name=name, value=value: _fit(_linear(), _regression(), **{name: value}),
                                names=(name,)))
    for name, value in (("epochs", 2.0), ("epochs", True), ("max_steps", float("nan")), ("eval_every", float("inf")),
                        ("batch_size", 8.0), ("seed", float("nan")), ("seed", -1)):
        probes.append(Probe(kind, f"fit({name}={value})",
                            lambda name=name, value=value: _fit(_linear(), _regression(), **{name: value}),
                            names=(name,)))

    from rnnlib import data

    generators = [
        ("right_context_tagging(mention_rate={v})", lambda v: data.right_context_tagging(4, mention_rate=v), "mention_rate"),
        ("forecast_windows(test_fraction={v})", lambda v: data.forecast_windows(np.arange(50.0), 5, test_fraction=v),
         "test_fraction"),
        ("split_text(val_fraction={v})", lambda v: data.split_text("abcdefghij", v), "val_fraction"),
        ("sequential_split(train_fraction={v})", lambda v: data.sequential_split(np.zeros(10), np.zeros(10), v),
         "train_fraction"),
        ("skewed_share(0.3, alpha={v})", lambda v: data.skewed_share(0.3, v), "alpha"),
        ("skewed_share(share={v}, 1)", lambda v: data.skewed_share(v, 1.0), "share"),
        ("make_bias_corpus(10, alpha={v})", lambda v: data.make_bias_corpus(10, alpha=v), "alpha"),
    ]
    for label, fn, name in generators:
        for value in BAD_NUMBERS:
            probes.append(Probe(kind, label.format(v=value), lambda fn=fn, value=value: fn(value), names=(name,)))
    for label, fn, name in [
        ("adding_problem(n=2.0)", lambda: data.adding_problem(2.0, 5, 0), "n"),
        ("delayed_recall(delay=nan)", lambda: data.delayed_recall(2, 5, float("nan"), 0), "delay"),
        ("render_scene(image_size=nan)", lambda: data.render_scene([], float("nan")), "image_size"),
        ("char_lm_data(val_fraction=inf)", lambda: data.char_lm_data("abcdefghijklmnop", 2, float("inf")), "val_fraction"),
    ]:
        probes.append(Probe(kind, label, fn, names=(name,)))

    from rnnlib.nn.models import CharLM

    for value in BAD_NUMBERS:
        probes.append(Probe(kind, f"CharLM.sample(temperature={value})",
                            lambda value=value: CharLM(4, 8).sample([1], 3, temperature=value), names=("temperature",)))
        probes.append(Probe(kind, f"CharLM(dropout={value})", lambda value=value: CharLM(4, 8, dropout=value),
                            names=("dropout",)))
    from rnnlib import energy

    for label, call, name in [
        ("strubell_energy_kwh(hours=nan)", lambda: energy.strubell_energy_kwh(float("nan")), "hours"),
        ("strubell_energy_kwh(1, gpu_watts=inf)", lambda: energy.strubell_energy_kwh(1.0, gpu_watts=float("inf")),
         "gpu_watts"),
        ("strubell_co2_lbs(kwh=-inf)", lambda: energy.strubell_co2_lbs(float("-inf")), "kwh"),
        ("dot_product_attention_flops(query_len=2.5)", lambda: energy.dot_product_attention_flops(2.5, 3, 4),
         "query_len"),
    ]:
        probes.append(Probe(kind, label, call, names=(name,)))
    from rnnlib.gradients import scaled_orthogonal

    probes.append(Probe(kind, "scaled_orthogonal(rho=nan)", lambda: scaled_orthogonal(3, float("nan")), names=("rho",)))
    return probes


# ----------------------------------------------------------------------------------------------
# Kind 4: the exercise checkers


def _checker_probes():
    kind = "exercise checkers"
    probes = []
    from rnnlib import exercises
    from rnnlib.scratch import attention as scratch_attention
    from rnnlib.scratch import gru, lstm, optim, rnn
    from rnnlib.scratch.layers import softmax_cross_entropy

    def quiet(checker, *args, **kwargs):
        return lambda: checker(*args, verbose=False, **kwargs)

    def returns_none(*args, **kwargs):
        return None

    def to_torch(fn, index=0):
        def wrapped(*args):
            out = list(fn(*args)) if isinstance(fn(*args), tuple) else [fn(*args)]
            out[index] = torch.tensor(np.asarray(out[index]), requires_grad=True)
            return tuple(out) if len(out) > 1 else out[0]
        return wrapped

    def mutating(fn, mutate):
        def wrapped(*args):
            result = fn(*args)
            mutate(*args)
            return result
        return wrapped

    def attention_fn(query, keys, values, mask):
        context, weights, _ = scratch_attention.dot_product_attention_forward(query, keys, values, mask=mask)
        return context, weights

    def bidirectional_fn(cell, x, params, params_reverse):
        from rnnlib.scratch.wrappers import bidirectional_forward

        return bidirectional_forward(cell, x, None, params, params_reverse)[0]

    def clip_fn(grads, max_norm):
        return optim.clip_grad_norm(grads, max_norm)

    def bias_fn(train, predicted):
        from rnnlib.metrics import bias_amplification

        return bias_amplification(train, predicted)

    def flops_fn(*args):
        from rnnlib.energy import recurrent_flops_per_token

        return recurrent_flops_per_token(*args)

    def average_fn(grads_per_rank):
        return {k: np.mean([g[k] for g in grads_per_rank], axis=0) for k in grads_per_rank[0]}

    def lstm_backward(dh_next, dstate_next, cache):
        return lstm.step_backward(dh_next, dstate_next, cache)

    checkers = [
        ("check_rnn_step_forward", exercises.check_rnn_step_forward, rnn.step_forward,
         lambda x, state, params: params["W_hh"].__imul__(1.0001)),
        ("check_rnn_step_backward", exercises.check_rnn_step_backward, rnn.step_backward,
         lambda dh, dstate, cache: dh.__imul__(2.0)),
        ("check_lstm_step_forward", exercises.check_lstm_step_forward, lstm.step_forward,
         lambda x, state, params: state[1].__iadd__(1.0)),
        ("check_lstm_step_backward", getattr(exercises, "check_lstm_step_backward", None), lstm_backward,
         lambda dh, dstate, cache: dh.__imul__(2.0)),
        ("check_gru_step_forward", exercises.check_gru_step_forward, gru.step_forward,
         lambda x, state, params: x.__imul__(0.5)),
        ("check_attention", exercises.check_attention, attention_fn,
         lambda q, k, v, mask: k.__iadd__(1.0)),
        ("check_bidirectional_forward", exercises.check_bidirectional_forward, bidirectional_fn,
         lambda cell, x, p, pr: x.__imul__(-1.0)),
        ("check_caption_loss", exercises.check_caption_loss, softmax_cross_entropy,
         lambda logits, targets, mask: logits.__iadd__(0.5)),
        ("check_bias_amplification", exercises.check_bias_amplification, bias_fn,
         lambda train, predicted: train.__iadd__(1.0)),
        ("check_average_gradients", exercises.check_average_gradients, average_fn,
         lambda ranks: ranks[0][next(iter(ranks[0]))].__imul__(3.0)),
        ("check_clip_grad_norm", exercises.check_clip_grad_norm, clip_fn, None),
        ("check_recurrent_flops", exercises.check_recurrent_flops, flops_fn, None),
    ]
    for name, checker, correct, mutate in checkers:
        if checker is None:
            def missing(name=name):
                raise AttributeError(f"rnnlib.exercises has no {name}")
            probes.append(Probe(kind, f"{name} exists", missing, check=lambda r: True))
            continue
        probes.append(Probe(kind, f"{name}: a correct function passes", quiet(checker, correct),
                            check=lambda ok: ok is True))
        probes.append(Probe(kind, f"{name}: the function returns None", quiet(checker, returns_none),
                            names=("returned None",), error=AssertionError))
        probes.append(Probe(kind, f"{name}: the function returns a string", quiet(checker, lambda *a: "done"),
                            names=("returned", "str"), error=AssertionError))
        probes.append(Probe(kind, f"{name}: fn is not callable", quiet(checker, "my_function"), names=("fn",)))
        if name not in ("check_clip_grad_norm", "check_recurrent_flops", "check_bias_amplification",
                        "check_average_gradients"):
            probes.append(Probe(kind, f"{name}: torch tensors that require grad", quiet(checker, to_torch(correct)),
                                names=("NumPy", "torch"), error=AssertionError))
        if mutate is not None:
            probes.append(Probe(kind, f"{name}: the function changes an input in place",
                                quiet(checker, mutating(correct, mutate)), names=("modified", "changed", "in place"),
                                error=AssertionError))

    def wrong_forward(x, state, params):
        h, state_next, cache = rnn.step_forward(x, state, params)
        return h, state_next, cache._replace(h_next=cache.h_next * 0.5) if hasattr(cache, "_replace") else cache

    def learner_forward_with_bias_missing(x, state, params):
        state = np.zeros((x.shape[0], params["W_hh"].shape[0])) if state is None else state
        h = np.tanh(x @ params["W_ih"].T + state @ params["W_hh"].T + params["b_hh"])
        return h, h, (x, state, params, h)

    def learner_backward(dh_next, dstate_next, cache):
        x, h_prev, params, h = cache
        dh = dh_next if dstate_next is None else dh_next + dstate_next
        da = dh * (1 - h**2)
        return da @ params["W_ih"], da @ params["W_hh"], {
            "W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}

    probes.append(Probe(kind, "check_rnn_step_backward with a wrong learner forward blames the forward",
                        quiet(exercises.check_rnn_step_backward, learner_backward,
                              step_forward=learner_forward_with_bias_missing),
                        names=("step_forward",), error=AssertionError))

    def partial_tuple(*args):
        return (np.zeros((2, 4)),)

    probes.append(Probe(kind, "check_rnn_step_forward: a 1-tuple instead of 3 values",
                        quiet(exercises.check_rnn_step_forward, partial_tuple), names=("return",),
                        error=AssertionError))
    probes.append(Probe(kind, "check_rnn_step_forward: verbose='yes'",
                        lambda: exercises.check_rnn_step_forward(rnn.step_forward, verbose="yes"), names=("verbose",)))
    return probes


# ----------------------------------------------------------------------------------------------
# Kind 5: token and special ids


def _id_probes():
    kind = "token and special ids"
    probes = []
    from rnnlib.nn.captioning import CaptionModel
    from rnnlib.nn.decoding import beam_search, greedy_search
    from rnnlib.nn.models import CharLM
    from rnnlib.nn.seq2seq import Seq2Seq
    from rnnlib.nn.tagger import SequenceTagger

    def seq2seq(**options):
        torch.manual_seed(0)
        return Seq2Seq(6, 7, embedding_dim=4, hidden_size=4, **options)

    src, lengths, tgt = torch.tensor([[3, 4, 5]]), torch.tensor([3]), torch.tensor([[1, 3, 4]])
    for ids, label in ((torch.tensor([[3, 4, 6]]), "an id = src_vocab_size"), (torch.tensor([[3, -1, 4]]), "a negative id")):
        probes.append(Probe(kind, f"Seq2Seq src with {label}", lambda ids=ids: seq2seq()(ids, lengths, tgt),
                            names=("src",)))
        probes.append(Probe(kind, f"Seq2Seq.greedy_decode src with {label}",
                            lambda ids=ids: seq2seq().greedy_decode(ids, lengths, 5), names=("src",)))
        probes.append(Probe(kind, f"Seq2Seq.beam_search src with {label}",
                            lambda ids=ids: seq2seq().beam_search(ids, lengths, 2, 5), names=("src",)))
    for ids, label in ((torch.tensor([[1, 3, 7]]), "an id = tgt_vocab_size"), (torch.tensor([[1, -2, 4]]), "a negative id")):
        probes.append(Probe(kind, f"Seq2Seq tgt_in with {label}", lambda ids=ids: seq2seq()(src, lengths, ids),
                            names=("tgt_in",)))
    for name, value in (("bos_id", 7), ("eos_id", 9), ("pad_id", -1), ("pad_id", 6), ("bos_id", 2.0), ("eos_id", None)):
        probes.append(Probe(kind, f"Seq2Seq({name}={value})", lambda name=name, value=value: seq2seq(**{name: value}),
                            names=(name,)))
    for a, b in (("eos_id", "pad_id"), ("bos_id", "eos_id"), ("bos_id", "pad_id")):
        probes.append(Probe(kind, f"Seq2Seq with {a} == {b}", lambda a=a, b=b: seq2seq(**{a: 3, b: 3}),
                            names=(a, b)))

    def caption_model(**options):
        torch.manual_seed(0)
        return CaptionModel(6, embedding_dim=4, hidden_size=8, channels=(4, 4, 4), **options)

    images = torch.rand(1, 3, 8, 8)
    for ids, label in ((torch.tensor([[1, 3, 6]]), "an id = vocab_size"), (torch.tensor([[1, -1, 3]]), "a negative id")):
        probes.append(Probe(kind, f"CaptionModel captions_in with {label}", lambda ids=ids: caption_model()(images, ids),
                            names=("captions_in",)))
    for name, value in (("bos_id", 6), ("eos_id", -1), ("pad_id", 6), ("eos_id", 1.5)):
        probes.append(Probe(kind, f"CaptionModel({name}={value})",
                            lambda name=name, value=value: caption_model(**{name: value}), names=(name,)))
    probes.append(Probe(kind, "CaptionModel with eos_id == pad_id", lambda: caption_model(eos_id=0, pad_id=0),
                        names=("eos_id", "pad_id")))

    def caption_loss_out_of_range():
        from rnnlib.nn.captioning import caption_loss

        return caption_loss(caption_model(), (images, torch.tensor([[1, 3, 9]])))

    probes.append(Probe(kind, "caption_loss with a caption id = vocab_size", caption_loss_out_of_range,
                        names=("captions",)))

    for ids, label in ((torch.tensor([[0, 4]]), "an id = vocab_size"), (torch.tensor([[-1, 2]]), "a negative id")):
        probes.append(Probe(kind, f"CharLM x with {label}", lambda ids=ids: CharLM(4, 8)(ids), names=("x",)))
        probes.append(Probe(kind, f"SequenceTagger x with {label}",
                            lambda ids=ids: SequenceTagger(4, 3, 8)(ids), names=("x",)))
    probes.append(Probe(kind, "CharLM.sample prefix with an id = vocab_size", lambda: CharLM(4, 8).sample([4], 2),
                        names=("prefix_ids",)))

    def step_logits(values, V=5):
        def step(y, state):
            return torch.full((y.shape[0], V), values), state, None
        return step

    def step_ramp(y, state):
        return torch.arange(5.0).expand(y.shape[0], 5).clone(), state, None

    state = torch.zeros(1, 2)
    probes += [
        Probe(kind, "greedy_search: every logit -inf",
              lambda: greedy_search(step_logits(-float("inf")), state, batch_size=1, bos_id=1, eos_id=2, pad_id=0,
                                    max_len=3, device="cpu"), names=("logits",)),
        Probe(kind, "greedy_search: NaN logits",
              lambda: greedy_search(step_logits(float("nan")), state, batch_size=1, bos_id=1, eos_id=2, pad_id=0,
                                    max_len=3, device="cpu"), names=("logits",)),
        Probe(kind, "beam_search: every logit -inf",
              lambda: beam_search(step_logits(-float("inf")), state, bos_id=1, eos_id=2, beam_size=2, max_len=3),
              names=("logits",)),
        Probe(kind, "beam_search: NaN logits",
              lambda: beam_search(step_logits(float("nan")), state, bos_id=1, eos_id=2, beam_size=2, max_len=3),
              names=("logits",)),
        Probe(kind, "beam_search: eos_id outside the vocabulary",
              lambda: beam_search(step_ramp, state, bos_id=1, eos_id=5, beam_size=2, max_len=3), names=("eos_id",)),
        Probe(kind, "greedy_search: eos_id outside the vocabulary",
              lambda: greedy_search(step_ramp, state, batch_size=1, bos_id=1, eos_id=7, pad_id=0, max_len=3,
                                    device="cpu"), names=("eos_id",)),
        Probe(kind, "greedy_search: eos_id == pad_id",
              lambda: greedy_search(step_ramp, state, batch_size=1, bos_id=1, eos_id=0, pad_id=0, max_len=3,
                                    device="cpu"), names=("eos_id", "pad_id")),
        Probe(kind, "greedy_search: bos_id=-1",
              lambda: greedy_search(step_ramp, state, batch_size=1, bos_id=-1, eos_id=2, pad_id=0, max_len=3,
                                    device="cpu"), names=("bos_id",)),
        Probe(kind, "greedy_search: batch_size=0",
              lambda: greedy_search(step_ramp, state, batch_size=0, bos_id=1, eos_id=2, pad_id=0, max_len=3,
                                    device="cpu"), names=("batch_size",)),
        Probe(kind, "beam_search: bos_id='<bos>'",
              lambda: beam_search(step_ramp, state, bos_id="<bos>", eos_id=2, beam_size=2, max_len=3), names=("bos_id",)),
        Probe(kind, "beam_search: step returns logits of the wrong shape",
              lambda: beam_search(lambda y, s: (torch.zeros(5), s, None), state, bos_id=1, eos_id=2, beam_size=2,
                                  max_len=3), names=("logits", "step")),
        Probe(kind, "greedy_search: step returns logits for another batch size",
              lambda: greedy_search(lambda y, s: (torch.zeros(3, 5), s, None), state, batch_size=1, bos_id=1,
                                    eos_id=2, pad_id=0, max_len=3, device="cpu"), names=("logits", "step")),
        Probe(kind, "beam_search: some logits -inf (a banned token is never chosen)",
              lambda: beam_search(_banned_step, state, bos_id=1, eos_id=2, beam_size=3, max_len=4),
              check=lambda h: 3 not in h.tokens and math.isfinite(h.score)),
    ]

    from rnnlib.scratch.layers import embedding_forward

    probes.append(Probe(kind, "scratch embedding_forward with an id = V",
                        lambda: embedding_forward(np.array([0, 3]), np.zeros((3, 2))), names=("ids",)))
    from rnnlib.data import CharVocab

    probes.append(Probe(kind, "CharVocab.decode with an id = len(vocab)", lambda: CharVocab("abc").decode([3]),
                        names=("ids",)))
    return probes


def _banned_step(y, state):
    logits = torch.tensor([[0.0, 0.0, -1.0, 5.0, 1.0]]).expand(y.shape[0], 5).clone()
    logits[:, 3] = -float("inf")  # token 3 is banned
    return logits, state, None


# ----------------------------------------------------------------------------------------------
# Kind 6: degenerate data splits and series


def _data_probes():
    kind = "data splits and series"
    probes = []
    from rnnlib import data

    ramp = np.arange(100.0)
    probes += [
        Probe(kind, "forecast_windows on a constant series", lambda: data.forecast_windows(np.full(50, 3.0), 5),
              names=("values",)),
        Probe(kind, "forecast_windows whose training span is constant",
              lambda: data.forecast_windows(np.concatenate([np.full(80, 1.0), np.arange(20.0)]), 5), names=("values",)),
        Probe(kind, "forecast_windows with an inf value",
              lambda: data.forecast_windows(np.where(ramp == 7, np.inf, ramp), 5), names=("values",)),
        Probe(kind, "forecast_windows with a NaN value",
              lambda: data.forecast_windows(np.where(ramp == 7, np.nan, ramp), 5), names=("values",)),
        Probe(kind, "forecast_windows with a window longer than the series",
              lambda: data.forecast_windows(ramp, 200), names=("window", "values")),
        Probe(kind, "forecast_windows with test_fraction=0", lambda: data.forecast_windows(ramp, 5, test_fraction=0),
              names=("test_fraction",)),
        Probe(kind, "forecast_windows with a 2-D series", lambda: data.forecast_windows(ramp.reshape(10, 10), 3),
              names=("values",)),
        Probe(kind, "forecast_windows with a string series", lambda: data.forecast_windows("12345", 2),
              names=("values",)),
        Probe(kind, "forecast_windows on a ramp", lambda: data.forecast_windows(ramp, 5),
              check=lambda d: np.isfinite(d.x_train).all() and len(d.y_test) == 20),
        Probe(kind, "make_windows with window=0", lambda: data.make_windows(ramp, 0), names=("window",)),
        Probe(kind, "make_windows with horizon=-1", lambda: data.make_windows(ramp, 3, -1), names=("horizon",)),
        Probe(kind, "persistence_forecast of (N, T)", lambda: data.persistence_forecast(np.zeros((3, 4))), names=("x",)),
    ]
    for name in ("n_train", "n_val", "n_test"):
        sizes = {"n_train": 20, "n_val": 5, "n_test": 5}
        sizes[name] = 0
        probes.append(Probe(kind, f"reversal_splits({name}=0)", lambda sizes=sizes: data.reversal_splits(**sizes),
                            names=(name,)))
    probes.append(Probe(kind, "reversal_splits with too few distinct sources for n_val",
                        lambda: data.reversal_splits(10, 5, 5, min_len=1, max_len=1, num_symbols=2),
                        names=("n_val", "n_test", "n_train")))
    probes.append(Probe(kind, "reversal_splits(max_len < min_len)",
                        lambda: data.reversal_splits(5, 2, 2, min_len=5, max_len=3), names=("max_len",)))
    for name in ("n_train", "n_val", "n_test", "n_unseen"):
        probes.append(Probe(kind, f"scene_splits({name}=0)",
                            lambda name=name: data.scene_splits(**{"n_train": 4, "n_val": 2, "n_test": 2,
                                                                   "n_unseen": 2, name: 0}), names=(name,)))
    probes += [
        Probe(kind, "split_text leaving an empty part", lambda: data.split_text("abc", 0.1), names=("val_fraction",)),
        Probe(kind, "char_lm_data whose held-out part is shorter than a window",
              lambda: data.char_lm_data("abcdefghijklmnopqrst", 4, 0.1), names=("seq_len", "val_fraction")),
        Probe(kind, "sequential_split leaving an empty part",
              lambda: data.sequential_split(np.zeros(3), np.zeros(3), 0.2), names=("train_fraction",)),
        Probe(kind, "sequential_split of X and Y of different lengths",
              lambda: data.sequential_split(np.zeros(3), np.zeros(4)), names=("X", "Y")),
        Probe(kind, "stateful_batches with batch_size > windows",
              lambda: data.stateful_batches(np.zeros((3, 2)), np.zeros((3, 2)), 4), names=("batch_size",)),
        Probe(kind, "next_token_windows with seq_len too long",
              lambda: data.next_token_windows(np.arange(5), 10), names=("seq_len", "ids")),
        Probe(kind, "right_context_tagging(n=0)", lambda: data.right_context_tagging(0), names=("n",)),
        Probe(kind, "right_context_tagging(T=1)", lambda: data.right_context_tagging(3, T=1), names=("T",)),
        Probe(kind, "adding_problem(T=1)", lambda: data.adding_problem(3, 1, 0), names=("T",)),
        Probe(kind, "adding_problem(rng='a')", lambda: data.adding_problem(3, 4, "a"), names=("rng",)),
        Probe(kind, "delayed_recall(T=delay)", lambda: data.delayed_recall(3, 4, 4, 0), names=("T", "delay")),
        Probe(kind, "make_bias_corpus(0)", lambda: data.make_bias_corpus(0), names=("n_sentences",)),
        Probe(kind, "make_scenes(max_objects=0)", lambda: data.make_scenes(2, np.random.default_rng(0), max_objects=0),
              names=("max_objects",)),
        Probe(kind, "pad_sequences([])", lambda: data.pad_sequences([]), names=("sequences",)),
        Probe(kind, "Seq2SeqBatches([])",
              lambda: data.Seq2SeqBatches([], data.reversal_pairs(1, np.random.default_rng(0))[1], 4),
              names=("pairs",)),
        Probe(kind, "CharWindows with seq_len >= len(ids)",
              lambda: data.CharWindows(np.arange(4), 4), names=("seq_len", "ids")),
        Probe(kind, "stream_windows of x and y of different lengths",
              lambda: __import__("rnnlib.bptt", fromlist=["x"]).stream_windows(torch.zeros(2, 5), torch.zeros(2, 4), 2),
              names=("x", "y")),
    ]
    return probes


# ----------------------------------------------------------------------------------------------
# Kind 7: errors that came late or named the wrong thing


def _late_probes():
    kind = "late or misleading errors"
    probes = []
    from rnnlib.scratch import init_params, lstm, rnn

    def transposed(cell, module):
        def run():
            params = init_params(cell, 3, 4, np.random.default_rng(0))
            params["W_ih"] = params["W_ih"].T.copy()
            return module.step_forward(np.zeros((2, 3)), None, params)
        return run

    probes.append(Probe(kind, "rnn step_forward with a transposed W_ih", transposed("rnn", rnn), names=("(4, 3)",)))
    probes.append(Probe(kind, "lstm step_forward with a transposed W_ih", transposed("lstm", lstm), names=("(16, 3)",)))
    for seed in (2**64, -1, 1.5, "0"):
        probes.append(Probe(kind, f"seed_everything({seed!r})", lambda seed=seed: rnnlib.seed_everything(seed),
                            names=("seed",)))

    def fails_before_training(**options):
        def run():
            model = _linear()
            before = _params(model)
            try:
                _fit(model, _regression(), **options)
            except (ValueError, TypeError):
                if not _same(_params(model), before):
                    return "trained before failing"
                raise
            return "no error"
        return run

    probes += [
        Probe(kind, "fit: on_step not callable", fails_before_training(on_step="print"), names=("on_step",)),
        Probe(kind, "fit: val_data empty", fails_before_training(val_data=[]), names=("val_data",)),
        Probe(kind, "fit: eval_every without val_data", fails_before_training(eval_every=2), names=("eval_every",)),
        Probe(kind, "fit: device='gpu'", fails_before_training(device="gpu"), names=("device",)),
        Probe(kind, "fit: model is not a Module", lambda: __import__("rnnlib.train", fromlist=["x"]).fit(
            "model", _regression(), _mse, optimizer=torch.optim.SGD(_linear().parameters(), 0.1)), names=("model",)),
        Probe(kind, "fit: data is a tensor",
              lambda: _fit(_linear(), torch.zeros(4, 3)), names=("data",)),
        Probe(kind, "fit: shuffle='yes'", fails_before_training(shuffle="yes"), names=("shuffle",)),
        Probe(kind, "fit: progress=None", fails_before_training(progress=None), names=("progress",)),
    ]

    def evaluate_bad(**options):
        from rnnlib.train import evaluate

        return lambda: evaluate(_linear(), _regression(), _mse, **options)

    probes.append(Probe(kind, "evaluate: a Dataset without batch_size", evaluate_bad(), names=("batch_size",)))
    probes.append(Probe(kind, "evaluate: batch_size=0", evaluate_bad(batch_size=0), names=("batch_size",)))
    return probes


# ----------------------------------------------------------------------------------------------
# Kind 8: rnnlib.nn as a drop-in for torch.nn under in-place use and autocast (issue 17 item 5)


def _dropin_probes():
    kind = "in-place use and autocast"
    probes = []
    from rnnlib import nn as rnn_nn

    def twin(name, cell):
        torch.manual_seed(0)
        ours = getattr(rnn_nn, name)(4, 5) if cell else getattr(rnn_nn, name)(4, 5, batch_first=True)
        theirs = getattr(torch.nn, name)(4, 5) if cell else getattr(torch.nn, name)(4, 5, batch_first=True)
        theirs.load_state_dict(ours.state_dict())
        x = torch.randn(2, 4) if cell else torch.randn(2, 3, 4)
        return ours, theirs, x

    def first(out):
        return out[0] if isinstance(out, tuple) else out

    def in_place(name, cell):
        """The in-place op torch.nn allows on this module's output (issue 17: out.mul_(2) on an RNN, h.add_(1)
        on an LSTMCell); where torch.nn itself refuses one, rnnlib may refuse it too."""
        def run():
            ours, theirs, x = twin(name, cell)
            results = []
            for module in (theirs, ours):
                out = first(module(x))
                out.mul_(2) if not cell else out.add_(1)
                try:
                    out.sum().backward()
                except RuntimeError:  # autograd's "modified by an inplace operation"
                    results.append(None)
                    continue
                results.append([p.grad.clone() for p in module.parameters()])
            return results
        return run

    def same_as_torch(results):
        theirs, ours = results
        if theirs is None:
            return True  # torch.nn refuses this in-place use too
        return ours is not None and all(torch.allclose(a, b, atol=1e-5) for a, b in zip(theirs, ours))

    def autocast(name, cell):
        """(our output under bfloat16 autocast, torch.nn's output dtype there (None where torch.nn's LSTM has
        no bfloat16 kernel on this CPU), torch.nn's float32 output)."""
        def run():
            ours, theirs, x = twin(name, cell)
            reference = first(theirs(x))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = first(ours(x))
                # torch.nn's LSTM has a bfloat16 kernel only where oneDNN has one (AVX-512)
                bf16_kernel = name != "LSTM" or torch.ops.mkldnn._is_mkldnn_bf16_supported()
                dtype = first(theirs(x)).dtype if bf16_kernel else None
            return out, dtype, reference
        return run

    for name, cell in (("RNN", False), ("LSTM", False), ("GRU", False), ("RNNCell", True), ("LSTMCell", True),
                       ("GRUCell", True)):
        probes.append(Probe(kind, f"{name}: in-place op on the output, gradients as torch.nn's", in_place(name, cell),
                            check=same_as_torch))
        # the output dtype of torch.nn's twin (GRU, LSTMCell and GRUCell stay float32 under CPU autocast), and its
        # values to bfloat16's precision
        probes.append(Probe(kind, f"{name}: under torch.autocast(bfloat16) on CPU", autocast(name, cell),
                            check=lambda r: r[1] in (None, r[0].dtype) and torch.allclose(r[0].float(), r[2],
                                                                                          atol=0.02)))
    return probes


def all_probes():
    return (_nonfinite_probes() + _resume_probes() + _number_probes() + _checker_probes() + _id_probes()
            + _data_probes() + _late_probes() + _dropin_probes())


def test_probe_finds_no_silent_wrong_result_and_no_obscure_error():
    torch.set_num_threads(1)
    random.seed(0)
    report = run_probes(all_probes())
    counts = format_counts(report)
    print("\n" + counts)
    bad = [d for d in report.details if d[2] in ("silent wrong result", "obscure error")]
    total = sum(sum(c.values()) for c in report.outcomes.values())
    assert total >= 200, total
    assert not bad, counts + "\n" + "\n".join(f"[{k}] {label}: {o}: {detail}" for k, label, o, detail in bad)


if __name__ == "__main__":
    os.environ.setdefault("RNNLIB_PROGRESS", "0")
    torch.set_num_threads(1)
    result = run_probes(all_probes())
    verbose = "-v" in sys.argv
    for kind, label, outcome, detail in result.details:
        if verbose or outcome in ("silent wrong result", "obscure error"):
            print(f"[{kind}] {label}: {outcome}  {detail}")
    print(format_counts(result))
