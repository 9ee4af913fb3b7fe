"""Fast kernels of the recurrent layers: precomputed projections and a hand-written backward.

They compute what :mod:`rnnlib.nn.cells` computes (tested equal, outputs and gradients, in
float64), organised for speed; each runs a whole sequence in one direction, time-major::

    hs, state_n = kernel(x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse=False)

with x (T, N, D), state h0 (N, H) (or (h0, c0) for the LSTM), hs (T, N, H) the hidden state at
every input position (for ``reverse=True`` the sequence is read from t = T-1 down to 0 and hs[t]
is the state after reading x[t]), and state_n the last state, like :func:`rnnlib.nn.cells.unroll`.

* The input projection ``x_t W_ih^T + b_ih`` of every step is ONE matrix product before the loop.
* Each kernel is a ``torch.autograd.Function``: the forward pass is the textbook recurrence, one
  fused product per step (``h_{t-1} W_hh^T`` for all gates at once), written into preallocated
  buffers; the backward pass (backpropagation through time) is written by hand. Its per-step
  work is only what truly depends on the previous step: the elementwise gate derivatives that
  do not depend on the incoming gradient are computed for all steps at once before the loop,
  and the weight gradient ``dW_hh = sum_t dgates_t^T h_{t-1}`` is ONE matrix product after it.
* Outputs are new tensors, not views of the buffers that backward reads, so that in-place use of
  them (``out.mul_(2)``) works as with ``torch.nn``. A kernel computes in the dtype of its inputs,
  which must all have one dtype (the modules of :mod:`rnnlib.nn.recurrent` cast them under
  ``torch.autocast``).

* The LSTM's time loop also exists compiled (``csrc/lstm_loop.cpp``: the same equations, the
  elementwise work of a step fused into one vectorised pass, oneDNN's small-matrix kernel for the
  product h_{t-1} W_hh^T); it runs where :mod:`rnnlib.nn.compiled` has built it, and the Python
  loop here otherwise.

``benchmarks/bench_rnn.py`` measures the speed against ``torch.nn`` and against the readable cells.
"""

import torch

from rnnlib.nn import compiled

__all__ = ["rnn_sequence", "lstm_sequence", "gru_sequence"]


# ----------------------------------------------------------------------------------------------
# Helpers shared by the kernels


class _Schedule:
    """Time bookkeeping for a state buffer ``buf`` of length T + 1 that holds h_0 and every h_t.

    Forward:  buf[0] = initial state, buf[t + 1] = state after step t.
    Reverse:  buf[T] = initial state, buf[t]     = state after step t (t runs T-1 .. 0).
    """

    def __init__(self, T, reverse):
        self.first = T if reverse else 0  # where the initial state goes
        self.last = 0 if reverse else T  # where the final state ends up
        # (t, prev, new) in processing order: step t reads buf[prev] and writes buf[new]
        self.steps = [(t, t + 1, t) for t in range(T - 1, -1, -1)] if reverse else [(t, t, t + 1) for t in range(T)]
        self.outputs = slice(0, T) if reverse else slice(1, T + 1)  # buf[outputs][t] = h_t
        self.previous = slice(1, T + 1) if reverse else slice(0, T)  # buf[previous][t] = state read by step t
        # backward order; next_t[k] is the step processed after backward_order[k] (None at the end)
        self.backward_order = [t for t, _, _ in reversed(self.steps)]
        self.next_t = self.backward_order[1:] + [None]


def _start(x, state0, reverse):
    """What every kernel's forward begins with: (schedule, x as (T*N, D) rows, state buffer
    (T + 1, N, H) holding state0 where the schedule starts)."""
    T, N, D = x.shape
    schedule = _Schedule(T, reverse)
    buf = x.new_empty(T + 1, N, state0.shape[-1])
    buf[schedule.first] = state0
    return schedule, x.reshape(T * N, D), buf


