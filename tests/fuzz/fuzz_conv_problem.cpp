// tests/fuzz/fuzz_conv_problem.cpp — libFuzzer harness for convkit's CNN convolution API.
//
// Role: turn arbitrary bytes into a ConvDesc (or a ConvTransposeDesc) — spatial dims 0-4,
// small and occasionally huge/zero/negative sizes, strides, dilations, paddings (explicit,
// symmetric, 'same', 'valid', wrong counts), padding modes, layouts, dtypes, forced algorithm
// names (real and bogus) and a CONVKIT_MAX_ISA cap — and check that:
//   * validation and planning either succeed or throw convkit::Error (anything else —
//     another exception, a crash, a sanitizer report — is a finding);
//   * every plan that succeeds for a small problem (< 20k multiply-adds) gives exactly the
//     reference engine's result on integer-valued data (direct algorithms are exact there;
//     an approximate one, Winograd, stays within the error bound conv.hpp documents),
//     for every direction (forward with and without the fused ReLU), with strided /
//     negative-stride input views.
// Built with clang -fsanitize=fuzzer,address,undefined by scripts/fuzz; replayed over the
// seed corpus by replay_main.cpp as an ordinary test.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "convkit/conv.hpp"
#include "convkit/error.hpp"
#include "fuzz_input.hpp"

using namespace convkit;
using convkit_fuzz::FuzzInput;
using convkit_fuzz::Rng;

namespace {

constexpr const char* kHarness = "fuzz_conv_problem";
constexpr std::int64_t kMaxMacs = 20000;
constexpr std::int64_t kMaxElems = 1 << 15;

// A size-like value: mostly small, sometimes 0, negative or huge (overflow checks).
std::int64_t size_value(FuzzInput& in, int small_max, int small_min = 1) {
  const std::uint8_t b = in.u8();
  if (b < 232) return small_min + b % (small_max - small_min + 1);
  switch (b & 7) {
    case 0: return 0;
    case 1: return -1;
    case 2: return -static_cast<std::int64_t>(in.u8());
    case 3: return std::int64_t{1} << 31;
    case 4: return std::int64_t{1} << (32 + in.pick(31));
    case 5: return std::numeric_limits<std::int64_t>::max();
    case 6: return std::numeric_limits<std::int64_t>::min();
    default: return static_cast<std::int64_t>(in.u64());
  }
}

// A per-dimension vector: empty, one value (broadcast), nd values, or a wrong count.
std::vector<std::int64_t> per_dim(FuzzInput& in, int nd, int small_max, int small_min) {
  const unsigned c = in.pick(8);
  std::size_t n = c == 0 ? 0 : c == 1 ? 1 : c == 7 ? static_cast<std::size_t>(nd + 1) : nd;
  if (nd <= 0 && c >= 2) n = in.pick(3);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = size_value(in, small_max, small_min);
  return v;
}

// Channels as groups × per-group count (huge or negative counts are kept as they are).
std::int64_t times_groups(std::int64_t g, std::int64_t per_group) {
  return per_group >= 0 && per_group <= (std::int64_t{1} << 40) ? g * per_group : per_group;
}

Padding make_padding(FuzzInput& in, int nd) {
  const unsigned c = in.pick(8);
  if (c == 0) return Padding::same();
  if (c == 1) return Padding::valid();
  if (c <= 4) return Padding::symmetric(per_dim(in, nd, 3, 0));
  std::size_t n = in.one_in(8) ? in.pick(5) : static_cast<std::size_t>(nd > 0 ? nd : 1);
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs(n);
  for (auto& p : pairs) {
    p.first = size_value(in, 3, 0);
    p.second = size_value(in, 3, 0);
  }
  return Padding::explicit_pairs(pairs);
}

const char* kLayoutNames[] = {"NCW", "NWC", "NCHW", "NHWC", "NCDHW", "NDHWC", "NCHW ", "nchw", ""};
const char* kPaddingModes[] = {"zeros", "reflect", "replicate", "circular", "mirror", ""};

Layout pick_layout(FuzzInput& in, int nd) {
  const unsigned c = in.pick(16);
  if (c < 10) return c & 1 ? Layout::channels_last : Layout::channels_first;
  try {
    return parse_layout(kLayoutNames[c - 10 < 9 ? c - 10 : 8], nd);
  } catch (const Error&) {
    return Layout::channels_first;
  }
}

std::string pick_algorithm(FuzzInput& in) {
  static const std::vector<std::string> names = algorithm_names();
  const unsigned c = in.pick(static_cast<unsigned>(names.size()) + 3);
  if (c < names.size()) return names[c];
  if (c == names.size()) return "auto";
  if (c == names.size() + 1) return "no_such_algorithm";
  return "";
}

// Backing elements a (possibly strided) tensor of `shape` may need: empty extents count as 1.
std::int64_t count(const std::vector<std::int64_t>& shape) {
  double n = 1;
  for (auto e : shape) n *= static_cast<double>(std::max<std::int64_t>(e, 1));
  return n > 1e15 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(n);
}

// One tensor argument: a backing buffer and a (possibly strided) view of it.
template <typename T>
struct Tensor {
  std::vector<T> buf;
  TensorView view;
};

template <typename T>
Tensor<T> make_tensor(const std::vector<std::int64_t>& shape, FuzzInput& in, Rng& rng, bool output) {
  Tensor<T> t;
  const convkit_fuzz::Strided s = convkit_fuzz::make_strided(shape, in, /*allow_zero=*/!output);
  t.buf.resize(static_cast<std::size_t>(s.backing));
  // Integer values: every algorithm's float sums are exact, so results must be identical.
  for (auto& v : t.buf) v = output ? T(-12345) : static_cast<T>(rng.range(-3, 3));
  t.view = TensorView(t.buf.data() + s.offset, dtype_of<T>::value, shape, s.strides);
  return t;
}

template <typename T>
void require_equal(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!both_nan && got[i] != want[i]) {
      std::fprintf(stderr, "%s: element %zu of the backing buffer: got %.17g, reference %.17g\n", what,
                   i, static_cast<double>(got[i]), static_cast<double>(want[i]));
      convkit_fuzz::fail(kHarness, "algorithm differs from the reference on integer data");
    }
  }
}

