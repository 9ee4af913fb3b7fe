r"""Optimizers and gradient clipping over dicts of NumPy arrays.

The update rules are those of ``torch.optim`` with the same defaults, step for step::

    opt = Adam(lr=1e-3)
    opt.step(params, grads)      # params updated in place; state kept per key

``params`` and ``grads`` are dicts of arrays with the same keys and shapes. An optimizer keeps
its state (momentum, accumulators) by key, so use one optimizer per params dict.
"""

import numpy as np

from rnnlib.validate import check_float, check_number


def _check_pair(params, grads):
    for name, mapping in (("params", params), ("grads", grads)):
        if not isinstance(mapping, dict):
            raise TypeError(f"{name} must be a dict of NumPy arrays, got {type(mapping).__name__}")
    if set(params) != set(grads):
        raise ValueError(f"grads must have the keys of params {sorted(params)}, got {sorted(grads)}")
    for key in params:
        if not isinstance(params[key], np.ndarray):
            raise TypeError(f"params['{key}'] must be a NumPy array (updated in place), got {type(params[key]).__name__}")
        check_float(f"params['{key}']", params[key])
        if np.shape(grads[key]) != params[key].shape:
            raise ValueError(f"grads['{key}'] must have shape {params[key].shape} like params['{key}'], "
                             f"got {np.shape(grads[key])}")


class SGD:
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    .. math::

        g \leftarrow g + \lambda p, \quad b \leftarrow \mu b + (1 - \tau) g \ (b = g \text{ at the first step}),
        \quad p \leftarrow p - \eta\,(g + \mu b \text{ if nesterov else } b)

    Without momentum (mu = 0) this is p <- p - lr * g.
    """

    def __init__(self, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        self.lr = check_number("lr", lr, 0)
        self.momentum = check_number("momentum", momentum, 0)
        self.dampening = check_number("dampening", dampening, 0)
        self.weight_decay = check_number("weight_decay", weight_decay, 0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"nesterov needs momentum > 0 and dampening = 0, got momentum={momentum}, dampening={dampening}")
        self.nesterov = bool(nesterov)
        self.velocity = {}

    def step(self, params, grads):
        _check_pair(params, grads)
        for key, p in params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                if key not in self.velocity:
                    self.velocity[key] = np.array(g, copy=True)
                else:
                    # b = mu b + (1 - dampening) g
                    self.velocity[key] = self.momentum * self.velocity[key] + (1 - self.dampening) * g
                g = g + self.momentum * self.velocity[key] if self.nesterov else self.velocity[key]
            # p = p - lr g
            p -= self.lr * g


class Adagrad:
    r"""Adagrad, as ``torch.optim.Adagrad``: each entry gets its own step size.

    .. math::

        s \leftarrow s + g^2, \qquad p \leftarrow p - \frac{\eta_t\, g}{\sqrt{s} + \epsilon},
        \qquad \eta_t = \frac{\eta}{1 + (t - 1)\,\text{lr\_decay}}
    """

    def __init__(self, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        self.lr = check_number("lr", lr, 0)
        self.lr_decay = check_number("lr_decay", lr_decay, 0)
        self.weight_decay = check_number("weight_decay", weight_decay, 0)
        self.initial_accumulator_value = check_number("initial_accumulator_value", initial_accumulator_value, 0)
        self.eps = check_number("eps", eps, 0)
        self.sum_squares = {}
        self.t = 0

    def step(self, params, grads):
        _check_pair(params, grads)
        self.t += 1
        lr_t = self.lr / (1 + (self.t - 1) * self.lr_decay)
        for key, p in params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if key not in self.sum_squares:
                self.sum_squares[key] = np.full_like(p, self.initial_accumulator_value)
            # s = s + g²
            self.sum_squares[key] += g * g
            # p = p - lr_t g / (sqrt(s) + eps)
            p -= lr_t * g / (np.sqrt(self.sum_squares[key]) + self.eps)


class Adam:
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        p \leftarrow p - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr = check_number("lr", lr, 0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1 = check_number("betas[0]", betas[0], 0, 1, high_open=True)
        self.beta2 = check_number("betas[1]", betas[1], 0, 1, high_open=True)
        self.eps = check_number("eps", eps, 0)
        self.weight_decay = check_number("weight_decay", weight_decay, 0)
        self.m, self.v = {}, {}
        self.t = 0

    def step(self, params, grads):
        _check_pair(params, grads)
        self.t += 1
        for key, p in params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * p
            m = self.m.setdefault(key, np.zeros_like(p))
            v = self.v.setdefault(key, np.zeros_like(p))
            # m = β1 m + (1 - β1) g;   v = β2 v + (1 - β2) g²
            m += (1 - self.beta1) * (g - m)
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            # p = p - lr / (1 - β1^t) * m / (sqrt(v) / sqrt(1 - β2^t) + eps)
            step_size = self.lr / (1 - self.beta1**self.t)
            denom = np.sqrt(v) / np.sqrt(1 - self.beta2**self.t) + self.eps
            p -= step_size * m / denom


def _check_grads(grads):
    """Clipping works in place: grads must be a dict of floating-point NumPy arrays."""
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict of NumPy arrays, got {type(grads).__name__}")
    for key, g in grads.items():
        if not isinstance(g, np.ndarray):
            raise TypeError(f"grads['{key}'] must be a NumPy array (clipped in place), got {type(g).__name__}")
        check_float(f"grads['{key}']", g)


def clip_grad_norm(grads, max_norm):
    r"""Rescale all gradients together so that their joint L2 norm is at most ``max_norm``.

    Same semantics as ``torch.nn.utils.clip_grad_norm_``: the total norm
    :math:`\|g\| = \sqrt{\sum_k \|g_k\|^2}` is computed over every array of the dict, and if it
    exceeds max_norm each array is multiplied in place by max_norm / (total_norm + 1e-6).
    Returns the total norm before clipping (a float).
    """
    _check_grads(grads)
    max_norm = check_number("max_norm", max_norm, 0)
    total_norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    # torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1
    scale = min(max_norm / (total_norm + 1e-6), 1.0)
    for g in grads.values():
        g *= scale
    return total_norm


def clip_grad_value(grads, clip):
    """Clip every gradient entry to [-clip, clip], in place (as min-char-rnn does with clip=5).

    Unlike :func:`clip_grad_norm`, this changes the gradient's direction.
    """
    _check_grads(grads)
    clip = check_number("clip", clip, 0)
    for g in grads.values():
        np.clip(g, -clip, clip, out=g)
