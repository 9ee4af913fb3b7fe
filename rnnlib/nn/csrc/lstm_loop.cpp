// The time loop of rnnlib.nn's fast LSTM, compiled: what rnnlib/nn/fast.py's _LSTM runs in
// Python, step for step, when this library is built (python -m rnnlib.nn.build, which
// `make venv` runs). Everything outside the time loop (the input projection before it, the weight
// gradients after it) stays in fast.py; rnnlib/nn/compiled.py builds and loads this file.
//
// Why compiled: one LSTM step is one small matrix product plus ~10 elementwise operations. From
// Python each elementwise operation is a separate pass over memory and a dispatch, and the product
// a BLAS call sized for large matrices; here the elementwise work is one fused, vectorised loop
// over the hidden units, and the product oneDNN's small-matrix kernel (brgemm), split between
// torch's threads.
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
#include <ATen/native/CPUBlas.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <cmath>

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

// One step's gates and state for `rows` rows of the batch: `a` (rows, 4H) holds the
// pre-activations and receives the activations i, f, g, o in their place.
template <typename T>
RNNLIB_VECTOR_CLONES void cell_forward(int64_t rows, int64_t H, T* __restrict__ a, const T* __restrict__ c_prev,
                                       T* __restrict__ c, T* __restrict__ tanh_c, T* __restrict__ h) {
  for (int64_t n = 0; n < rows; ++n, a += 4 * H, c_prev += H, c += H, tanh_c += H, h += H) {
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(a[j]);
      const T f = sigmoid(a[H + j]);
      const T g = std::tanh(a[2 * H + j]);
      const T o = sigmoid(a[3 * H + j]);
      a[j] = i;
      a[H + j] = f;
      a[2 * H + j] = g;
      a[3 * H + j] = o;
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

// c (M, P) = a (M, K) @ b (K, P), or c += a @ b with `accumulate`: the recurrent product of one
// step (all tensors contiguous). float32: oneDNN's batch-reduce GEMM kernel (brgemm, the
// small-matrix kernel torch's own CPU kernels use), one block of columns per thread; it is
// faster than a BLAS call at these sizes (one small product per step, M = the batch). float64: BLAS.
void product(const at::Tensor& a, const at::Tensor& b, at::Tensor& c, bool accumulate) {
  if (a.scalar_type() != at::kFloat) {
    if (accumulate)
      at::addmm_out(c, c, a, b);
    else
      at::mm_out(c, a, b);
    return;
  }
  const int64_t M = a.size(0), K = a.size(1), P = b.size(1);
  const float* a_p = a.data_ptr<float>();
  const float* b_p = b.data_ptr<float>();
  float* c_p = c.data_ptr<float>();
  // blocks of whole 16-float vectors, one per thread (fewer for narrow products)
  const int64_t vectors = (P + 15) / 16;
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), vectors / 4));
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t block = first; block < last; ++block) {
      const int64_t begin = std::min(P, block * vectors / blocks * 16);
      const int64_t end = std::min(P, (block + 1) * vectors / blocks * 16);
      if (end > begin)
        at::native::cpublas::brgemm(M, end - begin, K, K, P, P, accumulate, a_p, b_p + begin, c_p + begin, false);
    }
  });
}

template <typename T>
void forward_loop(const at::Tensor& gates, const at::Tensor& hbuf, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                  const at::Tensor& weight_hh, bool reverse) {
  const int64_t steps = gates.size(0), N = gates.size(1), H = hbuf.size(2), G = 4 * H;
  const at::Tensor weight_hh_t = weight_hh.t().contiguous();  // (H, 4H)
  T* const h_p = hbuf.data_ptr<T>();
  T* const c_p = cbuf.data_ptr<T>();
  T* const tanh_c_p = tanh_c.data_ptr<T>();
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? steps - 1 - k : k, prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;
    // a = (x_t W_ih^T + b, already there) + h_{t-1} W_hh^T; the cells overwrite it with the activations
    at::Tensor a = gates.select(0, t);
    product(hbuf.select(0, prev), weight_hh_t, a, /*accumulate=*/true);
    T* const a_p = a.data_ptr<T>();
    over_rows(N, H, [&](int64_t row, int64_t rows) {
      cell_forward<T>(rows, H, a_p + row * G, c_p + (prev * N + row) * H, c_p + (next * N + row) * H,
                      tanh_c_p + (t * N + row) * H, h_p + (next * N + row) * H);
    });
  }
}

template <typename T>
at::Tensor backward_loop(const at::Tensor& gates, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                         const at::Tensor& weight_hh, const at::Tensor& dhs, const at::Tensor& dc_last,
                         const at::Tensor& dgates, bool reverse) {
  const int64_t steps = gates.size(0), N = gates.size(1), H = cbuf.size(2), G = 4 * H;
  const at::Tensor weight = weight_hh.contiguous();  // (4H, H)
  at::Tensor dc = dc_last.clone();
  at::Tensor dh_rec = at::zeros_like(dc);  // dL/dh_t through step t+1: none at the last step
  const T* const act_p = gates.data_ptr<T>();
  const T* const c_p = cbuf.data_ptr<T>();
  const T* const tanh_c_p = tanh_c.data_ptr<T>();
  T* const da_p = dgates.data_ptr<T>();
  T* const dh_rec_p = dh_rec.data_ptr<T>();
  T* const dc_p = dc.data_ptr<T>();
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? k : steps - 1 - k, prev = reverse ? t + 1 : t;
    // dL/dh_t from the output at t (contiguous() copies one step when the gradient is broadcast)
    const at::Tensor dh_out = dhs.select(0, t).contiguous();
    const T* dh_out_p = dh_out.data_ptr<T>();
    over_rows(N, H, [&](int64_t row, int64_t rows) {
      cell_backward<T>(rows, H, act_p + (t * N + row) * G, c_p + (prev * N + row) * H, tanh_c_p + (t * N + row) * H,
                       dh_out_p + row * H, dh_rec_p + row * H, dc_p + row * H, da_p + (t * N + row) * G);
    });
    if (k + 1 < steps)  // dL/dh_{t-1} through step t: da W_hh
      product(dgates.select(0, t), weight, dh_rec, /*accumulate=*/false);
  }
  return dc;
}