// The bound conv.hpp documents for an approximate algorithm (Winograd), inputs in [−3, 3]:
// 2⁻²⁴·2304·(summed channels + 32)·max|x|·max|w| (forward, backward-data), and for weight
// gradients 2⁻²⁴·2845·(T + 32)·max|x|·max|dy|, T = N·(⌈OH/4⌉ + 2·dh)·(⌈OW/4⌉ + 2·dw).
double channel_bound(std::int64_t summed_channels) {
  return std::ldexp(1.0, -24) * 2304.0 * static_cast<double>(summed_channels + 32) * 9.0;
}
double weight_gradient_bound(const ConvProblem& p) {
  const double tiles = static_cast<double>(p.batch) *
                       static_cast<double>((p.out[1] + 3) / 4 + 2 * p.dilation[1]) *
                       static_cast<double>((p.out[2] + 3) / 4 + 2 * p.dilation[2]);
  return std::ldexp(1.0, -24) * 2845.0 * (tiles + 32.0) * 9.0;
}

// An approximate algorithm's result against the reference: within `tol` plus the result's
// own rounding; elements outside the view must be untouched (equal).
template <typename T>
void require_within_bound(const std::vector<T>& got, const std::vector<T>& want, double tol,
                          const char* what) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double a = static_cast<double>(got[i]), b = static_cast<double>(want[i]);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= tol + std::ldexp(std::fabs(b), -23))) {
      std::fprintf(stderr, "%s: element %zu of the backing buffer: got %.17g, reference %.17g\n",
                   what, i, a, b);
      convkit_fuzz::fail(kHarness, "approximate algorithm outside its documented error bound");
    }
  }
}

