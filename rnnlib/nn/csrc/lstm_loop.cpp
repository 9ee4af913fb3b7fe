// The time loop of rnnlib.nn's fast LSTM, compiled: what rnnlib/nn/fast.py's _LSTM runs in
// Python, step for step, when this library is built (python -m rnnlib.nn.compiled, which
// `make venv` runs). Everything outside the time loop (the input projection before it, the weight
// gradients after it) stays in fast.py; rnnlib/nn/compiled.py builds and loads this file.
//
// Why compiled: one LSTM step is one matrix product plus ~10 elementwise operations. From Python
// each elementwise operation is a separate pass over memory and a dispatch (~40% of a step at
// (N, H) = (32, 256)); here they are one fused, vectorised loop over the hidden units.
//
// Per step t (gate order i, f, g, o; a = pre-activations, (N, 4H)):
//   forward:  a = [x_t W_ih^T + b] + h_{t-1} W_hh^T
//             i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//             c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
//   backward: dc   = dc_{t+1 -> t} + dh_t * o * (1 - tanh(c_t)^2)
//             da_o = dh_t * tanh(c_t) * o (1 - o)
//             da_i = dc * g * i (1 - i);  da_f = dc * c_{t-1} * f (1 - f);  da_g = dc * i (1 - g^2)
//             dc_{t -> t-1} = dc * f;     dh_{t-1} = dh_{t-1}(from the output) + da W_hh
//
// Buffers follow fast.py's _Schedule: hbuf and cbuf (T+1, N, H) hold the initial state at index
// `first` and the state after step t at t+1 (forward) or t (reverse).

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <cmath>
#include <optional>

namespace {

// The elementwise loops are compiled for several x86-64 vector widths; the loader picks the
// widest the CPU has. Elsewhere (aarch64) the compiler's default target is used.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RNNLIB_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RNNLIB_VECTOR_CLONES
#endif

template <typename T>
inline T sigmoid(T a) {
  return T(1) / (T(1) + std::exp(-a));
}

// One step's gates and state for `rows` rows of the batch. The pre-activations are `xw` (the
// input's part, rows x 4H) + `hw` (the recurrent part); `act` receives the activations i, f, g, o
// (it is the same memory as `xw`: each element is read before it is written).
template <typename T>
RNNLIB_VECTOR_CLONES void cell_forward(int64_t rows, int64_t H, const T* xw, const T* __restrict__ hw, T* act,
                                       const T* __restrict__ c_prev, T* __restrict__ c, T* __restrict__ tanh_c,
                                       T* __restrict__ h) {
  for (int64_t n = 0; n < rows; ++n, xw += 4 * H, hw += 4 * H, act += 4 * H, c_prev += H, c += H, tanh_c += H, h += H) {
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(xw[j] + hw[j]);
      const T f = sigmoid(xw[H + j] + hw[H + j]);
      const T g = std::tanh(xw[2 * H + j] + hw[2 * H + j]);
      const T o = sigmoid(xw[3 * H + j] + hw[3 * H + j]);
      act[j] = i;
      act[H + j] = f;
      act[2 * H + j] = g;
      act[3 * H + j] = o;
      c[j] = f * c_prev[j] + i * g;
      tanh_c[j] = std::tanh(c[j]);
      h[j] = o * tanh_c[j];
    }
  }
}