void check(const at::Tensor& tensor, const char* name, const at::Tensor& like) {
  TORCH_CHECK(tensor.is_contiguous(), "lstm loop: ", name, " must be contiguous");
  TORCH_CHECK(tensor.scalar_type() == like.scalar_type(), "lstm loop: ", name, " has dtype ", tensor.scalar_type(),
              ", expected ", like.scalar_type());
}

// The shapes both loops rely on: gates (T, N, 4H), tanh_c (T, N, H), cbuf (T+1, N, H), weight_hh (4H, H).
void check_shapes(const at::Tensor& gates, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                  const at::Tensor& weight_hh) {
  TORCH_CHECK(gates.dim() == 3 && cbuf.dim() == 3, "lstm loop: gates and cbuf must be 3-D");
  const int64_t T = gates.size(0), N = gates.size(1), H = cbuf.size(2);
  TORCH_CHECK(gates.size(2) == 4 * H && cbuf.size(0) == T + 1 && cbuf.size(1) == N,
              "lstm loop: gates ", gates.sizes(), " and cbuf ", cbuf.sizes(), " do not match (T, N, 4H), (T+1, N, H)");
  TORCH_CHECK(tanh_c.dim() == 3 && tanh_c.size(0) == T && tanh_c.size(1) == N && tanh_c.size(2) == H,
              "lstm loop: tanh_c ", tanh_c.sizes(), " must be (T, N, H)");
  TORCH_CHECK(weight_hh.dim() == 2 && weight_hh.size(0) == 4 * H && weight_hh.size(1) == H,
              "lstm loop: weight_hh ", weight_hh.sizes(), " must be (4H, H) with H = ", H);
  TORCH_CHECK(gates.scalar_type() == at::kFloat || gates.scalar_type() == at::kDouble,
              "lstm loop: float32 or float64 expected, got ", gates.scalar_type());
  TORCH_CHECK(weight_hh.scalar_type() == gates.scalar_type(), "lstm loop: weight_hh has dtype ",
              weight_hh.scalar_type(), ", expected ", gates.scalar_type());
}

void lstm_forward_loop(const at::Tensor& gates, const at::Tensor& hbuf, const at::Tensor& cbuf,
                       const at::Tensor& tanh_c, const at::Tensor& weight_hh, bool reverse) {
  check_shapes(gates, cbuf, tanh_c, weight_hh);
  TORCH_CHECK(hbuf.sizes() == cbuf.sizes(), "lstm loop: hbuf ", hbuf.sizes(), " must have cbuf's shape ", cbuf.sizes());
  for (auto [tensor, name] : {std::pair{&hbuf, "hbuf"}, {&cbuf, "cbuf"}, {&tanh_c, "tanh_c"}, {&gates, "gates"}})
    check(*tensor, name, gates);
  if (gates.scalar_type() == at::kFloat)
    forward_loop<float>(gates, hbuf, cbuf, tanh_c, weight_hh, reverse);
  else
    forward_loop<double>(gates, hbuf, cbuf, tanh_c, weight_hh, reverse);
}

at::Tensor lstm_backward_loop(const at::Tensor& gates, const at::Tensor& cbuf, const at::Tensor& tanh_c,
                              const at::Tensor& weight_hh, const at::Tensor& dhs, const at::Tensor& dc_last,
                              const at::Tensor& dgates, bool reverse) {
  check_shapes(gates, cbuf, tanh_c, weight_hh);
  TORCH_CHECK(dgates.sizes() == gates.sizes() && dhs.sizes() == tanh_c.sizes() && dc_last.sizes() == tanh_c[0].sizes(),
              "lstm loop: dgates ", dgates.sizes(), ", dhs ", dhs.sizes(), " and dc_last ", dc_last.sizes(),
              " must be (T, N, 4H), (T, N, H) and (N, H)");
  TORCH_CHECK(dhs.scalar_type() == gates.scalar_type(), "lstm loop: dhs has dtype ", dhs.scalar_type(), ", expected ",
              gates.scalar_type());
  for (auto [tensor, name] : {std::pair{&cbuf, "cbuf"}, {&tanh_c, "tanh_c"}, {&dc_last, "dc_last"},
                              {&dgates, "dgates"}, {&gates, "gates"}})
    check(*tensor, name, gates);
  if (gates.scalar_type() == at::kFloat)
    return backward_loop<float>(gates, cbuf, tanh_c, weight_hh, dhs, dc_last, dgates, reverse);
  return backward_loop<double>(gates, cbuf, tanh_c, weight_hh, dhs, dc_last, dgates, reverse);
}

}  // namespace

// fast.py calls these inside its autograd.Function, on CPU tensors (compiled.py checks).
TORCH_LIBRARY(rnnlib, m) {
  m.def(
      "lstm_forward_loop(Tensor(a!) gates, Tensor(b!) hbuf, Tensor(c!) cbuf, Tensor(d!) tanh_c, Tensor weight_hh, "
      "bool reverse) -> ()",
      &lstm_forward_loop);
  m.def(
      "lstm_backward_loop(Tensor gates, Tensor cbuf, Tensor tanh_c, Tensor weight_hh, Tensor dhs, Tensor dc_last, "
      "Tensor(a!) dgates, bool reverse) -> Tensor",
      &lstm_backward_loop);
}