// Runs `plan` and a reference plan of the same problem/direction on the same inputs and
// requires identical results. `transposed_bias` adds a bias to backward_data (conv_transpose).
template <typename T>
void run_and_compare(const ConvPlan& plan, FuzzInput& in, bool transposed_bias) {
  const ConvProblem& p = plan.problem();
  const Direction dir = plan.direction();
  ConvPlan ref(p, dir, PlanOptions{"reference"});
  Rng rng(in.seed_from_rest() ^ in.u64());
  const auto xs = p.input_shape(), ys = p.output_shape(), ws = p.weight_shape();
  std::string what = std::string(direction_name(dir)) + " " + plan.algorithm_name() + " " + p.to_string();
  switch (dir) {
    case Direction::forward: {
      auto x = make_tensor<T>(xs, in, rng, false);
      auto w = make_tensor<T>(ws, in, rng, false);
      auto b = make_tensor<T>({p.out_channels}, in, rng, false);
      const bool with_bias = in.flag();
      auto y1 = make_tensor<T>(ys, in, rng, true);
      auto y2 = y1;
      y2.view.data = y2.buf.data() + (static_cast<T*>(y1.view.data) - y1.buf.data());
      // The fused ReLU half the time (drawn from the data stream: the input bytes keep their meaning).
      const convkit::Activation act = rng.next() & 1 ? convkit::Activation::relu : convkit::Activation::none;
      if (act == convkit::Activation::relu) what += " + relu";
      plan.forward(x.view, w.view, with_bias ? &b.view : nullptr, y1.view, act);
      ref.forward(x.view, w.view, with_bias ? &b.view : nullptr, y2.view, act);
      if (algorithm_is_approximate(plan.algorithm_name()))
        require_within_bound(y1.buf, y2.buf, channel_bound(p.in_channels_per_group()), what.c_str());
      else
        require_equal(y1.buf, y2.buf, what.c_str());
      break;
    }
    case Direction::backward_data: {
      auto dy = make_tensor<T>(ys, in, rng, false);
      auto w = make_tensor<T>(ws, in, rng, false);
      auto b = make_tensor<T>({p.in_channels}, in, rng, false);
      const bool with_bias = transposed_bias && in.flag();
      auto dx1 = make_tensor<T>(xs, in, rng, true);
      auto dx2 = dx1;
      dx2.view.data = dx2.buf.data() + (static_cast<T*>(dx1.view.data) - dx1.buf.data());
      plan.backward_data(dy.view, w.view, dx1.view, with_bias ? &b.view : nullptr);
      ref.backward_data(dy.view, w.view, dx2.view, with_bias ? &b.view : nullptr);
      if (algorithm_is_approximate(plan.algorithm_name()))
        require_within_bound(dx1.buf, dx2.buf, channel_bound(p.out_channels_per_group()),
                             what.c_str());
      else
        require_equal(dx1.buf, dx2.buf, what.c_str());
      break;
    }
    case Direction::backward_weights: {
      auto dy = make_tensor<T>(ys, in, rng, false);
      auto x = make_tensor<T>(xs, in, rng, false);
      auto dw1 = make_tensor<T>(ws, in, rng, true);
      auto dw2 = dw1;
      dw2.view.data = dw2.buf.data() + (static_cast<T*>(dw1.view.data) - dw1.buf.data());
      plan.backward_weights(dy.view, x.view, dw1.view);
      ref.backward_weights(dy.view, x.view, dw2.view);
      if (algorithm_is_approximate(plan.algorithm_name()))
        require_within_bound(dw1.buf, dw2.buf, weight_gradient_bound(p), what.c_str());
      else
        require_equal(dw1.buf, dw2.buf, what.c_str());
      break;
    }
    case Direction::backward_bias: {
      auto dy = make_tensor<T>(ys, in, rng, false);
      auto db1 = make_tensor<T>({p.out_channels}, in, rng, true);
      auto db2 = db1;
      db2.view.data = db2.buf.data() + (static_cast<T*>(db1.view.data) - db1.buf.data());
      plan.backward_bias(dy.view, db1.view);
      ref.backward_bias(dy.view, db2.view);
      require_equal(db1.buf, db2.buf, what.c_str());
      break;
    }
  }
}