def _refuse_second_derivatives():
    """The backward passes are hand-written with in-place buffers: they cannot be differentiated."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            "rnnlib.nn recurrent layers compute gradients by a hand-written backward pass and do not "
            "support second derivatives (create_graph=True); use torch.nn's layers for that"
        )


def _steps(*tensors):
    """Per-step views ``tensor[t]`` of each tensor, made in one call each: indexing inside the
    time loop would cost a dispatch per step and per tensor."""
    return [t.unbind(0) for t in tensors]


def _weight_grad(dgates, inputs):
    """sum_t dgates_t^T @ inputs_t as ONE matrix product over all (T*N) rows: (G*H, K).

    Computed as (inputs^T @ dgates)^T, the orientation BLAS runs fastest for these shapes.
    """
    return torch.mm(inputs.reshape(-1, inputs.shape[-1]).t(), dgates.reshape(-1, dgates.shape[-1])).t()


def _project(x2d, weight, bias, out=None):
    """x W^T + b for all T*N rows in one matrix product: (T*N, D) -> (T*N, G*H)."""
    if bias is None:
        return torch.mm(x2d, weight.t(), out=out)
    return torch.addmm(bias, x2d, weight.t(), out=out)


def _input_grads(dgates, x2d, weight_ih, need_x, need_bias):
    """dx (T, N, D) = dgates W_ih and db = sum of dgates over steps and rows, given dL/d(x W_ih^T + b)
    (T, N, G*H); None where not needed."""
    T, N, _ = dgates.shape
    # (W_ih^T dgates^T)^T: the orientation BLAS runs fastest for these shapes
    dx = torch.mm(weight_ih.t(), dgates.view(T * N, -1).t()).t().view(T, N, -1) if need_x else None
    return dx, dgates.sum(dim=(0, 1)) if need_bias else None


def _weight_grads(dgates, x2d, h_prev, need_ih, need_hh):
    """dW_ih = sum_t dgates_t^T x_t and dW_hh = sum_t dgates_t^T h_{t-1}, as ONE matrix product
    over all (T*N) rows of [x_t, h_{t-1}] when both are needed."""
    if need_ih and need_hh:
        D = x2d.shape[1]
        dweight = _weight_grad(dgates, torch.cat([x2d, h_prev.reshape(x2d.shape[0], -1)], dim=1))
        return dweight[:, :D], dweight[:, D:]
    return (_weight_grad(dgates, x2d) if need_ih else None), (_weight_grad(dgates, h_prev) if need_hh else None)


def _doubled_rows(weight, bias, rows):
    """Copies of weight and bias with the given block of rows doubled: tanh(a) = 2 sigmoid(2a) - 1,
    and torch's CPU sigmoid is several times faster than its tanh."""
    scale = weight.new_ones(weight.shape[0], 1)
    scale[rows] = 2
    return weight * scale, None if bias is None else bias * scale[:, 0]


# ----------------------------------------------------------------------------------------------
# Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)


class _RNN(torch.autograd.Function):
    """An Elman RNN over T steps: forward and hand-written backward."""

    @staticmethod
    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse, relu):
        T, N, _ = x.shape
        H = weight_hh.shape[0]
        schedule, x2d, hbuf = _start(x, h0, reverse)
        # x_t W_ih^T + b_ih + b_hh for every step in one product, written where h_t will be
        bias = None if bias_ih is None else bias_ih + bias_hh
        _project(x2d, weight_ih, bias, out=hbuf[schedule.outputs].view(T * N, H))
        weight_hh_t = weight_hh.t()
        (h_,) = _steps(hbuf)
        for _, prev, new in schedule.steps:
            # a_t = (x_t W_ih^T + b_ih + b_hh) + h_{t-1} W_hh^T,   h_t = tanh(a_t)  or  relu(a_t)
            torch.addmm(h_[new], h_[prev], weight_hh_t, out=h_[new])
            h_[new].relu_() if relu else h_[new].tanh_()
        ctx.save_for_backward(x2d, hbuf, weight_ih, weight_hh)
        ctx.reverse, ctx.relu, ctx.has_bias = reverse, relu, bias_ih is not None
        # a copy: the caller may change its outputs in place, backward reads hbuf
        return hbuf[schedule.outputs].clone()

    @staticmethod
    def backward(ctx, dhs):
        _refuse_second_derivatives()
        x2d, hbuf, weight_ih, weight_hh = ctx.saved_tensors
        schedule = _Schedule(hbuf.shape[0] - 1, ctx.reverse)
        hs = hbuf[schedule.outputs]
        # dh_t/da_t for every step at once: relu' = [h > 0], tanh' = 1 - h^2; the loop below
        # scales it in place into dL/da_t (one (T, N, H) array for both)
        da = (hs > 0).to(hs.dtype) if ctx.relu else torch.mul(hs, hs).neg_().add_(1)
        dhs_, da_ = _steps(dhs, da)
        dh = dhs_[schedule.backward_order[0]]
        for t, t_next in zip(schedule.backward_order, schedule.next_t):
            # dL/da_t = dL/dh_t * act'(a_t)
            da_[t].mul_(dh)
            if t_next is not None:
                # dL/dh_{t-1} = (gradient from the output at t-1) + dL/da_t W_hh
                dh = torch.addmm(dhs_[t_next], da_[t], weight_hh)
        need = ctx.needs_input_grad  # x, h0, weight_ih, weight_hh, bias_ih, bias_hh
        dh0 = torch.mm(da_[schedule.backward_order[-1]], weight_hh) if need[1] else None
        dweight_ih, dweight_hh = _weight_grads(da, x2d, hbuf[schedule.previous], need[2], need[3])
        # a = x W_ih^T + b_ih + b_hh + ...: both biases get the same gradient
        dx, dbias = _input_grads(da, x2d, weight_ih, need[0], ctx.has_bias)
        return dx, dh0, dweight_ih, dweight_hh, dbias, dbias, None, None