// One step of backpropagation through time for `rows` rows: dL/da (rows, 4H) from dL/dh_t (the
// output's part `dh_out` + the recurrent part `dh_rec`) and dL/dc_t; dc is updated in place from
// dL/dc_t (its part from step t+1) to dL/dc_{t-1}.
template <typename T>
RNNLIB_VECTOR_CLONES void cell_backward(int64_t rows, int64_t H, const T* __restrict__ act, const T* __restrict__ c_prev,
                                        const T* __restrict__ tanh_c, const T* __restrict__ dh_out,
                                        const T* __restrict__ dh_rec, T* __restrict__ dc, T* __restrict__ da) {
  for (int64_t n = 0; n < rows;
       ++n, act += 4 * H, c_prev += H, tanh_c += H, dh_out += H, dh_rec += H, dc += H, da += 4 * H) {
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = act[j], f = act[H + j], g = act[2 * H + j], o = act[3 * H + j];
      const T dh = dh_out[j] + dh_rec[j];
      const T dc_t = dc[j] + dh * o * (T(1) - tanh_c[j] * tanh_c[j]);
      da[j] = dc_t * g * i * (T(1) - i);
      da[H + j] = dc_t * c_prev[j] * f * (T(1) - f);
      da[2 * H + j] = dc_t * i * (T(1) - g * g);
      da[3 * H + j] = dh * tanh_c[j] * o * (T(1) - o);
      dc[j] = dc_t * f;
    }
  }
}

// Split the batch's rows between torch's threads (rows are independent within a step).
template <typename F>
void over_rows(int64_t N, int64_t H, const F& body) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, 4 * H));
  at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) { body(begin, end - begin); });
}

// input @ weight^T: the recurrent product of one step. With a weight prepacked for oneDNN (float32)
// it runs oneDNN's product, what torch.nn's own LSTM uses on CPU and faster than BLAS at these
// small batch sizes; otherwise BLAS.
at::Tensor product(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& packed) {
  if (!packed) return at::mm(input, weight.t());
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                               c10::string_view, c10::List<std::optional<at::Scalar>>,
                                               std::optional<c10::string_view>)>();
  return op.call(input, *packed, std::nullopt, "none", c10::List<std::optional<at::Scalar>>(), "");
}

template <typename T>
void forward_loop(const at::Tensor& gates, const at::Tensor& hbuf, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                  const at::Tensor& weight_hh, const std::optional<at::Tensor>& packed_weight_hh, bool reverse) {
  const int64_t steps = gates.size(0), N = gates.size(1), H = hbuf.size(2), G = 4 * H;
  T* const gates_p = gates.data_ptr<T>();
  T* const h_p = hbuf.data_ptr<T>();
  T* const c_p = cbuf.data_ptr<T>();
  T* const tanh_c_p = tanh_c.data_ptr<T>();
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? steps - 1 - k : k, prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;
    const at::Tensor hw = product(hbuf.select(0, prev), weight_hh, packed_weight_hh);  // h_{t-1} W_hh^T
    const T* hw_p = hw.data_ptr<T>();
    over_rows(N, H, [&](int64_t row, int64_t rows) {
      T* a = gates_p + (t * N + row) * G;  // holds x_t W_ih^T + b; receives the activations
      cell_forward<T>(rows, H, a, hw_p + row * G, a, c_p + (prev * N + row) * H, c_p + (next * N + row) * H,
                      tanh_c_p + (t * N + row) * H, h_p + (next * N + row) * H);
    });
  }
}

template <typename T>
at::Tensor backward_loop(const at::Tensor& gates, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                         const at::Tensor& weight_hh, const std::optional<at::Tensor>& packed_weight_hh_t,
                         const at::Tensor& dhs, const at::Tensor& dc_last, const at::Tensor& dgates, bool reverse) {
  const int64_t steps = gates.size(0), N = gates.size(1), H = cbuf.size(2), G = 4 * H;
  const at::Tensor weight_hh_t = weight_hh.t();
  at::Tensor dc = dc_last.clone();
  at::Tensor dh_rec = at::zeros_like(dc);  // dL/dh_t through step t+1: none at the last step
  const T* const act_p = gates.data_ptr<T>();
  const T* const c_p = cbuf.data_ptr<T>();
  const T* const tanh_c_p = tanh_c.data_ptr<T>();
  T* const da_p = dgates.data_ptr<T>();
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? k : steps - 1 - k, prev = reverse ? t + 1 : t;
    // dL/dh_t from the output at t (contiguous() copies one step when the gradient is broadcast)
    const at::Tensor dh_out = dhs.select(0, t).contiguous();
    const T* dh_out_p = dh_out.data_ptr<T>();
    const T* dh_rec_p = dh_rec.data_ptr<T>();
    T* dc_p = dc.data_ptr<T>();
    over_rows(N, H, [&](int64_t row, int64_t rows) {
      cell_backward<T>(rows, H, act_p + (t * N + row) * G, c_p + (prev * N + row) * H, tanh_c_p + (t * N + row) * H,
                       dh_out_p + row * H, dh_rec_p + row * H, dc_p + row * H, da_p + (t * N + row) * G);
    });
    if (k + 1 < steps)  // dL/dh_{t-1} through step t: da W_hh
      dh_rec = product(dgates.select(0, t), weight_hh_t, packed_weight_hh_t);
  }
  return dc;
}