bool small_enough(const ConvProblem& p) {
  if (p.macs() > kMaxMacs) return false;
  // The reference backward-data visits every padded input position (x every tap and output
  // channel of the group), so huge paddings or dilations make it slow though MACs are few.
  double padded = static_cast<double>(p.batch) * static_cast<double>(p.in_channels) *
                  static_cast<double>(p.out_channels_per_group());
  for (int j = 0; j < 3; ++j)
    padded *= static_cast<double>(p.in[j] + p.pad_before[j] + p.pad_after[j]) * static_cast<double>(p.kernel[j]);
  if (padded > 64.0 * kMaxMacs) return false;
  for (const auto& s : {p.input_shape(), p.output_shape(), p.weight_shape()})
    if (count(s) > kMaxElems) return false;
  return p.out_channels <= kMaxElems && p.in_channels <= kMaxElems;
}

// Plans `p` for `dir` with the requested algorithm; executes and compares small problems.
void plan_and_check(const ConvProblem& p, Direction dir, const std::string& algorithm, FuzzInput& in,
                    bool transposed_bias) {
  static const bool verbose = std::getenv("CONVKIT_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "plan %s %s algorithm '%s'\n", direction_name(dir), p.to_string().c_str(),
                 algorithm.c_str());
  // Finding 1: the shifted layout of the direct algorithms (shifted_layout.hpp geometry())
  // multiplies the strides unchecked (signed overflow), sizes per-phase tables by their product,
  // lists every kernel tap and copies the whole padded input: std::bad_alloc / out-of-memory,
  // or seconds to minutes for problems of a few multiply-adds, when strides, kernels or
  // paddings/dilations are huge.
  double phases = 1, taps = 1, padded = 1;
  for (int j = 0; j < 3; ++j) {
    phases *= static_cast<double>(p.stride[j]);
    taps *= static_cast<double>(p.kernel[j]);
    padded *= static_cast<double>(p.in[j]) + static_cast<double>(p.pad_before[j]) + static_cast<double>(p.pad_after[j]);
  }
  if ((phases > 1e4 || taps > 1e5 || padded > 1e5) && convkit_fuzz::avoid("shifted-layout-size")) return;
  // Finding 2: im2col_gemm's workspace_bytes_per_thread() overflows (signed) for huge channel
  // counts, e.g. out_channels = 2^59 with groups = 2 (auto planning calls it).
  if ((p.out_channels > (std::int64_t{1} << 32) || p.in_channels > (std::int64_t{1} << 32)) &&
      convkit_fuzz::avoid("gemm-workspace-overflow"))
    return;
  try {
    ConvPlan plan(p, dir, PlanOptions{algorithm});
    (void)plan.explain();
    (void)plan.workspace_bytes_per_thread();
    if (!small_enough(p)) return;
    if (p.dtype == DType::f32)
      run_and_compare<float>(plan, in, transposed_bias);
    else
      run_and_compare<double>(plan, in, transposed_bias);
  } catch (const Error&) {
    // A declined forced algorithm, a rejected view: a clean, documented outcome.
  } catch (const std::bad_alloc&) {
    // Finding 1 (tests/fuzz/regressions/conv_problem/): planning a huge-stride problem lets
    // std::bad_alloc escape instead of convkit::OutOfMemory / SizeOverflow.
    {
      std::fprintf(stderr, "plan %s %s algorithm '%s'\n", direction_name(dir), p.to_string().c_str(),
                   algorithm.c_str());
      convkit_fuzz::fail(kHarness, "std::bad_alloc escaped (expected convkit::Error)");
    }
  }
}

