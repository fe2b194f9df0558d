// tests/cpp/reference_test.cpp — correctness of the library against the naive oracle
// (naive_conv.hpp): randomized small problems for forward, backward-data, backward-weights,
// backward-bias and conv_transpose through one-shot functions and ConvPlan with algorithms
// "reference" and "auto", every layout / dtype / padding mode / view kind, compared EXACTLY on
// integer-valued data; plus the notebook example and a float64 finite-difference check.
#include <gtest/gtest.h>

#include "algos/outer_bwd_weights.hpp"
#include "core/cpu_features.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convkit/convkit.hpp"
#include "naive_conv.hpp"
#include "test_util.hpp"

namespace {

using ckt::Array;
using ckt::i64;
using ckt::Shape;
using ckt::Strided;
using ckt::ViewKind;
using convkit::ConvDesc;
using convkit::ConvPlan;
using convkit::ConvProblem;
using convkit::Direction;
using convkit::DType;
using convkit::Layout;
using convkit::Padding;
using convkit::PaddingMode;
using convkit::TensorView;

constexpr int kForwardCases = 1500;    // small problems; each runs all four directions
constexpr int kMediumCases = 60;       // more channels / larger images; all four directions
constexpr int kTransposedCases = 1000;
constexpr int kCasesPerAlgorithmAndIsa = 150;  // forced algorithms × ISA caps, all directions

// ---- the oracle checks itself -----------------------------------------------------------------

TEST(NaiveOracle, PaddingMatchesNumpy) {
  // Values from numpy.pad([1, 2, 3], (5, 5), mode).
  Array a(Shape{1, 1, 3});
  a.v = {1, 2, 3};
  auto padded = [&](naive::Mode m) {
    return naive::pad_axis(a, 2, 5, 5, m).v;
  };
  EXPECT_EQ(padded(naive::Mode::constant),
            (std::vector<double>{0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(padded(naive::Mode::reflect),
            (std::vector<double>{2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2}));
  EXPECT_EQ(padded(naive::Mode::edge),
            (std::vector<double>{1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3}));
  EXPECT_EQ(padded(naive::Mode::wrap),
            (std::vector<double>{2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2}));
  // numpy.pad([1, 2, 3, 4, 5], (2, 3), 'reflect') = [3, 2, 1, 2, 3, 4, 5, 4, 3, 2]
  Array b(Shape{1, 1, 5});
  b.v = {1, 2, 3, 4, 5};
  EXPECT_EQ(naive::pad_axis(b, 2, 2, 3, naive::Mode::reflect).v,
            (std::vector<double>{3, 2, 1, 2, 3, 4, 5, 4, 3, 2}));
  // A single element reflects to itself.
  Array c(Shape{1, 1, 1});
  c.v = {7};
  EXPECT_EQ(naive::pad_axis(c, 2, 2, 1, naive::Mode::reflect).v,
            (std::vector<double>{7, 7, 7, 7}));
}

TEST(NaiveOracle, BackwardIsAdjointOfForward) {
  // <forward(x, w), dy> = <x, backward_data(dy, w)> = <w, backward_weights(dy, x)>, exactly.
  std::mt19937_64 rng(11);
  for (auto mode : {naive::Mode::constant, naive::Mode::reflect, naive::Mode::edge,
                    naive::Mode::wrap}) {
    naive::Conv p;
    p.groups = 2;
    p.stride = {2, 1};
    p.dilation = {1, 2};
    p.pad_before = {3, 1};
    p.pad_after = {1, 4};
    p.mode = mode;
    const Array x = ckt::random_ints({2, 4, 3, 5}, rng), w = ckt::random_ints({6, 2, 3, 2}, rng);
    const Array y = naive::forward(x, w, nullptr, p);
    const Array dy = ckt::random_ints(y.shape, rng);
    const Array dx = naive::backward_data(dy, w, {3, 5}, p);
    const Array dw = naive::backward_weights(dy, x, {3, 2}, p);
    auto dot = [](const Array& a, const Array& b) {
      double s = 0;
      for (i64 i = 0; i < a.size(); ++i) s += a.v[i] * b.v[i];
      return s;
    };
    EXPECT_EQ(dot(y, dy), dot(x, dx));
    EXPECT_EQ(dot(y, dy), dot(w, dw));
  }
}

// ---- random problems ---------------------------------------------------------------------------

struct Case {
  int nd = 2;
  i64 N = 1, C = 1, K = 1, G = 1;
  Shape in, k, s, d, pb, pa;
  PaddingMode mode = PaddingMode::zeros;
  enum class Pad { explicit_pairs, same, valid } pad = Pad::explicit_pairs;
  Layout layout = Layout::channels_first;
  DType dtype = DType::f32;
  bool broadcast_scalars = false;  // give one value for all dims where they are all equal

  std::string describe() const {
    std::ostringstream o;
    o << nd << "-D N" << N << " C" << C << " K" << K << " G" << G << " in" << ckt::shape_str(in)
      << " k" << ckt::shape_str(k) << " s" << ckt::shape_str(s) << " d" << ckt::shape_str(d)
      << " pads" << ckt::shape_str(pb) << ckt::shape_str(pa) << " "
      << convkit::padding_mode_name(mode) << " "
      << (pad == Pad::same ? "same" : pad == Pad::valid ? "valid" : "explicit") << " "
      << convkit::layout_name(layout, nd) << " " << convkit::dtype_name(dtype);
    return o.str();
  }

  static std::vector<i64> maybe_scalar(const Shape& v, bool broadcast) {
    if (broadcast && std::all_of(v.begin(), v.end(), [&](i64 x) { return x == v[0]; }))
      return {v[0]};
    return v;
  }

  ConvDesc desc() const {
    ConvDesc dd;
    dd.spatial_dims = nd;
    dd.batch = N;
    dd.in_channels = C;
    dd.out_channels = K;
    dd.groups = G;
    dd.input_size = in;
    dd.kernel_size = k;
    dd.stride = maybe_scalar(s, broadcast_scalars);
    dd.dilation = maybe_scalar(d, broadcast_scalars);
    if (broadcast_scalars && std::all_of(d.begin(), d.end(), [](i64 x) { return x == 1; }))
      dd.dilation.clear();  // empty means 1
    switch (pad) {
      case Pad::same: dd.padding = Padding::same(); break;
      case Pad::valid: dd.padding = Padding::valid(); break;
      case Pad::explicit_pairs: {
        std::vector<std::pair<i64, i64>> pairs;
        for (int i = 0; i < nd; ++i) pairs.emplace_back(pb[i], pa[i]);
        const bool symmetric = pb == pa;
        if (broadcast_scalars && symmetric)
          dd.padding = Padding::symmetric(maybe_scalar(pb, true));
        else
          dd.padding = Padding::explicit_pairs(pairs);
      }
    }
    dd.padding_mode = mode;
    dd.layout = layout;
    dd.dtype = dtype;
    return dd;
  }

  naive::Conv oracle() const {
    naive::Conv p;
    p.groups = G;
    p.stride = s;
    p.dilation = d;
    p.pad_before = pb;
    p.pad_after = pa;
    p.mode = ckt::to_naive(mode);
    return p;
  }
  Shape x_shape() const { return naive::cat({N, C}, in); }
  Shape w_shape() const { return naive::cat({K, C / G}, k); }
  Shape y_shape() const { return naive::cat({N, K}, naive::out_spatial(in, k, oracle())); }
};

// Coverage counters: the random generator must hit every feature the brief asks for.
struct Coverage {
  std::map<std::string, int> hits;
  void hit(const std::string& what) { ++hits[what]; }
};

i64 pick(std::mt19937_64& rng, i64 lo, i64 hi) {  // inclusive
  return lo + static_cast<i64>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
}

// `medium` problems have more channels and larger images (several GEMM / blocking tiles in
// fast algorithms) but stay small enough for the naive oracle.
Case random_case(std::mt19937_64& rng, Coverage& cov, bool medium = false) {
  Case c;
  c.nd = static_cast<int>(pick(rng, 1, 3));
  const i64 max_in = medium ? (c.nd == 1 ? 40 : c.nd == 2 ? 12 : 6) : (c.nd == 1 ? 9 : c.nd == 2 ? 6 : 4);
  const i64 max_cg = medium ? 20 : 3, max_k = medium ? 5 : 4;
  // Channels and groups; sometimes depthwise.
  if (pick(rng, 0, 6) == 0) {
    c.G = pick(rng, 2, 4);
    c.C = c.G;
    c.K = c.G * pick(rng, 1, 2);
    cov.hit("depthwise");
  } else {
    c.G = std::vector<i64>{1, 1, 2, 3}[pick(rng, 0, 3)];
    c.C = c.G * pick(rng, 1, max_cg);
    c.K = c.G * pick(rng, 1, max_cg);
    if (c.G > 1) cov.hit("groups");
  }
  c.N = pick(rng, 0, 19) == 0 ? 0 : pick(rng, 1, 3);
  if (c.N == 0) cov.hit("batch 0");
  const int m = static_cast<int>(pick(rng, 0, 9));
  c.mode = m < 4 ? PaddingMode::zeros
           : m < 6 ? PaddingMode::reflect
           : m < 8 ? PaddingMode::replicate
                   : PaddingMode::circular;
  const int pk = static_cast<int>(pick(rng, 0, 9));
  c.pad = pk < 7 ? Case::Pad::explicit_pairs : pk < 9 ? Case::Pad::same : Case::Pad::valid;
  c.layout = pick(rng, 0, 1) ? Layout::channels_last : Layout::channels_first;
  c.dtype = pick(rng, 0, 1) ? DType::f64 : DType::f32;
  c.broadcast_scalars = pick(rng, 0, 1) == 1;
  const bool uniform = pick(rng, 0, 3) == 0;  // same values in every dim (tests broadcasting)
  for (int i = 0; i < c.nd; ++i) {
    if (uniform && i > 0) {
      c.in.push_back(c.in[0]);
      c.k.push_back(c.k[0]);
      c.s.push_back(c.s[0]);
      c.d.push_back(c.d[0]);
      c.pb.push_back(c.pb[0]);
      c.pa.push_back(c.pa[0]);
      continue;
    }
    const i64 in = pick(rng, 0, 9) == 0 ? 1 : pick(rng, 1, max_in);
    const i64 s = pick(rng, 0, 1) ? 1 : pick(rng, 2, 3);
    i64 d = pick(rng, 0, 1) ? 1 : pick(rng, 2, 3);
    i64 pb = 0, pa = 0, k = 1;
    switch (c.pad) {
      case Case::Pad::explicit_pairs: {
        // Modes other than zeros also get pads larger than the input.
        const i64 pmax = c.mode == PaddingMode::zeros ? 3 : (c.nd == 3 ? in + 1 : in + 3);
        pb = pick(rng, 0, pmax);
        pa = pick(rng, 0, pmax);
        const i64 kmax = (in + pb + pa - 1) / d + 1;
        k = pick(rng, 0, 6) == 0 && !medium ? kmax : pick(rng, 1, std::min<i64>(kmax, max_k));
        break;
      }
      case Case::Pad::valid: {
        if (d * 1 + 1 > in) d = 1;
        const i64 kmax = (in - 1) / d + 1;
        k = pick(rng, 0, 4) == 0 && !medium ? kmax : pick(rng, 1, std::min<i64>(kmax, max_k));
        break;
      }
      case Case::Pad::same: {
        k = pick(rng, 1, max_k);
        // TensorFlow's rule, computed here independently of the library.
        const i64 out = (in + s - 1) / s;
        const i64 total = std::max<i64>((out - 1) * s + (k - 1) * d + 1 - in, 0);
        pb = total / 2;
        pa = total - pb;
        break;
      }
    }
    c.in.push_back(in);
    c.k.push_back(k);
    c.s.push_back(s);
    c.d.push_back(d);
    c.pb.push_back(pb);
    c.pa.push_back(pa);
  }
  for (int i = 0; i < c.nd; ++i) {
    const i64 padded = c.in[i] + c.pb[i] + c.pa[i], extent = c.d[i] * (c.k[i] - 1) + 1;
    if (extent == padded) cov.hit("kernel as large as the padded input");
    if (c.k[i] == c.in[i] && c.in[i] > 1 && c.d[i] == 1) cov.hit("kernel as large as the input");
    if (c.mode != PaddingMode::zeros && std::max(c.pb[i], c.pa[i]) > c.in[i])
      cov.hit(std::string("pad larger than input, ") + convkit::padding_mode_name(c.mode));
    if (c.s[i] > 1 && (padded - extent) % c.s[i] != 0) cov.hit("stride that does not divide");
    if (c.d[i] > 1) cov.hit("dilation");
    if (c.pb[i] != c.pa[i]) cov.hit("asymmetric pads");
  }
  if (std::all_of(c.in.begin(), c.in.end(), [](i64 v) { return v == 1; })) cov.hit("1x1 input");
  cov.hit(std::to_string(c.nd) + "-D");
  cov.hit(convkit::padding_mode_name(c.mode));
  cov.hit(c.pad == Case::Pad::same ? "'same'" : c.pad == Case::Pad::valid ? "'valid'" : "explicit");
  cov.hit(convkit::layout_name(c.layout, 2));
  cov.hit(convkit::dtype_name(c.dtype));
  return c;
}

// A random problem Winograd takes: 2-D, float32, ungrouped, 3×3, stride 1, dilation 1; any
// padding mode and pads (also larger than the input for modes other than zeros), 'same' and
// 'valid', channel counts around the vector widths, images from 1×1 up.
Case winograd_case(std::mt19937_64& rng, Coverage& cov, bool medium) {
  Case c = random_case(rng, cov, medium);
  c.nd = 2;
  c.G = 1;
  c.dtype = DType::f32;
  c.C = pick(rng, 0, 2) == 0 ? pick(rng, 1, 3) : pick(rng, 1, medium ? 24 : 20);
  c.K = pick(rng, 0, 2) == 0 ? pick(rng, 1, 3) : pick(rng, 1, medium ? 24 : 20);
  if (c.pad == Case::Pad::same && c.mode != PaddingMode::zeros) c.pad = Case::Pad::explicit_pairs;
  c.in.clear();
  c.k.assign(2, 3);
  c.s.assign(2, 1);
  c.d.assign(2, 1);
  if (pick(rng, 0, 3) == 0) {  // dilated: run as dilation² dense phases
    c.d[0] = pick(rng, 1, 3);
    c.d[1] = pick(rng, 1, 3);
    if (c.pad == Case::Pad::same) c.pad = Case::Pad::explicit_pairs;
    cov.hit("winograd dilated");
  }
  c.pb.clear();
  c.pa.clear();
  for (int i = 0; i < 2; ++i) {
    const i64 in = pick(rng, 0, 5) == 0 ? pick(rng, 1, 3) : pick(rng, 3, medium ? 26 : 13);
    i64 pb = 0, pa = 0;
    if (c.pad == Case::Pad::same) {
      pb = pa = 1;
    } else if (c.pad == Case::Pad::explicit_pairs) {
      const i64 pmax = c.mode == PaddingMode::zeros ? 3 : in + 3;
      pb = pick(rng, 0, pmax);
      pa = pick(rng, 0, pmax);
    }
    const i64 extent = 2 * c.d[i] + 1;
    if (in + pb + pa < extent) {  // the kernel must fit: pad more after
      pa += extent - (in + pb + pa);
      if (c.pad == Case::Pad::valid) c.pad = Case::Pad::explicit_pairs;
    }
    c.in.push_back(in);
    c.pb.push_back(pb);
    c.pa.push_back(pa);
  }
  if (c.pad == Case::Pad::valid)
    for (int i = 0; i < 2; ++i) c.pb[i] = c.pa[i] = 0;
  cov.hit("winograd shape");
  return c;
}

// How one case is run through the library.
struct Variant {
  bool use_plan = false;
  std::string algorithm = "auto";
  ViewKind x_kind = ViewKind::contiguous, w_kind = ViewKind::contiguous,
           y_kind = ViewKind::contiguous, b_kind = ViewKind::contiguous;
  std::string describe() const {
    return std::string(use_plan ? "ConvPlan" : "one-shot") + " algorithm=" + algorithm +
           " views x:" + ckt::view_kind_name(x_kind) + " w:" + ckt::view_kind_name(w_kind) +
           " out:" + ckt::view_kind_name(y_kind) + " b:" + ckt::view_kind_name(b_kind);
  }
};

Variant random_variant(std::mt19937_64& rng, Coverage& cov) {
  Variant v;
  v.use_plan = pick(rng, 0, 1) == 1;
  v.algorithm = pick(rng, 0, 1) ? "reference" : "auto";
  v.x_kind = ckt::random_view_kind(rng);
  v.w_kind = ckt::random_view_kind(rng);
  v.y_kind = ckt::random_view_kind(rng);
  v.b_kind = ckt::random_view_kind(rng);
  cov.hit(v.use_plan ? "ConvPlan" : "one-shot");
  cov.hit("algorithm " + v.algorithm);
  for (auto k : {v.x_kind, v.w_kind, v.y_kind})
    if (k != ViewKind::contiguous) cov.hit(std::string("view ") + ckt::view_kind_name(k));
  return v;
}

template <class T>
constexpr T kSentinel = T(-12345.5);

// Whether the algorithm `opts` names takes (problem, direction); "auto" always does. A forced
// algorithm that declines must say so with UnsupportedError.
bool algorithm_takes(const ConvProblem& p, Direction d, const convkit::PlanOptions& opts) {
  if (opts.algorithm == "auto") return true;
  try {
    ConvPlan plan(p, d, opts);
    EXPECT_EQ(plan.algorithm_name(), opts.algorithm);
    return true;
  } catch (const convkit::UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find(opts.algorithm), std::string::npos) << e.what();
    return false;
  }
}

// Which algorithm ran each direction: "auto"'s choices, or a forced algorithm's acceptances.
std::map<std::string, int>& algorithm_tally() {
  static std::map<std::string, int> tally;
  return tally;
}

// Runs all four directions of case `c` through the library and compares with the oracle
// (directions a forced algorithm declines are skipped).
template <class T>
void run_case(const Case& c, const Variant& v, std::mt19937_64& rng) {
  const std::string where = c.describe() + " | " + v.describe();
  SCOPED_TRACE(where);
  const ConvDesc desc = c.desc();
  const ConvProblem prob(desc);
  // The library resolved the problem as the test did.
  for (int i = 0; i < c.nd; ++i) {
    const int j = 3 - c.nd + i;
    ASSERT_EQ(prob.pad_before[j], c.pb[i]);
    ASSERT_EQ(prob.pad_after[j], c.pa[i]);
  }
  const naive::Conv p = c.oracle();
  const Array x = ckt::random_ints(c.x_shape(), rng);
  const Array w = ckt::random_ints(c.w_shape(), rng);
  const Array b = ckt::random_ints({c.K}, rng);
  const Shape yshape = c.y_shape();
  const Array dy = ckt::random_ints(yshape, rng);
  const bool with_bias = pick(rng, 0, 1) == 1;
  const convkit::PlanOptions opts{v.algorithm};
  const T nan = std::numeric_limits<T>::quiet_NaN();

  auto input = [&](const Array& a, bool act, ViewKind k) {
    return ckt::make_strided<T>(a.shape, act, c.layout, k, rng, kSentinel<T>, &a);
  };
  auto output = [&](const Shape& s, bool act, ViewKind k) {
    return ckt::make_strided<T>(s, act, c.layout, k, rng, kSentinel<T>, nullptr, nan);
  };
  auto check_inputs_unchanged = [](const auto& buf, const auto& copy) {
    EXPECT_TRUE(buf.storage == copy.storage) << "an input was modified";  // inputs hold no NaN
  };

  const auto xs = input(x, true, v.x_kind);
  const auto ws = input(w, false, v.w_kind);
  const auto bs = input(b, false, v.b_kind);
  const auto dys = input(dy, true, v.x_kind);
  const auto xs0 = xs, ws0 = ws, dys0 = dys;

  // Forward (with the fused ReLU one time in three).
  const bool with_relu = pick(rng, 0, 2) == 0;
  const convkit::Activation act = with_relu ? convkit::Activation::relu : convkit::Activation::none;
  if (algorithm_takes(prob, Direction::forward, opts)) {
    const std::string chosen = convkit::cached_plan(prob, Direction::forward, opts)->algorithm_name();
    algorithm_tally()[std::string("forward ") + chosen]++;
    auto ys = output(yshape, true, v.y_kind);
    const TensorView bv = bs.view();
    const TensorView* bp = with_bias ? &bv : nullptr;
    if (v.use_plan) {
      const ConvPlan plan(prob, Direction::forward, opts);
      if (v.algorithm != "auto") {
        EXPECT_EQ(plan.algorithm_name(), v.algorithm);
      }
      const auto names = convkit::algorithm_names();
      EXPECT_NE(std::find(names.begin(), names.end(), plan.algorithm_name()), names.end());
      plan.forward(xs.view(), ws.view(), bp, ys.view(), act);
      // Weights packed once give the same values (every algorithm's packed form; the
      // reference packs nothing and is slow under the sanitizers).
      if (plan.algorithm_name() != "reference") {
        auto yp = output(yshape, true, v.y_kind);
        plan.forward(xs.view(), plan.pack_weights(ws.view()), bp, yp.view(), act);
        EXPECT_TRUE(ckt::same_values(ckt::read(yp), ckt::read(ys))) << "forward with packed weights";
      }
    } else {
      convkit::conv_forward(desc, xs.view(), ws.view(), bp, ys.view(), opts, act);
    }
    Array want = naive::forward(x, w, with_bias ? &b : nullptr, p);
    if (with_relu)
      for (double& e : want.v) e = e < 0 ? 0.0 : e;
    // Direct summation is exact on integer data; an approximate algorithm (Winograd) must stay
    // within its documented bound.
    if (convkit::algorithm_is_approximate(chosen))
      EXPECT_TRUE(ckt::values_within(ckt::read(ys), want,
                                     ckt::approximate_bound(x, w, c.C / c.G)))
          << "forward (" << chosen << ")" << (with_relu ? " + relu" : "");
    else
      EXPECT_TRUE(ckt::same_values(ckt::read(ys), want)) << "forward" << (with_relu ? " + relu" : "");
    EXPECT_TRUE(ckt::outside_untouched(ys, kSentinel<T>)) << "forward";
  }
  // Backward data.
  if (algorithm_takes(prob, Direction::backward_data, opts)) {
    const std::string chosen_bd =
        convkit::cached_plan(prob, Direction::backward_data, opts)->algorithm_name();
    algorithm_tally()[std::string("backward_data ") + chosen_bd]++;
    auto dxs = output(c.x_shape(), true, v.y_kind);
    if (v.use_plan) {
      const ConvPlan plan(prob, Direction::backward_data, opts);
      plan.backward_data(dys.view(), ws.view(), dxs.view());
    } else {
      convkit::conv_backward_data(desc, dys.view(), ws.view(), dxs.view(), opts);
    }
    if (convkit::algorithm_is_approximate(chosen_bd))  // sums over K output channels
      EXPECT_TRUE(ckt::values_within(ckt::read(dxs), naive::backward_data(dy, w, c.in, p),
                                     ckt::approximate_bound(dy, w, c.K / c.G)))
          << "backward_data (" << chosen_bd << ")";
    else
      EXPECT_TRUE(ckt::same_values(ckt::read(dxs), naive::backward_data(dy, w, c.in, p)))
          << "backward_data";
    EXPECT_TRUE(ckt::outside_untouched(dxs, kSentinel<T>)) << "backward_data";
  }
  // Backward weights.
  if (algorithm_takes(prob, Direction::backward_weights, opts)) {
    const std::string chosen_bw =
        convkit::cached_plan(prob, Direction::backward_weights, opts)->algorithm_name();
    algorithm_tally()[std::string("backward_weights ") + chosen_bw]++;
    auto dws = output(c.w_shape(), false, v.y_kind);
    if (v.use_plan) {
      const ConvPlan plan(prob, Direction::backward_weights, opts);
      plan.backward_weights(dys.view(), xs.view(), dws.view());
    } else {
      convkit::conv_backward_weights(desc, dys.view(), xs.view(), dws.view(), opts);
    }
    if (convkit::algorithm_is_approximate(chosen_bw))  // 2-D only (Winograd)
      EXPECT_TRUE(ckt::values_within(ckt::read(dws), naive::backward_weights(dy, x, c.k, p),
                                     ckt::approximate_bound_bwd_weights(x, dy, c.d[0], c.d[1])))
          << "backward_weights (" << chosen_bw << ")";
    else
      EXPECT_TRUE(ckt::same_values(ckt::read(dws), naive::backward_weights(dy, x, c.k, p)))
          << "backward_weights";
    EXPECT_TRUE(ckt::outside_untouched(dws, kSentinel<T>)) << "backward_weights";
  }
  // Backward bias.
  if (algorithm_takes(prob, Direction::backward_bias, opts)) {
    algorithm_tally()[std::string("backward_bias ") + convkit::cached_plan(prob, Direction::backward_bias, opts)->algorithm_name()]++;
    auto dbs = output({c.K}, false, v.b_kind);
    if (v.use_plan) {
      const ConvPlan plan(prob, Direction::backward_bias, opts);
      plan.backward_bias(dys.view(), dbs.view());
    } else {
      convkit::conv_backward_bias(desc, dys.view(), dbs.view());
    }
    EXPECT_TRUE(ckt::same_values(ckt::read(dbs), naive::backward_bias(dy))) << "backward_bias";
    EXPECT_TRUE(ckt::outside_untouched(dbs, kSentinel<T>)) << "backward_bias";
  }
  check_inputs_unchanged(xs, xs0);
  check_inputs_unchanged(ws, ws0);
  check_inputs_unchanged(dys, dys0);
}

TEST(Reference, RandomProblemsAllDirections) {
  algorithm_tally().clear();
  std::mt19937_64 rng(20240607);
  Coverage cov;
  for (int i = 0; i < kForwardCases; ++i) {
    const Case c = random_case(rng, cov);
    const Variant v = random_variant(rng, cov);
    SCOPED_TRACE("random case #" + std::to_string(i));
    if (c.dtype == DType::f32)
      run_case<float>(c, v, rng);
    else
      run_case<double>(c, v, rng);
    // Keep going to collect several failures, but not hundreds of them.
    if (::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() > 40)
      FAIL() << "too many failures; stopping after random case #" << i;
  }
  std::string summary;
  for (const auto& [k, count] : algorithm_tally()) summary += k + ": " + std::to_string(count) + "; ";
  std::printf("[          ] algorithms run (auto's choices and forced reference): %s\n",
              summary.c_str());
  for (const char* what :
       {"1-D", "2-D", "3-D", "NCHW", "NHWC", "float32", "float64", "groups", "depthwise",
        "batch 0", "zeros", "reflect", "replicate", "circular", "'same'", "'valid'", "explicit",
        "dilation", "asymmetric pads", "stride that does not divide", "1x1 input",
        "kernel as large as the input", "kernel as large as the padded input",
        "pad larger than input, reflect", "pad larger than input, replicate",
        "pad larger than input, circular", "ConvPlan", "one-shot", "algorithm reference",
        "algorithm auto", "view gapped", "view flipped", "view mixed"})
    EXPECT_GE(cov.hits[what], 3) << "random cases did not cover: " << what;
}

// Every algorithm of the list, forced by name, under every ISA cap (CONVKIT_MAX_ISA is read at
// every call), on the directions it takes.
void run_case_in_its_dtype(const Case& c, const Variant& v, std::mt19937_64& rng) {
  if (c.dtype == DType::f32)
    run_case<float>(c, v, rng);
  else
    run_case<double>(c, v, rng);
}

bool too_many_failures() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() > 40;
}

// Runs body(isa) with CONVKIT_MAX_ISA unchanged ("") and capped to avx2 and generic, then
// restores the caller's setting. A cap that selects the same ISA as the uncapped run (avx2
// on a CPU without AVX-512, say) is skipped: it would repeat the same kernels
// (isa_cap_count() caps run).
void for_each_isa_cap(const std::function<void(const char*)>& body) {
  using convkit::detail::Isa;
  const char* saved = std::getenv("CONVKIT_MAX_ISA");
  const std::string saved_value = saved ? saved : "";
  const Isa top = convkit::detail::active_isa();
  for (const char* isa : {"", "avx2", "generic"}) {
    if (*isa) {
      const Isa cap = std::string(isa) == "avx2" ? Isa::avx2 : Isa::generic;
      if (static_cast<int>(cap) >= static_cast<int>(top)) continue;  // the same kernels again
      setenv("CONVKIT_MAX_ISA", isa, 1);
    } else if (saved) {
      setenv("CONVKIT_MAX_ISA", saved_value.c_str(), 1);
    } else {
      unsetenv("CONVKIT_MAX_ISA");
    }
    body(isa);
  }
  if (saved)
    setenv("CONVKIT_MAX_ISA", saved_value.c_str(), 1);
  else
    unsetenv("CONVKIT_MAX_ISA");
}

// How many caps for_each_isa_cap runs on this CPU (under the caller's CONVKIT_MAX_ISA).
int isa_cap_count() {
  return 1 + static_cast<int>(convkit::detail::active_isa());
}

TEST(Algorithms, EveryAlgorithmAndIsaMatchesOracle) {
  algorithm_tally().clear();
  int ran = 0;
  for_each_isa_cap([&](const char* isa) {
    for (const std::string& name : convkit::algorithm_names()) {
      std::mt19937_64 rng(4242);
      Coverage cov;
      for (int i = 0; i < kCasesPerAlgorithmAndIsa; ++i) {
        // Winograd takes only 3×3 stride-1 float32 problems: draw those for it.
        const Case c = name == "winograd" ? winograd_case(rng, cov, i % 4 == 3)
                                          : random_case(rng, cov, /*medium=*/i % 4 == 3);
        Variant v = random_variant(rng, cov);
        v.algorithm = name;
        SCOPED_TRACE(std::string("CONVKIT_MAX_ISA=") + isa + " algorithm " + name + " case #" +
                     std::to_string(i));
        run_case_in_its_dtype(c, v, rng);
        ++ran;
        if (too_many_failures()) FAIL() << "too many failures";
      }
    }
  });
  // Every algorithm took at least some problems in some direction.
  for (const std::string& name : convkit::algorithm_names()) {
    int n = 0;
    for (const auto& [k, count] : algorithm_tally())
      if (k.size() > name.size() && k.compare(k.size() - name.size(), name.size(), name) == 0) n += count;
    EXPECT_GT(n, 0) << "algorithm " << name << " took no random problem";
  }
  std::string summary;
  for (const auto& [k, count] : algorithm_tally()) summary += k + ": " + std::to_string(count) + "; ";
  RecordProperty("directions_run", summary);
  std::printf("[          ] forced algorithms ran: %s\n", summary.c_str());
  EXPECT_GT(ran, 0);
}

// The depthwise algorithm's layouts and copies: channel counts around the vector widths (the
// channels-last kernel's vector and scalar channels, its 64-channel work chunks), multiplier
// 1 and 2, strides 1-3 (row copies, stride-2 de-interleave, strided gathers), dilation, every
// padding mode and layout, gapped/flipped views, on every ISA path, against the oracle.
TEST(Algorithms, DepthwisePathsMatchOracle) {
  const i64 channels[] = {1, 3, 8, 15, 16, 17, 31, 33, 64, 65, 70, 130};
  int ran = 0;
  for_each_isa_cap([&](const char* isa) {
    std::mt19937_64 rng(777);
    Coverage cov;
    for (int i = 0; i < 120; ++i) {
      Case c = random_case(rng, cov, /*medium=*/i % 2 == 0);
      c.G = c.C = channels[pick(rng, 0, 11)];
      c.K = c.C * (pick(rng, 0, 3) == 0 ? 2 : 1);
      if (c.N == 0) c.N = 1;
      Variant v = random_variant(rng, cov);
      v.algorithm = "depthwise";
      SCOPED_TRACE(std::string("CONVKIT_MAX_ISA=") + isa + " depthwise case #" + std::to_string(i));
      run_case_in_its_dtype(c, v, rng);
      ++ran;
      if (too_many_failures()) FAIL() << "too many failures";
    }
  });
  EXPECT_EQ(ran, 120 * isa_cap_count());
}

// Runs `cases` random cases with `algorithm` forced under every ISA cap (the same draws under
// each: `make` builds case i from the generator), and returns how many ran.
int run_forced_cases(const std::string& algorithm, std::uint64_t seed, int cases,
                     const std::function<Case(std::mt19937_64&, Coverage&, int)>& make) {
  int ran = 0;
  for_each_isa_cap([&](const char* isa) {
    std::mt19937_64 rng(seed);
    Coverage cov;
    for (int i = 0; i < cases; ++i) {
      const Case c = make(rng, cov, i);
      Variant v = random_variant(rng, cov);
      v.algorithm = algorithm;
      SCOPED_TRACE(std::string("CONVKIT_MAX_ISA=") + isa + " " + algorithm + " case #" +
                   std::to_string(i) + " " + c.describe());
      run_case_in_its_dtype(c, v, rng);
      ++ran;
      if (too_many_failures()) {
        ADD_FAILURE() << "too many failures";
        return;
      }
    }
  });
  return ran;
}

// depthwise_bwd_weights: channel counts around the vector widths and its chunk sizes (tails
// of a chunk, several chunks per thread), zero padding (the only mode it takes), strides,
// dilation, 1-D/2-D/3-D, rows shorter and longer than its whole-plane transpose limit, every
// layout and dtype, gapped/flipped views (its element-wise gathers), 3×3 windows (the fused
// kernel, sliding and not), on every ISA path, against the oracle. Its other
// directions are declined and skipped.
TEST(Algorithms, DepthwiseBwdWeightsMatchesOracle) {
  const i64 channels[] = {1, 3, 8, 15, 16, 17, 31, 33, 64, 65, 70, 130};
  const int took_before = algorithm_tally()["backward_weights depthwise_bwd_weights"];
  const int ran = run_forced_cases("depthwise_bwd_weights", 9090, 100, [&](std::mt19937_64& rng, Coverage& cov, int i) {
    Case c;
    do {
      c = random_case(rng, cov, /*medium=*/i % 2 == 0);
    } while (c.mode != PaddingMode::zeros && c.pad != Case::Pad::valid);
    c.G = c.C = c.K = channels[pick(rng, 0, 11)];
    if (c.N == 0 && i % 10 != 0) c.N = 1;
    if (i % 5 == 1 && c.nd <= 2 && c.pad != Case::Pad::same) {  // a long last row: per-row
      c.in.back() = pick(rng, 64, 80);                          // transposes into the buffer
      c.C = c.G = c.K = std::min<i64>(c.C, 33);
    }
    if (i % 4 == 2 && c.nd >= 2) {  // a 3×3 window: the fused 3×3 kernel, its window sliding
      const i64 step = pick(rng, 1, 2);  // along the row when stride = dilation there, or not
      const bool slide = i % 8 == 2;
      c.pad = Case::Pad::explicit_pairs;
      c.mode = PaddingMode::zeros;
      for (int j = c.nd - 2; j < c.nd; ++j) {
        c.k[j] = 3;
        c.in[j] = std::max<i64>(c.in[j], 6);
        c.pb[j] = c.pa[j] = 1;
        c.d[j] = j == c.nd - 1 ? step : pick(rng, 1, 2);
        c.s[j] = j == c.nd - 1 ? (slide ? step : 3 - step) : pick(rng, 1, 2);
      }
    }
    return c;
  });
  EXPECT_EQ(ran, 100 * isa_cap_count());
  EXPECT_EQ(algorithm_tally()["backward_weights depthwise_bwd_weights"] - took_before, 100 * isa_cap_count());
}

// pointwise_channels_last: 1×1 channels-last forward layers as a GEMM over positions. Channel
// and output-channel counts around the tile widths (narrow column tiles, tiles straight into
// y or through the tile buffer), more than one channel block (C > 512), strides and padding of
// every mode (zero rows, mapped rows), 1-D/2-D/3-D, gapped/flipped views (channels at a
// stride: gathered rows; y not dense: strided write-back), bias and ReLU, every ISA path,
// against the oracle.
TEST(Algorithms, PointwiseChannelsLastMatchesOracle) {
  const i64 channels[] = {1, 3, 8, 15, 16, 17, 33, 48, 49, 64, 65, 100};
  const int took_before = algorithm_tally()["forward pointwise_channels_last"];
  const int ran = run_forced_cases("pointwise_channels_last", 5150, 60, [&](std::mt19937_64& rng, Coverage& cov, int i) {
    Case c;
    do {
      c = random_case(rng, cov, /*medium=*/i % 2 == 0);
    } while (c.pad == Case::Pad::same);
    for (auto& k : c.k) k = 1;
    c.layout = Layout::channels_last;
    c.G = 1;
    c.C = channels[pick(rng, 0, 11)];
    c.K = channels[pick(rng, 0, 11)];
    if (i % 15 == 7) {  // two channel blocks, on a small image (the oracle is slow under ASan)
      c.C = 520 + pick(rng, 0, 100);
      for (auto& e : c.in) e = std::min<i64>(e, 4);
      c.N = std::min<i64>(c.N, 1);
    }
    if (c.N == 0 && i % 10 != 0) c.N = 1;
    return c;
  });
  EXPECT_EQ(ran, 60 * isa_cap_count());
  EXPECT_EQ(algorithm_tally()["forward pointwise_channels_last"] - took_before, 60 * isa_cap_count());
}

// direct on one-tap problems ends every row of work in the dot-product tail when the output
// positions are not a whole number of vectors: channel counts around the vector widths
// (partial last channel vector, more than one channel block), output positions below one
// vector (tail only) and just past whole tiles, strides (the subsampled view) and padding of
// every mode, groups, both layouts, gapped/flipped views (weights not in rows: no tail),
// bias and ReLU, every ISA path, against the oracle.
TEST(Algorithms, DirectOneTapDotTailMatchesOracle) {
  const i64 channels[] = {1, 3, 8, 15, 16, 17, 33, 49, 64, 100, 130, 257};
  const i64 images[][2] = {{7, 7}, {1, 3}, {3, 3}, {14, 14}, {5, 10}, {2, 9}, {7, 1}, {9, 17}};
  int tails = 0;
  const int ran = run_forced_cases("direct", 4949, 40, [&](std::mt19937_64& rng, Coverage& cov, int i) {
    Case c;
    do {
      c = random_case(rng, cov, /*medium=*/i % 2 == 0);
    } while (c.pad == Case::Pad::same);
    for (auto& k : c.k) k = 1;
    c.C = channels[pick(rng, 0, 11)] * c.G;
    c.K = channels[pick(rng, 0, 11)] * c.G;
    if (c.nd == 2 && i % 3 != 0) {
      const auto& im = images[pick(rng, 0, 7)];
      c.in = {im[0] * c.s[0], im[1] * c.s[1]};
    }
    c.N = std::min<i64>(c.N, c.C * c.K > 2000 ? 1 : 2);
    if (c.C * c.K > 2000)  // large channel counts on small images (the oracle is slow under ASan)
      for (auto& e : c.in) e = std::min<i64>(e, 9);
    i64 positions = c.N > 0 ? 1 : 0;
    for (int j = 0; j < c.nd; ++j) positions *= c.in[static_cast<std::size_t>(j)];
    if (positions % 4 != 0) ++tails;
    return c;
  });
  EXPECT_EQ(ran, 40 * isa_cap_count());
  EXPECT_GT(tails, 120 / 3);  // input positions not a multiple of the narrowest vector
}

// outer_bwd_weights with at least two slices' worth of positions (the sliced whole schedule:
// fixed position slices, each transposed with its taps' halo and reduced into its own
// partial tiles, added in order): 1×1 stride-1 layers read in place and layers with taps,
// strides, dilations and every padding mode (the shifted copy, several phases, the halo and
// the zero rows past an image's data), one and several images (slice bounds inside an image
// and across images), channel counts around the tile widths (a partial last vector: the
// zeroed columns), groups, gapped/flipped views, every ISA path, against the oracle.
TEST(Algorithms, OuterBwdWeightsSlicedMatchesOracle) {
  const i64 channels[] = {1, 3, 8, 16, 17, 33, 48, 64};
  const i64 images[][2] = {{23, 29}, {16, 32}, {33, 17}, {5, 103}, {64, 8}};
  const int took_before = algorithm_tally()["backward_weights outer_bwd_weights"];
  const int ran = run_forced_cases("outer_bwd_weights", 3030, 25, [&](std::mt19937_64& rng, Coverage& cov, int i) {
    Case c;
    do {
      c = random_case(rng, cov, /*medium=*/false);
    } while (c.pad == Case::Pad::same);
    c.nd = 2;
    c.in = {images[i % 5][0], images[i % 5][1]};
    c.d = {1 + (i % 7 == 6), 1};
    if (i % 2 == 0) {  // 1×1, stride 1, unpadded: read in place
      c.k = {1, 1};
      c.s = {1, 1};
      c.pb = {0, 0};
      c.pa = {0, 0};
      c.mode = PaddingMode::zeros;
    } else {  // taps, strides and padding of the random case's mode
      c.k = {1 + pick(rng, 1, 2), 1 + pick(rng, 0, 2)};
      c.s = {1 + (i % 3 == 1), 1 + (i % 5 == 3)};
      c.pb = {pick(rng, 0, 1), pick(rng, 0, 2)};
      c.pa = {pick(rng, 0, 1), pick(rng, 0, 1)};
    }
    c.pad = Case::Pad::explicit_pairs;
    c.G = i % 4 == 3 ? 2 : 1;
    c.C = channels[pick(rng, 0, 7)] * c.G;
    c.K = channels[pick(rng, 0, 7)] * c.G;
    c.N = 1 + i % 3;
    if (c.C * c.K * c.k[0] * c.k[1] > 600) c.N = 1;  // (the oracle is slow under ASan)
    return c;
  });
  EXPECT_EQ(ran, 25 * isa_cap_count());
  EXPECT_GT(algorithm_tally()["backward_weights outer_bwd_weights"] - took_before, 20 * isa_cap_count());
}

// pointwise_bwd_data: 1×1 backward-data as a GEMM over output-gradient positions. Channel
// counts around the tile widths on both sides (the last tile's partial vector from the padded
// weight copy), output channels past one L1 block, strides (dx positions no output reaches:
// the bias alone) and zero padding (output positions dropped), other padding modes without
// padding, groups, both layouts (channels-last dy read in place), gapped/flipped views, every
// ISA path, against the oracle.
TEST(Algorithms, PointwiseBwdDataMatchesOracle) {
  const i64 channels[] = {1, 3, 8, 15, 16, 17, 33, 48, 49, 64, 100, 300};
  const int took_before = algorithm_tally()["backward_data pointwise_bwd_data"];
  const int ran = run_forced_cases("pointwise_bwd_data", 6161, 60, [&](std::mt19937_64& rng, Coverage& cov, int i) {
    Case c;
    do {
      c = random_case(rng, cov, /*medium=*/i % 2 == 0);
      for (auto& k : c.k) k = 1;
    } while (c.pad == Case::Pad::same ||
             (c.mode != PaddingMode::zeros &&
              (std::any_of(c.pb.begin(), c.pb.end(), [](i64 v) { return v != 0; }) ||
               std::any_of(c.pa.begin(), c.pa.end(), [](i64 v) { return v != 0; }))));
    c.C = channels[pick(rng, 0, 11)] * c.G;
    c.K = channels[pick(rng, 0, 11)] * c.G;
    if (c.C * c.K > 3000) {  // wide channels on small images (the oracle is slow under ASan)
      c.N = std::min<i64>(c.N, 1);
      for (auto& e : c.in) e = std::min<i64>(e, 6);
    }
    if (c.N == 0 && i % 10 != 0) c.N = 1;
    return c;
  });
  EXPECT_EQ(ran, 60 * isa_cap_count());
  EXPECT_GT(algorithm_tally()["backward_data pointwise_bwd_data"] - took_before, 50 * isa_cap_count());
}

// The backward-data bias (conv_transpose's) through pointwise_bwd_data equals the reference
// algorithm's bit for bit, dx positions that no output position reaches included.
TEST(Algorithms, PointwiseBwdDataBiasMatchesReference) {
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<int> val(-3, 3);
  for (int stride : {1, 2, 3}) {
    for (Layout layout : {Layout::channels_first, Layout::channels_last}) {
      ConvDesc d;
      d.spatial_dims = 2;
      d.batch = 2;
      d.in_channels = 37;
      d.out_channels = 70;
      d.input_size = {9, 8};
      d.kernel_size = {1, 1};
      d.stride = {stride};
      d.padding = Padding::symmetric({stride == 3 ? 1 : 0});
      d.layout = layout;
      const ConvProblem p(d);
      auto fill = [&](i64 n) {
        std::vector<float> v(static_cast<std::size_t>(n));
        for (auto& e : v) e = static_cast<float>(val(rng));
        return v;
      };
      auto count = [](const std::vector<i64>& s) {
        i64 n = 1;
        for (i64 e : s) n *= e;
        return n;
      };
      const auto dy = fill(count(p.output_shape())), w = fill(count(p.weight_shape())),
                 b = fill(p.in_channels);
      std::vector<float> got(static_cast<std::size_t>(count(p.input_shape())), -99.f), want = got;
      const auto bv = convkit::TensorView::contiguous(b.data(), {p.in_channels});
      for (const char* alg : {"pointwise_bwd_data", "reference"}) {
        const ConvPlan plan(p, Direction::backward_data, {alg});
        plan.backward_data(convkit::TensorView::contiguous(dy.data(), p.output_shape()),
                           convkit::TensorView::contiguous(w.data(), p.weight_shape()),
                           convkit::TensorView::contiguous(
                               (std::string(alg) == "reference" ? want : got).data(),
                               p.input_shape()),
                           &bv);
      }
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
          << "stride " << stride << " " << convkit::layout_name(layout, 2);
    }
  }
}

// phased_bwd_data splits dx by stride phase (phases no tap reaches, taps t0 + u·s/gcd(s, d),
// dy cropped when a phase's padding is negative) and runs each as a forward problem through
// another algorithm, with the weights as a transposed, reversed view (or packed, for groups):
// zero-padding problems only, so every case here pads with zeros, with strides, dilations
// and pads that exercise those cases, on every ISA path, against the oracle.
TEST(Algorithms, PhasedBackwardDataMatchesOracle) {
  int ran = 0;
  for_each_isa_cap([&](const char* isa) {
    std::mt19937_64 rng(2718);
    Coverage cov;
    for (int i = 0; i < 120; ++i) {
      Case c;
      do {
        c = random_case(rng, cov, /*medium=*/i % 2 == 0);
      } while (c.mode != PaddingMode::zeros);
      Variant v = random_variant(rng, cov);
      v.algorithm = "phased_bwd_data";
      SCOPED_TRACE(std::string("CONVKIT_MAX_ISA=") + isa + " phased_bwd_data case #" +
                   std::to_string(i));
      run_case_in_its_dtype(c, v, rng);
      ++ran;
      if (too_many_failures()) FAIL() << "too many failures";
    }
  });
  EXPECT_EQ(ran, 120 * isa_cap_count());
}

// phased_bwd_data on depthwise layers with a stride: with multiplier 1 every stride phase is a
// depthwise forward problem, and all phases of a channel run back to back through
// depthwise_conv's channel-plane path (each dx plane written once, while in cache). Here 1-D
// to 3-D planes from a few positions to a few hundred, strides 2–3 (several phases, phases no
// tap reaches, cropped dy), dilation, zero padding up to past the kernel, multiplier 2 (the
// phases then run one after another), both layouts and dtypes, gapped/flipped views, on every
// ISA path, against the oracle.
TEST(Algorithms, PhasedBackwardDataDepthwisePhasesMatchOracle) {
  const i64 channels[] = {1, 3, 16, 17, 33};
  const int ran = run_forced_cases("phased_bwd_data", 4242, 40, [&](std::mt19937_64& rng, Coverage&, int i) {
    Case c;
    c.nd = static_cast<int>(pick(rng, 1, 3));
    c.G = c.C = channels[pick(rng, 0, 4)];
    c.K = c.C * (i % 5 == 4 ? 2 : 1);
    c.N = pick(rng, 1, 2);
    c.mode = PaddingMode::zeros;
    c.pad = Case::Pad::explicit_pairs;
    c.layout = i % 4 == 3 ? Layout::channels_last : Layout::channels_first;
    c.dtype = pick(rng, 0, 1) ? DType::f64 : DType::f32;
    for (int j = 0; j < c.nd; ++j) {
      const i64 in = c.nd == 1 ? pick(rng, 10, 400) : c.nd == 2 ? pick(rng, 6, 40) : pick(rng, 3, 12);
      const i64 s = j == c.nd - 1 ? pick(rng, 2, 3) : pick(rng, 1, 3);  // the last dim strided
      const i64 d = pick(rng, 0, 3) == 0 ? 2 : 1;
      const i64 pb = pick(rng, 0, 3), pa = pick(rng, 0, 3);
      const i64 k = pick(rng, 1, std::min<i64>((in + pb + pa - 1) / d + 1, 5));
      c.in.push_back(in);
      c.k.push_back(k);
      c.s.push_back(s);
      c.d.push_back(d);
      c.pb.push_back(pb);
      c.pa.push_back(pa);
    }
    return c;
  });
  EXPECT_EQ(ran, 40 * isa_cap_count());
}

// outer_bwd_weights has two schedules, chosen by size: "whole" (every image's transposed copy
// within a few MB: the random cases above) and "chunked" (positions in L2-sized chunks, sums
// carried through a buffer; reached here by lowering the size limit). Here problems large enough to be chunked (tens of
// channels on 40×40–64×64 images), 1×1 stride-1 layers that read x and dy in place (one image,
// and batches whose images are kept apart by zero gaps), strides (several phases), dilation,
// groups, every layout and dtype, on every ISA path, against the oracle.
TEST(Algorithms, OuterBackwardWeightsMatchesOracle) {
  struct Shape2 {
    i64 N, C, K, G, H, W, k, s, d, p;
    bool big;  // chunked: run once, on the best ISA (the oracle is slow); others on every ISA
  };
  const Shape2 shapes[] = {
      {1, 24, 16, 1, 48, 48, 3, 1, 1, 1, true},   // chunked, padded 3×3
      {2, 17, 9, 1, 40, 37, 3, 1, 1, 1, true},    // chunked, batch, odd sizes
      {1, 40, 12, 1, 44, 44, 1, 1, 1, 0, true},   // 1×1 in place, chunked
      {1, 20, 8, 1, 50, 50, 3, 2, 1, 1, true},    // strided: four phases, chunked
      {1, 32, 16, 2, 44, 44, 3, 1, 2, 2, true},   // groups, dilation, chunked
      {1, 24, 40, 1, 9, 7, 1, 1, 1, 0, false},    // 1×1 in place, whole
      {3, 24, 16, 1, 7, 9, 1, 1, 1, 0, false},    // 1×1, whole with gaps between images
      {2, 20, 12, 1, 11, 13, 3, 2, 1, 0, false},  // strided, whole
      {1, 30, 9, 3, 10, 12, 2, 1, 1, 1, false},   // groups, even kernel
  };
  // The big shapes are sized to run chunked below 768 KB of transposed input.
  const double saved_whole = convkit::detail::set_outer_bwd_weights_whole_bytes(768.0 * 1024);
  int ran = 0;
  for_each_isa_cap([&](const char* isa) {
    std::mt19937_64 rng(1618);
    Coverage cov;
    int i = 0;
    for (const Shape2& sh : shapes) {
      ++i;
      if (sh.big && *isa) continue;
      Case c;
      c.nd = 2;
      c.N = sh.N;
      c.C = sh.C;
      c.K = sh.K;
      c.G = sh.G;
      c.in = {sh.H, sh.W};
      c.k = {sh.k, sh.k};
      c.s = {sh.s, sh.s};
      c.d = {sh.d, sh.d};
      c.pb = {sh.p, sh.p};
      c.pa = {sh.p, sh.p};
      c.layout = i % 2 ? Layout::channels_first : Layout::channels_last;
      c.dtype = i % 3 ? DType::f32 : DType::f64;
      Variant v = random_variant(rng, cov);
      v.algorithm = "outer_bwd_weights";
      SCOPED_TRACE(std::string("CONVKIT_MAX_ISA=") + isa + " outer_bwd_weights " + c.describe());
      run_case_in_its_dtype(c, v, rng);
      ++ran;
      if (too_many_failures()) FAIL() << "too many failures";
    }
  });
  convkit::detail::set_outer_bwd_weights_whole_bytes(saved_whole);
  EXPECT_EQ(ran, 5 + 4 * isa_cap_count());
}

TEST(Reference, RandomMediumProblemsAllDirections) {
  std::mt19937_64 rng(31337);
  Coverage cov;
  for (int i = 0; i < kMediumCases; ++i) {
    Case c = random_case(rng, cov, /*medium=*/true);
    if (c.N == 0) c.N = 1;
    const Variant v = random_variant(rng, cov);
    SCOPED_TRACE("random medium case #" + std::to_string(i));
    if (c.dtype == DType::f32)
      run_case<float>(c, v, rng);
    else
      run_case<double>(c, v, rng);
    if (::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() > 40)
      FAIL() << "too many failures; stopping after random case #" << i;
  }
}

// Hand-picked corner cases, each run in every layout, dtype and variant.
TEST(Reference, CornerCases) {
  std::vector<Case> cases;
  auto mk = [](int nd, i64 N, i64 C, i64 K, i64 G, Shape in, Shape k, Shape s, Shape d, Shape pb,
               Shape pa, PaddingMode m) {
    Case c;
    c.nd = nd;
    c.N = N;
    c.C = C;
    c.K = K;
    c.G = G;
    c.in = in;
    c.k = k;
    c.s = s;
    c.d = d;
    c.pb = pb;
    c.pa = pa;
    c.mode = m;
    return c;
  };
  for (auto m : {PaddingMode::zeros, PaddingMode::reflect, PaddingMode::replicate,
                 PaddingMode::circular}) {
    cases.push_back(mk(2, 2, 1, 1, 1, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, m));  // 1x1
    cases.push_back(mk(2, 1, 2, 3, 1, {1, 1}, {3, 2}, {1, 2}, {1, 1}, {2, 1}, {0, 0}, m));
    cases.push_back(mk(1, 2, 3, 3, 3, {2}, {4}, {1}, {2}, {5}, {4}, m));  // pads > input, depthwise
    cases.push_back(mk(3, 1, 2, 2, 2, {2, 1, 3}, {2, 3, 3}, {2, 1, 2}, {2, 1, 1}, {3, 1, 0},
                       {1, 2, 4}, m));
    cases.push_back(mk(2, 0, 2, 4, 2, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, m));  // N=0
    cases.push_back(mk(2, 2, 2, 2, 1, {4, 5}, {4, 5}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, m));  // k=in
    cases.push_back(mk(1, 1, 1, 1, 1, {3}, {2}, {5}, {1}, {7}, {6}, m));  // stride > input
  }
  std::mt19937_64 rng(99);
  Coverage cov;
  for (const Case& base : cases)
    for (auto layout : {Layout::channels_first, Layout::channels_last})
      for (auto dtype : {DType::f32, DType::f64})
        for (int variant = 0; variant < 2; ++variant) {
          Case c = base;
          c.layout = layout;
          c.dtype = dtype;
          c.broadcast_scalars = variant == 1;
          Variant v = random_variant(rng, cov);
          v.use_plan = variant == 1;
          if (dtype == DType::f32)
            run_case<float>(c, v, rng);
          else
            run_case<double>(c, v, rng);
        }
}

TEST(Reference, ZeroStrideInputsBroadcast) {
  // x with stride 0 over the batch and w with stride 0 over its input channels.
  Case c;
  c.nd = 2;
  c.N = 3;
  c.C = 2;
  c.K = 2;
  c.in = {4, 3};
  c.k = {2, 2};
  c.s = {1, 1};
  c.d = {1, 1};
  c.pb = {1, 0};
  c.pa = {0, 1};
  c.mode = PaddingMode::reflect;
  std::mt19937_64 rng(5);
  const Array x1 = ckt::random_ints({1, 2, 4, 3}, rng), w1 = ckt::random_ints({2, 1, 2, 2}, rng);
  std::vector<float> xs(x1.v.begin(), x1.v.end()), ws(w1.v.begin(), w1.v.end());
  TensorView xv(xs.data(), DType::f32, {3, 2, 4, 3}, {0, 12, 3, 1});
  TensorView wv(ws.data(), DType::f32, {2, 2, 2, 2}, {4, 0, 2, 1});
  Array x(c.x_shape()), w(c.w_shape());
  naive::for_each_index(x.shape, [&](const Shape& i) { x.at(i) = x1.at({0, i[1], i[2], i[3]}); });
  naive::for_each_index(w.shape, [&](const Shape& i) { w.at(i) = w1.at({i[0], 0, i[2], i[3]}); });
  const Array want = naive::forward(x, w, nullptr, c.oracle());
  std::vector<float> y(static_cast<std::size_t>(naive::element_count(want.shape)));
  convkit::conv_forward(c.desc(), xv, wv, nullptr, TensorView::contiguous(y.data(), want.shape));
  Array got(want.shape);
  got.v.assign(y.begin(), y.end());
  EXPECT_TRUE(ckt::same_values(got, want));
  // Backward weights reads x through the zero stride too.
  const Array dy = ckt::random_ints(want.shape, rng);
  std::vector<float> dys(dy.v.begin(), dy.v.end()), dw(naive::element_count(w.shape));
  convkit::conv_backward_weights(c.desc(), TensorView::contiguous(dys.data(), dy.shape), xv,
                                 TensorView::contiguous(dw.data(), w.shape));
  Array gotw(w.shape);
  gotw.v.assign(dw.begin(), dw.end());
  EXPECT_TRUE(ckt::same_values(gotw, naive::backward_weights(dy, x, c.k, c.oracle())));
}

// ---- transposed convolution -------------------------------------------------------------------

struct TCase {
  int nd = 2;
  i64 N = 1, Cin = 1, Cout = 1, G = 1;
  Shape in, k, s, d, pb, pa, op;
  Layout layout = Layout::channels_first;
  DType dtype = DType::f32;
  bool with_bias = false;

  std::string describe() const {
    std::ostringstream o;
    o << "transposed " << nd << "-D N" << N << " Cin" << Cin << " Cout" << Cout << " G" << G
      << " in" << ckt::shape_str(in) << " k" << ckt::shape_str(k) << " s" << ckt::shape_str(s)
      << " d" << ckt::shape_str(d) << " pads" << ckt::shape_str(pb) << ckt::shape_str(pa)
      << " output_padding" << ckt::shape_str(op) << " " << convkit::layout_name(layout, nd) << " "
      << convkit::dtype_name(dtype) << (with_bias ? " bias" : "");
    return o.str();
  }
  convkit::ConvTransposeDesc desc() const {
    convkit::ConvTransposeDesc t;
    t.spatial_dims = nd;
    t.batch = N;
    t.in_channels = Cin;
    t.out_channels = Cout;
    t.groups = G;
    t.input_size = in;
    t.kernel_size = k;
    t.stride = s;
    t.dilation = d;
    std::vector<std::pair<i64, i64>> pairs;
    for (int i = 0; i < nd; ++i) pairs.emplace_back(pb[i], pa[i]);
    t.padding = Padding::explicit_pairs(pairs);
    t.output_padding = op;
    t.layout = layout;
    t.dtype = dtype;
    return t;
  }
  Shape out() const {
    Shape o;
    for (int i = 0; i < nd; ++i)
      o.push_back(naive::transposed_out_size(in[i], k[i], s[i], d[i], pb[i], pa[i], op[i]));
    return o;
  }
};

TCase random_tcase(std::mt19937_64& rng, Coverage& cov) {
  for (;;) {
    TCase t;
    t.nd = static_cast<int>(pick(rng, 1, 3));
    const i64 max_in = t.nd == 1 ? 7 : t.nd == 2 ? 4 : 3;
    t.G = std::vector<i64>{1, 1, 2, 3}[pick(rng, 0, 3)];
    t.Cin = t.G * pick(rng, 1, 2);
    t.Cout = t.G * pick(rng, 1, 3);
    t.N = pick(rng, 0, 19) == 0 ? 0 : pick(rng, 1, 2);
    t.layout = pick(rng, 0, 1) ? Layout::channels_last : Layout::channels_first;
    t.dtype = pick(rng, 0, 1) ? DType::f64 : DType::f32;
    t.with_bias = pick(rng, 0, 1) == 1;
    bool ok = true;
    for (int i = 0; i < t.nd; ++i) {
      const i64 in = pick(rng, 1, max_in), k = pick(rng, 1, 4), s = pick(rng, 1, 3),
                d = pick(rng, 0, 1) ? 1 : pick(rng, 2, 3);
      const i64 pb = pick(rng, 0, 2), pa = pick(rng, 0, 2);
      const i64 op = pick(rng, 0, std::max(s, d) - 1);
      if (naive::transposed_out_size(in, k, s, d, pb, pa, op) < 1) ok = false;
      t.in.push_back(in);
      t.k.push_back(k);
      t.s.push_back(s);
      t.d.push_back(d);
      t.pb.push_back(pb);
      t.pa.push_back(pa);
      t.op.push_back(op);
    }
    if (!ok) continue;
    for (int i = 0; i < t.nd; ++i) {
      if (t.op[i] > 0) cov.hit("output_padding");
      if (t.op[i] >= t.s[i]) cov.hit("output_padding >= stride");
      if (t.d[i] > 1) cov.hit("dilation");
      if (t.s[i] > 1) cov.hit("stride");
    }
    if (t.G > 1) cov.hit("groups");
    if (t.with_bias) cov.hit("bias");
    if (t.N == 0) cov.hit("batch 0");
    cov.hit(std::to_string(t.nd) + "-D");
    return t;
  }
}

template <class T>
void run_tcase(const TCase& t, const Variant& v, std::mt19937_64& rng) {
  SCOPED_TRACE(t.describe() + " | " + v.describe());
  const Shape out = t.out();
  const auto desc = t.desc();
  // The library's output shape is PyTorch's, in the requested layout.
  Shape want_shape{t.N};
  if (t.layout == Layout::channels_first) want_shape.push_back(t.Cout);
  want_shape.insert(want_shape.end(), out.begin(), out.end());
  if (t.layout == Layout::channels_last) want_shape.push_back(t.Cout);
  ASSERT_EQ(convkit::conv_transpose_output_shape(desc), want_shape);

  const Array x = ckt::random_ints(naive::cat({t.N, t.Cin}, t.in), rng);
  const Array w = ckt::random_ints(naive::cat({t.Cin, t.Cout / t.G}, t.k), rng);
  const Array b = ckt::random_ints({t.Cout}, rng);
  const Array want =
      naive::conv_transpose(x, w, t.with_bias ? &b : nullptr, t.G, t.s, t.d, t.pb, t.pa, t.op);

  const T nan = std::numeric_limits<T>::quiet_NaN();
  const auto xs = ckt::make_strided<T>(x.shape, true, t.layout, v.x_kind, rng, kSentinel<T>, &x);
  const auto ws = ckt::make_strided<T>(w.shape, false, t.layout, v.w_kind, rng, kSentinel<T>, &w);
  const auto bs = ckt::make_strided<T>(b.shape, false, t.layout, v.b_kind, rng, kSentinel<T>, &b);
  auto ys = ckt::make_strided<T>(want.shape, true, t.layout, v.y_kind, rng, kSentinel<T>, nullptr,
                                 nan);
  const TensorView bv = bs.view();
  const TensorView* bp = t.with_bias ? &bv : nullptr;
  const convkit::PlanOptions opts{v.algorithm};
  if (!algorithm_takes(convkit::transposed_to_forward(desc), Direction::backward_data, opts)) return;
  if (v.use_plan) {
    const ConvProblem fwd = convkit::transposed_to_forward(desc);
    const ConvPlan plan(fwd, Direction::backward_data, opts);
    plan.backward_data(xs.view(), ws.view(), ys.view(), bp);
  } else {
    convkit::conv_transpose(desc, xs.view(), ws.view(), bp, ys.view(), opts);
  }
  EXPECT_TRUE(ckt::same_values(ckt::read(ys), want));
  EXPECT_TRUE(ckt::outside_untouched(ys, kSentinel<T>));
}

TEST(Reference, RandomTransposed) {
  std::mt19937_64 rng(777);
  Coverage cov, vcov;
  for (int i = 0; i < kTransposedCases; ++i) {
    const TCase t = random_tcase(rng, cov);
    const Variant v = random_variant(rng, vcov);
    SCOPED_TRACE("random transposed case #" + std::to_string(i));
    if (t.dtype == DType::f32)
      run_tcase<float>(t, v, rng);
    else
      run_tcase<double>(t, v, rng);
    if (::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() > 40)
      FAIL() << "too many failures; stopping after random transposed case #" << i;
  }
  for (const char* what : {"1-D", "2-D", "3-D", "output_padding", "output_padding >= stride",
                           "dilation", "stride", "groups", "bias", "batch 0"})
    EXPECT_GE(cov.hits[what], 3) << "random transposed cases did not cover: " << what;
}

TEST(Reference, TransposedOutputPaddingBeyondStride) {
  // output_padding in [stride, dilation): the result's last positions receive only the bias.
  TCase t;
  t.nd = 1;
  t.N = 1;
  t.Cin = 2;
  t.Cout = 2;
  t.G = 1;
  t.in = {3};
  t.k = {2};
  t.s = {1};
  t.d = {3};
  t.pb = {0};
  t.pa = {0};
  t.op = {2};
  t.with_bias = true;
  std::mt19937_64 rng(3);
  Coverage cov;
  for (auto dtype : {DType::f32, DType::f64})
    for (bool plan : {false, true}) {
      t.dtype = dtype;
      Variant v;
      v.use_plan = plan;
      if (dtype == DType::f32)
        run_tcase<float>(t, v, rng);
      else
        run_tcase<double>(t, v, rng);
    }
}

// ---- the notebook example ---------------------------------------------------------------------

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = a + (b - a) * i / (n - 1);
  return v;
}

TEST(Reference, NotebookExample) {
  const std::vector<double> x = linspace(-0.1, 0.5, 96), w = linspace(-0.2, 0.3, 144),
                            b = linspace(-0.1, 0.2, 3);
  const double expected[24] = {
      -0.08759809, -0.10987781, -0.18387192, -0.2109216,  0.21027089,  0.21661097,
      0.22847626,  0.23004637,  0.50813986,  0.54309974,  0.64082444,  0.67101435,
      -0.98053589, -1.03143541, -1.19128892, -1.24695841, 0.69108355,  0.66880383,
      0.59480972,  0.56776003,  2.36270298,  2.36904306,  2.38090835,  2.38247847};
  ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 2;
  d.in_channels = 3;
  d.out_channels = 3;
  d.input_size = {4, 4};
  d.kernel_size = {4, 4};
  d.stride = {2};
  d.padding = Padding::symmetric({1});
  d.dtype = DType::f64;
  const ConvProblem p(d);
  ASSERT_EQ(p.output_shape(), (std::vector<i64>{2, 3, 2, 2}));
  auto xv = TensorView::contiguous(x.data(), p.input_shape());
  auto wv = TensorView::contiguous(w.data(), p.weight_shape());
  auto bv = TensorView::contiguous(b.data(), {3});
  for (int api = 0; api < 3; ++api) {
    std::vector<double> y(24, 0.0);
    auto yv = TensorView::contiguous(y.data(), p.output_shape());
    if (api == 0) convkit::conv_forward(d, xv, wv, &bv, yv);
    if (api == 1) ConvPlan(p, Direction::forward).forward(xv, wv, &bv, yv);
    if (api == 2) ConvPlan(p, Direction::forward, {"reference"}).forward(xv, wv, &bv, yv);
    for (int i = 0; i < 24; ++i) EXPECT_NEAR(y[i], expected[i], 1e-8) << "api " << api << " i " << i;
  }
  // float32: the same within float rounding.
  d.dtype = DType::f32;
  const std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(b.begin(), b.end());
  std::vector<float> yf(24);
  const TensorView bfv = TensorView::contiguous(bf.data(), {3});
  convkit::conv_forward(d, TensorView::contiguous(xf.data(), p.input_shape()),
                        TensorView::contiguous(wf.data(), p.weight_shape()), &bfv,
                        TensorView::contiguous(yf.data(), p.output_shape()));
  for (int i = 0; i < 24; ++i) EXPECT_NEAR(yf[i], expected[i], 2e-6) << i;
  // The oracle agrees too.
  Array xa(Shape{2, 3, 4, 4}), wa(Shape{3, 3, 4, 4}), ba(Shape{3});
  xa.v = x;
  wa.v = w;
  ba.v = b;
  naive::Conv np;
  np.stride = {2, 2};
  np.dilation = {1, 1};
  np.pad_before = {1, 1};
  np.pad_after = {1, 1};
  const Array ya = naive::forward(xa, wa, &ba, np);
  for (int i = 0; i < 24; ++i) EXPECT_NEAR(ya.v[i], expected[i], 1e-8) << i;
}

// ---- finite differences ---------------------------------------------------------------------

// L(x, w, b) = Σ y·g with y = conv(x, w) + b. The library's backward results must match
// central differences of the library's own forward (float64).
TEST(Reference, FiniteDifferenceGradients) {
  std::mt19937_64 rng(1234);
  struct FD {
    int nd;
    Shape in, k, s, d;
    std::vector<std::pair<i64, i64>> pads;
    PaddingMode mode;
    i64 C, K, G;
    Layout layout;
  };
  const FD cases[] = {
      {2, {5, 4}, {3, 2}, {2, 1}, {1, 2}, {{1, 2}, {0, 1}}, PaddingMode::zeros, 4, 2, 2,
       Layout::channels_first},
      {2, {4, 5}, {3, 3}, {1, 2}, {1, 1}, {{2, 1}, {3, 3}}, PaddingMode::reflect, 2, 3, 1,
       Layout::channels_last},
      {1, {6}, {3}, {2}, {2}, {{5, 4}}, PaddingMode::circular, 3, 3, 3, Layout::channels_first},
      {3, {3, 2, 3}, {2, 2, 2}, {1, 2, 1}, {1, 1, 2}, {{1, 0}, {2, 1}, {1, 1}},
       PaddingMode::replicate, 2, 2, 1, Layout::channels_last},
  };
  for (const FD& fc : cases) {
    ConvDesc d;
    d.spatial_dims = fc.nd;
    d.batch = 2;
    d.in_channels = fc.C;
    d.out_channels = fc.K;
    d.groups = fc.G;
    d.input_size = fc.in;
    d.kernel_size = fc.k;
    d.stride = fc.s;
    d.dilation = fc.d;
    d.padding = Padding::explicit_pairs(fc.pads);
    d.padding_mode = fc.mode;
    d.layout = fc.layout;
    d.dtype = DType::f64;
    const ConvProblem p(d);
    SCOPED_TRACE(p.to_string());
    auto count = [](const std::vector<i64>& s) { return naive::element_count(s); };
    std::vector<double> x(count(p.input_shape())), w(count(p.weight_shape())), b(fc.K),
        g(count(p.output_shape()));
    for (auto* v : {&x, &w, &b, &g})
      for (auto& e : *v) e = std::uniform_real_distribution<double>(-1, 1)(rng);
    auto loss = [&]() {
      std::vector<double> y(g.size());
      auto bv = TensorView::contiguous(b.data(), {fc.K});
      convkit::conv_forward(d, TensorView::contiguous(x.data(), p.input_shape()),
                            TensorView::contiguous(w.data(), p.weight_shape()), &bv,
                            TensorView::contiguous(y.data(), p.output_shape()));
      double l = 0;
      for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * g[i];
      return l;
    };
    std::vector<double> dx(x.size()), dw(w.size()), db(b.size());
    auto gv = TensorView::contiguous(g.data(), p.output_shape());
    convkit::conv_backward_data(d, gv, TensorView::contiguous(w.data(), p.weight_shape()),
                                TensorView::contiguous(dx.data(), p.input_shape()));
    convkit::conv_backward_weights(d, gv, TensorView::contiguous(x.data(), p.input_shape()),
                                   TensorView::contiguous(dw.data(), p.weight_shape()));
    convkit::conv_backward_bias(d, gv, TensorView::contiguous(db.data(), {fc.K}));
    const double h = 1e-5;
    auto check = [&](std::vector<double>& param, const std::vector<double>& grad, const char* n) {
      for (std::size_t i = 0; i < param.size(); ++i) {
        const double keep = param[i];
        param[i] = keep + h;
        const double lp = loss();
        param[i] = keep - h;
        const double lm = loss();
        param[i] = keep;
        const double numeric = (lp - lm) / (2 * h);
        EXPECT_NEAR(grad[i], numeric, 1e-6 * (1 + std::fabs(numeric))) << n << "[" << i << "]";
      }
    };
    check(x, dx, "dx");
    check(w, dw, "dw");
    check(b, db, "db");
  }
}

}  // namespace