def rnn_sequence(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False, nonlinearity="tanh"):
    """Elman RNN over a time-major sequence ``x`` (T, N, D) from ``state`` h0 (N, H).

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)  (or relu). Returns
    ``(hs, h_T)`` with hs (T, N, H).
    """
    hs = _RNN.apply(x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse, nonlinearity == "relu")
    return hs, hs[0] if reverse else hs[-1]


# ----------------------------------------------------------------------------------------------
# LSTM (Hochreiter & Schmidhuber 1997, with a forget gate), gate order i, f, g, o


def _lstm_forward_python(x2d, weight_ih, weight_hh, bias, schedule, hbuf, cbuf, tanh_c):
    """The LSTM's time loop in Python; returns the gate activations [i, f, g, o] (T, N, 4H) and
    fills hbuf, cbuf and tanh_c. (``csrc/lstm_loop.cpp`` is the same loop, compiled.)"""
    T, N, H = tanh_c.shape
    # g = tanh(a_g) = 2 sigmoid(2 a_g) - 1: with the g rows doubled, ONE sigmoid activates all gates
    g_rows = slice(2 * H, 3 * H)
    weight_ih2, bias2 = _doubled_rows(weight_ih, bias, g_rows)
    weight_hh2, _ = _doubled_rows(weight_hh, None, g_rows)
    # x_t W_ih^T + b_ih + b_hh for every step in one product, written where the gates will be
    gates = _project(x2d, weight_ih2, bias2).view(T, N, 4 * H)
    weight_hh2_t = weight_hh2.t()
    a_, h_, c_, tanh_c_ = _steps(gates, hbuf, cbuf, tanh_c)
    i_, f_, g_, o_ = _steps(*gates.chunk(4, dim=2))
    for t, prev, new in schedule.steps:
        # [a_i, a_f, 2 a_g, a_o] += h_{t-1} W_hh^T   (all gates: one product), then
        # i = sigmoid(a_i), f = sigmoid(a_f), s = sigmoid(2 a_g), o = sigmoid(a_o)
        torch.addmm(a_[t], h_[prev], weight_hh2_t, out=a_[t]).sigmoid_()
        # g = tanh(a_g) = 2 s - 1
        g_[t].mul_(2).sub_(1)
        # c_t = f * c_{t-1} + i * g
        torch.mul(f_[t], c_[prev], out=c_[new]).addcmul_(i_[t], g_[t])
        # tanh(c_t) = 2 sigmoid(2 c_t) - 1,  h_t = o * tanh(c_t)
        torch.mul(c_[new], 2, out=tanh_c_[t]).sigmoid_().mul_(2).sub_(1)
        torch.mul(o_[t], tanh_c_[t], out=h_[new])
    return gates