void fuzz_forward_problem(FuzzInput& in) {
  ConvDesc d;
  d.spatial_dims = in.one_in(16) ? static_cast<int>(in.pick(6)) - 1 : 1 + static_cast<int>(in.pick(3));
  const int nd = d.spatial_dims;
  d.batch = size_value(in, 2);
  d.groups = size_value(in, 3);
  const bool consistent = !in.one_in(8);
  const std::int64_t g = d.groups > 0 && d.groups <= 4 ? d.groups : 1;
  d.in_channels = consistent ? times_groups(g, size_value(in, 3)) : size_value(in, 6);
  d.out_channels = consistent ? times_groups(g, size_value(in, 3)) : size_value(in, 6);
  d.input_size = per_dim(in, nd, 7, 1);
  if (d.input_size.size() < 2 && !in.one_in(8)) d.input_size.assign(nd > 0 ? nd : 1, size_value(in, 7));
  d.kernel_size = per_dim(in, nd, 4, 1);
  if (d.kernel_size.empty() && !in.one_in(8)) d.kernel_size.assign(1, size_value(in, 4));
  d.stride = per_dim(in, nd, 3, 1);
  d.dilation = per_dim(in, nd, 3, 1);
  d.padding = make_padding(in, nd);
  const unsigned pm = in.pick(8);
  try {
    d.padding_mode = pm < 4 ? static_cast<PaddingMode>(pm) : parse_padding_mode(kPaddingModes[pm - 2]);
  } catch (const Error&) {
  }
  d.layout = pick_layout(in, nd);
  d.dtype = in.flag() ? DType::f64 : DType::f32;
  const std::string algorithm = pick_algorithm(in);

  std::optional<ConvProblem> p;
  try {
    p.emplace(d);
  } catch (const Error&) {
    return;
  }
  (void)p->to_string();
  (void)p->key();
  (void)p->macs();
  for (Direction dir : {Direction::forward, Direction::backward_data, Direction::backward_weights,
                        Direction::backward_bias})
    plan_and_check(*p, dir, algorithm, in, /*transposed_bias=*/false);
}

void fuzz_transposed_problem(FuzzInput& in) {
  ConvTransposeDesc t;
  t.spatial_dims = in.one_in(16) ? static_cast<int>(in.pick(6)) - 1 : 1 + static_cast<int>(in.pick(3));
  const int nd = t.spatial_dims;
  t.batch = size_value(in, 2);
  t.groups = size_value(in, 3);
  const std::int64_t g = t.groups > 0 && t.groups <= 4 ? t.groups : 1;
  t.in_channels = times_groups(g, size_value(in, 3));
  t.out_channels = times_groups(g, size_value(in, 3));
  t.input_size = per_dim(in, nd, 6, 1);
  if (t.input_size.size() < 2 && !in.one_in(8)) t.input_size.assign(nd > 0 ? nd : 1, size_value(in, 6));
  t.kernel_size = per_dim(in, nd, 4, 1);
  t.stride = per_dim(in, nd, 3, 1);
  t.dilation = per_dim(in, nd, 3, 1);
  t.padding = in.one_in(8) ? make_padding(in, nd) : Padding::symmetric(per_dim(in, nd, 2, 0));
  t.output_padding = per_dim(in, nd, 2, 0);
  t.layout = pick_layout(in, nd);
  t.dtype = in.flag() ? DType::f64 : DType::f32;
  const std::string algorithm = pick_algorithm(in);
  try {
    (void)conv_transpose_output_shape(t);
  } catch (const Error&) {
  }
  try {
    const ConvProblem p = transposed_to_forward(t);
    plan_and_check(p, Direction::backward_data, algorithm, in, /*transposed_bias=*/true);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  // Which ISA path the micro-kernels take (read at every call by convkit).
  convkit_fuzz::cap_isa(in.pick(4));
  try {
    (void)conv_output_size(size_value(in, 9), size_value(in, 4), size_value(in, 3), size_value(in, 2, 0),
                           size_value(in, 2, 0), size_value(in, 3));
  } catch (const Error&) {
  }
  if (in.one_in(4))
    fuzz_transposed_problem(in);
  else
    fuzz_forward_problem(in);
  return 0;
}