void check(const at::Tensor& tensor, const char* name, const at::Tensor& like) {
  TORCH_CHECK(tensor.is_contiguous(), "lstm loop: ", name, " must be contiguous");
  TORCH_CHECK(tensor.scalar_type() == like.scalar_type(), "lstm loop: ", name, " has dtype ", tensor.scalar_type(),
              ", expected ", like.scalar_type());
}

void lstm_forward_loop(const at::Tensor& gates, const at::Tensor& hbuf, const at::Tensor& cbuf,
                       const at::Tensor& tanh_c, const at::Tensor& weight_hh,
                       const std::optional<at::Tensor>& packed_weight_hh, bool reverse) {
  for (auto [tensor, name] : {std::pair{&hbuf, "hbuf"}, {&cbuf, "cbuf"}, {&tanh_c, "tanh_c"}, {&gates, "gates"}})
    check(*tensor, name, gates);
  TORCH_CHECK(gates.scalar_type() == at::kFloat || gates.scalar_type() == at::kDouble,
              "lstm loop: float32 or float64 expected, got ", gates.scalar_type());
  if (gates.scalar_type() == at::kFloat)
    forward_loop<float>(gates, hbuf, cbuf, tanh_c, weight_hh, packed_weight_hh, reverse);
  else
    forward_loop<double>(gates, hbuf, cbuf, tanh_c, weight_hh, packed_weight_hh, reverse);
}

at::Tensor lstm_backward_loop(const at::Tensor& gates, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                              const at::Tensor& weight_hh, const std::optional<at::Tensor>& packed_weight_hh_t,
                              const at::Tensor& dhs, const at::Tensor& dc_last, const at::Tensor& dgates,
                              bool reverse) {
  for (auto [tensor, name] : {std::pair{&cbuf, "cbuf"}, {&tanh_c, "tanh_c"}, {&dc_last, "dc_last"},
                              {&dgates, "dgates"}, {&gates, "gates"}})
    check(*tensor, name, gates);
  TORCH_CHECK(gates.scalar_type() == at::kFloat || gates.scalar_type() == at::kDouble,
              "lstm loop: float32 or float64 expected, got ", gates.scalar_type());
  if (gates.scalar_type() == at::kFloat)
    return backward_loop<float>(gates, cbuf, tanh_c, weight_hh, packed_weight_hh_t, dhs, dc_last, dgates, reverse);
  return backward_loop<double>(gates, cbuf, tanh_c, weight_hh, packed_weight_hh_t, dhs, dc_last, dgates, reverse);
}

}  // namespace

// Registered without a dispatch key (called as is, whatever the tensors' keys): the packed weight
// is a oneDNN tensor, and fast.py calls these only inside its autograd.Function, on CPU tensors.
TORCH_LIBRARY(rnnlib, m) {
  m.def(
      "lstm_forward_loop(Tensor(a!) gates, Tensor(b!) hbuf, Tensor(c!) cbuf, Tensor(d!) tanh_c, Tensor weight_hh, "
      "Tensor? packed_weight_hh, bool reverse) -> ()",
      &lstm_forward_loop);
  m.def(
      "lstm_backward_loop(Tensor gates, Tensor cbuf, Tensor tanh_c, Tensor weight_hh, Tensor? packed_weight_hh_t, "
      "Tensor dhs, Tensor dc_last, Tensor(a!) dgates, bool reverse) -> Tensor",
      &lstm_backward_loop);
}