def _lstm_backward_python(dhs, dc_last, gates, hbuf, cbuf, tanh_c, weight_hh, schedule):
    """Backpropagation through the LSTM's time loop in Python: dL/d(pre-activations) (T, N, 4H)
    and dL/dc_0. (``csrc/lstm_loop.cpp`` is the same loop, compiled.)"""
    T, N, G = gates.shape
    H = G // 4
    i, f, g, o = gates.chunk(4, dim=2)
    c_prev = cbuf[schedule.previous]
    h = hbuf[schedule.outputs]
    # Everything that does not depend on the incoming gradient, for all steps at once (this
    # part is bandwidth-bound: few passes over memory), written into the buffer of dL/dgates,
    # which the loop below then scales in place:
    #   dL/da_o          = dL/dh_t * tanh(c_t) o (1 - o)
    #   dL/d[a_i, a_f, a_g] = dL/dc_t * [g i (1 - i),  c_{t-1} f (1 - f),  i (1 - g^2)]
    dgates = torch.empty_like(gates)
    di, df, dg, do = dgates.chunk(4, dim=2)
    torch.addcmul(gates[:, :, : 2 * H], gates[:, :, : 2 * H], gates[:, :, : 2 * H], value=-1,
                  out=dgates[:, :, : 2 * H])  # sigmoid'(a) = s (1 - s), for i and f
    di.mul_(g)
    df.mul_(c_prev)
    torch.addcmul(i, i * g, g, value=-1, out=dg)
    torch.addcmul(o, o, o, value=-1, out=do).mul_(tanh_c)
    #   dL/dc_t += dL/dh_t * o (1 - tanh(c_t)^2) = dL/dh_t * (o - h_t tanh(c_t))  -> factor_c
    factor_c = torch.addcmul(o, h, tanh_c, value=-1)
    dgates_4 = dgates.view(T, N, 4, H)
    dhs_, f_, factor_c_, da_, da_o_, da_ifg_ = _steps(dhs, f, factor_c, dgates, dgates_4[:, :, 3], dgates_4[:, :, :3])
    dh = dhs_[schedule.backward_order[0]]
    dc = dc_last
    for t, t_next in zip(schedule.backward_order, schedule.next_t):
        # dL/da_o = dL/dh_t * tanh(c_t) o (1 - o)
        da_o_[t].mul_(dh)
        # dL/dc_t = (dL/dc_{t+1} * f_{t+1}) + dL/dh_t * factor_c
        dc = torch.addcmul(dc, dh, factor_c_[t])
        # dL/d[a_i, a_f, a_g] = dL/dc_t * [...]
        da_ifg_[t].mul_(dc.unsqueeze(1))
        # dL/dc_{t-1} (its part through c_t = f * c_{t-1} + ...)
        dc = dc * f_[t]
        if t_next is not None:
            # dL/dh_{t-1} = (gradient from the output at t-1) + dL/da_t W_hh
            dh = torch.addmm(dhs_[t_next], da_[t], weight_hh)
    return dgates, dc


class _LSTM(torch.autograd.Function):
    """An LSTM over T steps: forward and hand-written backward. The time loop runs compiled
    (``csrc/lstm_loop.cpp``) when :mod:`rnnlib.nn.compiled` has built it, else in Python."""

    @staticmethod
    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, reverse):
        T, N, _ = x.shape
        H = weight_hh.shape[1]
        schedule, x2d, hbuf = _start(x, h0, reverse)
        _, _, cbuf = _start(x, c0, reverse)
        bias = None if bias_ih is None else bias_ih + bias_hh
        tanh_c = x.new_empty(T, N, H)
        if compiled.lstm_loop_available(x):
            # x_t W_ih^T + b_ih + b_hh for every step in one product; the loop turns it into the gates
            gates = _project(x2d, weight_ih, bias).view(T, N, 4 * H)
            torch.ops.rnnlib.lstm_forward_loop(gates, hbuf, cbuf, tanh_c, weight_hh, reverse)
        else:
            gates = _lstm_forward_python(x2d, weight_ih, weight_hh, bias, schedule, hbuf, cbuf, tanh_c)
        ctx.save_for_backward(x2d, hbuf, cbuf, gates, tanh_c, weight_ih, weight_hh)
        ctx.reverse, ctx.has_bias = reverse, bias_ih is not None
        # copies: the caller may change its outputs in place, backward reads hbuf and cbuf
        return hbuf[schedule.outputs].clone(), cbuf[schedule.last].clone()

    @staticmethod
    def backward(ctx, dhs, dc_last):
        _refuse_second_derivatives()
        x2d, hbuf, cbuf, gates, tanh_c, weight_ih, weight_hh = ctx.saved_tensors
        schedule = _Schedule(gates.shape[0], ctx.reverse)
        # either loop reads what either forward loop saved (the gate activations, c_t, tanh(c_t))
        if compiled.lstm_loop_available(gates):
            dgates = torch.empty_like(gates)
            dc = torch.ops.rnnlib.lstm_backward_loop(gates, cbuf, tanh_c, weight_hh, dhs, dc_last.contiguous(),
                                                     dgates, ctx.reverse)
        else:
            dgates, dc = _lstm_backward_python(dhs, dc_last, gates, hbuf, cbuf, tanh_c, weight_hh, schedule)
        need = ctx.needs_input_grad  # x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh
        dh0 = torch.mm(dgates[schedule.backward_order[-1]], weight_hh) if need[1] else None
        dweight_ih, dweight_hh = _weight_grads(dgates, x2d, hbuf[schedule.previous], need[3], need[4])
        # a = x W_ih^T + b_ih + b_hh + ...: both biases get the same gradient
        dx, dbias = _input_grads(dgates, x2d, weight_ih, need[0], ctx.has_bias)
        return dx, dh0, dc, dweight_ih, dweight_hh, dbias, dbias, None


def lstm_sequence(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """LSTM over a time-major sequence ``x`` (T, N, D) from ``state = (h0, c0)``, each (N, H).

    Gates (order i, f, g, o), with W = [W_i; W_f; W_g; W_o]::

        i, f, o = sigmoid(x_t W_i^T + b_i + h_{t-1} U_i^T + c_i), ...
        g       = tanh(x_t W_g^T + b_g + h_{t-1} U_g^T + c_g)
        c_t     = f * c_{t-1} + i * g
        h_t     = o * tanh(c_t)

    Returns ``(hs, (h_T, c_T))`` with hs (T, N, H).
    """
    hs, c_last = _LSTM.apply(x, state[0], state[1], weight_ih, weight_hh, bias_ih, bias_hh, reverse)
    return hs, (hs[0] if reverse else hs[-1], c_last)


# ----------------------------------------------------------------------------------------------
# GRU (Cho et al. 2014), gate order r, z, n, with PyTorch's candidate
#   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))


class _GRU(torch.autograd.Function):
    """A GRU over T steps: forward and hand-written backward."""

    @staticmethod
    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse):
        T, N, _ = x.shape
        H = weight_hh.shape[1]
        schedule, x2d, hbuf = _start(x, h0, reverse)
        # n = tanh(a_n) = 2 sigmoid(2 a_n) - 1: the input part of a_n is projected doubled
        weight_ih2, bias_ih2 = _doubled_rows(weight_ih, bias_ih, slice(2 * H, 3 * H))
        # x_t W_ih^T + b_ih for every step in one product
        xg = _project(x2d, weight_ih2, bias_ih2).view(T, N, 3 * H)
        rzu = x.new_empty(T, N, 3 * H)  # r, z and u_n = h_{t-1} W_hn^T + b_hn of every step
        n_all = x.new_empty(T, N, H)
        weight_hh_t = weight_hh.t()
        xg_rz_, xg_n_, u_, rz_, r_, z_, u_n_, n_, h_ = _steps(
            xg[:, :, : 2 * H], xg[:, :, 2 * H :], rzu, rzu[:, :, : 2 * H], *rzu.chunk(3, dim=2), n_all, hbuf
        )
        for t, prev, new in schedule.steps:
            # [u_r, u_z, u_n] = h_{t-1} W_hh^T + b_hh   (all gates: one product)
            if bias_hh is None:
                torch.mm(h_[prev], weight_hh_t, out=u_[t])
            else:
                torch.addmm(bias_hh, h_[prev], weight_hh_t, out=u_[t])
            # r = sigmoid(x_t W_ir^T + b_ir + u_r),  z = sigmoid(x_t W_iz^T + b_iz + u_z)
            rz_[t].add_(xg_rz_[t]).sigmoid_()
            # n = tanh(x_t W_in^T + b_in + r * u_n) = 2 sigmoid(2 (...)) - 1
            torch.addcmul(xg_n_[t], r_[t], u_n_[t], value=2, out=n_[t]).sigmoid_().mul_(2).sub_(1)
            # h_t = (1 - z) * n + z * h_{t-1}
            torch.lerp(n_[t], h_[prev], z_[t], out=h_[new])
        ctx.save_for_backward(x2d, hbuf, rzu, n_all, weight_ih, weight_hh)
        ctx.reverse, ctx.has_bias = reverse, bias_ih is not None
        # a copy: the caller may change its outputs in place, backward reads hbuf
        return hbuf[schedule.outputs].clone()

    @staticmethod
    def backward(ctx, dhs):
        _refuse_second_derivatives()
        x2d, hbuf, rzu, n, weight_ih, weight_hh = ctx.saved_tensors
        T, N, G = rzu.shape
        H = G // 3
        schedule = _Schedule(T, ctx.reverse)
        r, z, u_n = rzu.chunk(3, dim=2)
        h_prev = hbuf[schedule.previous]
        # Everything that does not depend on the incoming gradient, for all steps at once:
        #   dL/d(pre-tanh n) = dL/dh_t (1 - z)(1 - n^2)                  -> dL/dh_t * factor_n
        #   dL/du = dL/dh_t * [factor_n u_n r(1-r),  (h_{t-1} - n) z(1-z),  factor_n r]  -> factor_u
        # where u = h_{t-1} W_hh^T + b_hh is the hidden part of the gates.
        one_minus_z = 1 - z
        factor_n = torch.addcmul(one_minus_z, one_minus_z * n, n, value=-1)
        del one_minus_z
        factor_u = rzu.new_empty(T, N, 3, H)
        torch.mul(factor_n, u_n, out=factor_u[:, :, 0]).mul_(torch.addcmul(r, r, r, value=-1))
        torch.sub(h_prev, n, out=factor_u[:, :, 1]).mul_(torch.addcmul(z, z, z, value=-1))
        torch.mul(factor_n, r, out=factor_u[:, :, 2])
        du = torch.empty_like(rzu)  # dL/du_t, (T, N, 3H)
        dh_all = torch.empty_like(n)  # dL/dh_t, (T, N, H)
        dhs_, z_, factor_u_, du_, du3_, dh_ = _steps(dhs, z, factor_u, du, du.view(T, N, 3, H), dh_all)
        order = schedule.backward_order
        dh_[order[0]].copy_(dhs_[order[0]])
        for t, t_next in zip(order, schedule.next_t):
            # dL/du_t = dL/dh_t * factor_u
            torch.mul(factor_u_[t], dh_[t].unsqueeze(1), out=du3_[t])
            if t_next is not None:
                # dL/dh_{t-1} = (gradient from the output at t-1) + dL/dh_t z + dL/du_t W_hh
                direct = torch.addcmul(dhs_[t_next], dh_[t], z_[t])
                torch.addmm(direct, du_[t], weight_hh, out=dh_[t_next])
        need = ctx.needs_input_grad  # x, h0, weight_ih, weight_hh, bias_ih, bias_hh
        dh0 = torch.addmm(dh_[order[-1]] * z_[order[-1]], du_[order[-1]], weight_hh) if need[1] else None
        dweight_hh = _weight_grad(du, h_prev) if need[3] else None
        dbias_hh = du.sum(dim=(0, 1)) if ctx.has_bias else None
        # the input part of the gates: r and z share dL/du; n gets dL/dh_t * factor_n, written
        # over dL/du_n (no longer needed) so that du becomes dL/dxg without a new array
        torch.mul(dh_all, factor_n, out=du[:, :, 2 * H :])
        dweight_ih = _weight_grad(du, x2d) if need[2] else None
        dx, dbias_ih = _input_grads(du, x2d, weight_ih, need[0], ctx.has_bias)
        return dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh, None


def gru_sequence(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """GRU over a time-major sequence ``x`` (T, N, D) from ``state`` h0 (N, H).

    Gates (order r, z, n)::

        r   = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z   = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n   = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Returns ``(hs, h_T)`` with hs (T, N, H).
    """
    hs = _GRU.apply(x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse)
    return hs, hs[0] if reverse else hs[-1]
