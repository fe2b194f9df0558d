// tests/cpp/winograd_test.cpp — the Winograd algorithm through the public API: its documented
// error bound on float data, when "auto" chooses it, the direct-summation-only option,
// bitwise-identical results for any thread count in both of its work layouts, and the direct
// algorithm's exact results when inputs hold NaN/Inf or an intermediate overflows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "convkit/convkit.hpp"
#include "test_util.hpp"

namespace {

using convkit::ConvDesc;
using convkit::ConvPlan;
using convkit::ConvProblem;
using convkit::Direction;
using convkit::PlanOptions;
using convkit::TensorView;
using i64 = std::int64_t;

ConvProblem problem(i64 n, i64 c, i64 k, i64 h, i64 w, i64 pad = 1, i64 dilation = 1) {
  ConvDesc d;
  d.batch = n;
  d.in_channels = c;
  d.out_channels = k;
  d.input_size = {h, w};
  d.kernel_size = {3, 3};
  d.padding = convkit::Padding::symmetric({pad});
  d.dilation = {dilation};
  return ConvProblem(d);
}

struct Data {
  std::vector<float> x, w, b, y;
};

Data random_data(const ConvProblem& p, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Data d;
  d.x.resize(static_cast<std::size_t>(p.batch * p.in_channels * p.in_spatial()));
  d.w.resize(static_cast<std::size_t>(p.out_channels * p.in_channels * 9));
  d.b.resize(static_cast<std::size_t>(p.out_channels));
  d.y.assign(static_cast<std::size_t>(p.batch * p.out_channels * p.out_spatial()), -1.0f);
  for (float& v : d.x) v = u(rng);
  for (float& v : d.w) v = u(rng);
  for (float& v : d.b) v = u(rng);
  return d;
}

void run(const ConvPlan& plan, Data& d, bool bias = true) {
  const ConvProblem& p = plan.problem();
  const TensorView bv = TensorView::contiguous(d.b.data(), {p.out_channels});
  plan.forward(TensorView::contiguous(d.x.data(), p.input_shape()),
               TensorView::contiguous(d.w.data(), p.weight_shape()), bias ? &bv : nullptr,
               TensorView::contiguous(d.y.data(), p.output_shape()));
}

TEST(Winograd, FloatErrorWithinDocumentedBoundAndTypical) {
  const double eps = std::ldexp(1.0, -24);
  std::mt19937_64 rng(5);
  const i64 shapes[][5] = {{1, 1, 1, 1, 1},   {1, 3, 5, 7, 9},    {2, 16, 16, 8, 8},
                           {1, 17, 33, 13, 30}, {1, 64, 20, 28, 28}, {1, 256, 16, 14, 14},
                           {1, 40, 40, 57, 5}};
  for (const auto& s : shapes) {
    const ConvProblem p = problem(s[0], s[1], s[2], s[3], s[4]);
    const ConvPlan plan(p, Direction::forward, PlanOptions{"winograd"});
    Data d = random_data(p, rng);
    run(plan, d, false);
    const i64 C = p.in_channels, H = p.in[1], W = p.in[2], P = p.out[1], Q = p.out[2];
    double worst_typical = 0;
    for (i64 n = 0; n < p.batch; ++n)
      for (i64 k = 0; k < p.out_channels; ++k) {
        double wsum = 0, wmax = 0;
        for (i64 i = 0; i < C * 9; ++i) {
          wsum += std::fabs(d.w[k * C * 9 + i]);
          wmax = std::max(wmax, static_cast<double>(std::fabs(d.w[k * C * 9 + i])));
        }
        for (i64 oh = 0; oh < P; ++oh)
          for (i64 ow = 0; ow < Q; ++ow) {
            double want = 0;
            for (i64 c = 0; c < C; ++c)
              for (i64 r = 0; r < 3; ++r)
                for (i64 t = 0; t < 3; ++t) {
                  const i64 ih = oh + r - 1, iw = ow + t - 1;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  want += static_cast<double>(d.x[((n * C + c) * H + ih) * W + iw]) *
                          d.w[((k * C + c) * 3 + r) * 3 + t];
                }
            const double got = d.y[((n * p.out_channels + k) * P + oh) * Q + ow];
            const double err = std::fabs(got - want);
            // The documented bound (max|x| ≤ 1).
            ASSERT_LE(err, eps * 2304.0 * static_cast<double>(C + 32) * wmax)
                << p.to_string() << " at " << k << "," << oh << "," << ow;
            worst_typical = std::max(worst_typical, err / (eps * wsum));
          }
      }
    // On random data the error is ~25 ε·Σ|w|: a transform with a wrongly rounded or missing
    // term shows up here long before it breaks the worst-case bound.
    EXPECT_LE(worst_typical, 100.0) << p.to_string();
  }
}

TEST(Winograd, AutoChoosesItUnlessDirectSummationOnly) {
  EXPECT_TRUE(convkit::algorithm_is_approximate("winograd"));
  EXPECT_FALSE(convkit::algorithm_is_approximate("direct"));
  EXPECT_FALSE(convkit::algorithm_is_approximate("reference"));
  const ConvProblem big = problem(1, 64, 64, 56, 56);
  EXPECT_EQ(ConvPlan(big, Direction::forward).algorithm_name(), "winograd");
  PlanOptions exact;
  exact.direct_summation_only = true;
  const ConvPlan direct(big, Direction::forward, exact);
  EXPECT_NE(direct.algorithm_name(), "winograd");
  EXPECT_NE(direct.explain().find("direct summation only"), std::string::npos)
      << direct.explain();
  // The one-shot cache keeps the two choices apart.
  EXPECT_EQ(convkit::cached_plan(big, Direction::forward, exact)->algorithm_name(),
            direct.algorithm_name());
  EXPECT_EQ(convkit::cached_plan(big, Direction::forward)->algorithm_name(), "winograd");
  // Forced, it runs whatever the option says.
  exact.algorithm = "winograd";
  EXPECT_EQ(ConvPlan(big, Direction::forward, exact).algorithm_name(), "winograd");
  // Too few channels or tiles to pay for the transforms: direct summation.
  EXPECT_NE(ConvPlan(problem(1, 3, 64, 56, 56), Direction::forward).algorithm_name(), "winograd");
  EXPECT_NE(ConvPlan(problem(1, 64, 64, 4, 4), Direction::forward).algorithm_name(), "winograd");
  // It declines what it cannot do, saying why.
  ConvDesc d;
  d.in_channels = 8;
  d.out_channels = 8;
  d.input_size = {16, 16};
  d.kernel_size = {3, 3};
  d.stride = {2};
  EXPECT_THROW(ConvPlan(ConvProblem(d), Direction::forward, PlanOptions{"winograd"}),
               convkit::UnsupportedError);
  d.stride = {1};
  d.dtype = convkit::DType::f64;
  EXPECT_THROW(ConvPlan(ConvProblem(d), Direction::forward, PlanOptions{"winograd"}),
               convkit::UnsupportedError);
}

TEST(Winograd, BitwiseIdenticalForAnyThreadCount) {
  ckt::ThreadCountGuard guard;
  std::mt19937_64 rng(6);
  // 256 tiles over 256 channels: filters transformed once and shared at 1-3 threads, by each
  // work item at 7 (few blocks per thread); a small problem that splits output channels; a
  // dilated one (4 phases as images).
  for (const ConvProblem& p : {problem(1, 256, 20, 64, 64), problem(2, 24, 40, 9, 11),
                               problem(1, 48, 20, 30, 27, 2, 2)}) {
    const ConvPlan plan(p, Direction::forward, PlanOptions{"winograd"});
    Data d = random_data(p, rng);
    convkit::set_num_threads(1);
    run(plan, d);
    const std::vector<float> ref = d.y;
    for (int t : {2, 3, 7}) {
      convkit::set_num_threads(t);
      std::fill(d.y.begin(), d.y.end(), 0.0f);
      run(plan, d);
      EXPECT_EQ(std::memcmp(d.y.data(), ref.data(), ref.size() * sizeof(float)), 0)
          << p.to_string() << " threads " << t;
    }
  }
}

TEST(Winograd, NonFiniteInputsAndOverflowGiveDirectResults) {
  ckt::ThreadCountGuard guard;
  std::mt19937_64 rng(7);
  const ConvProblem p = problem(1, 20, 18, 13, 14);
  const ConvPlan wino(p, Direction::forward, PlanOptions{"winograd"});
  const ConvPlan direct(p, Direction::forward, PlanOptions{"direct"});
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int t : {1, 2}) {
    convkit::set_num_threads(t);
    for (int trial = 0; trial < 8; ++trial) {
      Data d = random_data(p, rng);
      switch (trial % 4) {
        case 0: d.x[rng() % d.x.size()] = inf; break;
        case 1: d.x[rng() % d.x.size()] = nan; break;
        case 2: d.w[rng() % d.w.size()] = -inf; break;
        case 3:  // finite, but the transforms (×100) overflow where direct summation does not
          for (int i = 0; i < 30; ++i) d.x[rng() % d.x.size()] = 3e37f;
          break;
      }
      Data e = d;
      run(wino, d);
      run(direct, e);
      ASSERT_EQ(d.y.size(), e.y.size());
      for (std::size_t i = 0; i < d.y.size(); ++i) {
        const bool same = std::isnan(d.y[i]) ? std::isnan(e.y[i]) : d.y[i] == e.y[i];
        ASSERT_TRUE(same) << "trial " << trial << " element " << i << ": winograd " << d.y[i]
                          << ", direct " << e.y[i];
      }
    }
  }
}

// Backward-data runs as the forward convolution of dy with the flipped, transposed filters:
// within the bound (summing over K), bitwise identical for any thread count, chosen by auto
// for a large layer unless direct summation only, and exactly phased_bwd_data's result when dy
// holds NaN/Inf.
TEST(Winograd, BackwardData) {
  ckt::ThreadCountGuard guard;
  const double eps = std::ldexp(1.0, -24);
  std::mt19937_64 rng(8);
  for (const ConvProblem& p : {problem(2, 40, 24, 20, 18), problem(1, 17, 33, 13, 30, 0),
                               problem(1, 24, 20, 21, 19, 3, 2), problem(1, 9, 7, 5, 6, 2)}) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> dy(static_cast<std::size_t>(p.batch * p.out_channels * p.out_spatial()));
    std::vector<float> w(static_cast<std::size_t>(p.out_channels * p.in_channels * 9));
    for (float& v : dy) v = u(rng);
    for (float& v : w) v = u(rng);
    const std::size_t nx = static_cast<std::size_t>(p.batch * p.in_channels * p.in_spatial());
    auto run_bd = [&](const char* algo, std::vector<float>& dx) {
      dx.assign(nx, -1.0f);
      ConvPlan(p, Direction::backward_data, PlanOptions{algo})
          .backward_data(TensorView::contiguous(dy.data(), p.output_shape()),
                         TensorView::contiguous(w.data(), p.weight_shape()),
                         TensorView::contiguous(dx.data(), p.input_shape()));
    };
    std::vector<float> got, want;
    convkit::set_num_threads(1);
    run_bd("winograd", got);
    run_bd("reference", want);
    const double tol = eps * 2304.0 * static_cast<double>(p.out_channels + 32);
    for (std::size_t i = 0; i < nx; ++i)
      ASSERT_LE(std::fabs(got[i] - want[i]), tol) << p.to_string() << " element " << i;
    for (int t : {2, 3}) {
      convkit::set_num_threads(t);
      std::vector<float> again;
      run_bd("winograd", again);
      EXPECT_EQ(std::memcmp(again.data(), got.data(), nx * sizeof(float)), 0) << t << " threads";
    }
    // NaN in dy: the direct backward-data result, exactly.
    dy[dy.size() / 3] = std::numeric_limits<float>::quiet_NaN();
    run_bd("winograd", got);
    run_bd("phased_bwd_data", want);
    for (std::size_t i = 0; i < nx; ++i)
      ASSERT_TRUE(std::isnan(want[i]) ? std::isnan(got[i]) : got[i] == want[i]) << i;
  }
  const ConvProblem big = problem(1, 64, 64, 56, 56);
  EXPECT_EQ(ConvPlan(big, Direction::backward_data).algorithm_name(), "winograd");
  PlanOptions exact;
  exact.direct_summation_only = true;
  EXPECT_NE(ConvPlan(big, Direction::backward_data, exact).algorithm_name(), "winograd");
  // Pads beyond 2·dilation (dy would be cropped), other padding modes, other directions: no.
  EXPECT_THROW(ConvPlan(problem(1, 8, 8, 9, 9, 3), Direction::backward_data,
                        PlanOptions{"winograd"}),
               convkit::UnsupportedError);
}

// The weight gradient: dw = Gᵀ[Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)]G, checked against a float64 sum
// within the documented bound and near its typical error, over wide and narrow (packed tile
// rows) images, odd sizes, channel counts off the vector width, 1×1 images, batches, dilation
// (phases), padding modes (the forward's padded lines), several blocks of tiles; bitwise
// identical for any thread count; the fallback's exact result for NaN/Inf or an overflow.
std::vector<float> bwd_weights_exact(const ConvProblem& p, const std::vector<float>& x,
                                     const std::vector<float>& dy) {
  const i64 C = p.in_channels, K = p.out_channels, H = p.in[1], W = p.in[2];
  const i64 P = p.out[1], Q = p.out[2], dh = p.dilation[1], dw = p.dilation[2];
  const i64 ph = p.pad_before[1], pw = p.pad_before[2];
  std::vector<double> acc(static_cast<std::size_t>(K * C * 9), 0.0);
  for (i64 n = 0; n < p.batch; ++n)
    for (i64 k = 0; k < K; ++k)
      for (i64 c = 0; c < C; ++c)
        for (i64 r = 0; r < 3; ++r)
          for (i64 t = 0; t < 3; ++t) {
            double sum = 0;
            for (i64 oh = 0; oh < P; ++oh)
              for (i64 ow = 0; ow < Q; ++ow) {
                i64 ih = oh + r * dh - ph, iw = ow + t * dw - pw;
                if (p.padding_mode == convkit::PaddingMode::reflect) {
                  ih = ih < 0 ? -ih : ih >= H ? 2 * (H - 1) - ih : ih;
                  iw = iw < 0 ? -iw : iw >= W ? 2 * (W - 1) - iw : iw;
                } else if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
                  continue;
                }
                sum += static_cast<double>(dy[((n * K + k) * P + oh) * Q + ow]) *
                       x[((n * C + c) * H + ih) * W + iw];
              }
            acc[((k * C + c) * 3 + r) * 3 + t] += sum;
          }
  return std::vector<float>(acc.begin(), acc.end());
}

TEST(Winograd, BackwardWeights) {
  ckt::ThreadCountGuard guard;
  const double eps = std::ldexp(1.0, -24);
  std::mt19937_64 rng(9);
  std::vector<ConvProblem> problems = {
      problem(1, 64, 64, 56, 56),     problem(2, 17, 33, 13, 30), problem(1, 20, 24, 14, 14),
      problem(3, 5, 7, 7, 7),         problem(1, 3, 2, 1, 1),     problem(1, 24, 20, 21, 19, 3, 2),
      problem(1, 16, 16, 9, 80, 0),   problem(2, 8, 300, 40, 44)};  // (the last: several blocks)
  ConvDesc rd;
  rd.in_channels = 12;
  rd.out_channels = 18;
  rd.input_size = {11, 23};
  rd.kernel_size = {3, 3};
  rd.padding = convkit::Padding::symmetric({1});
  rd.padding_mode = convkit::PaddingMode::reflect;
  problems.push_back(ConvProblem(rd));
  for (const ConvProblem& p : problems) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(static_cast<std::size_t>(p.batch * p.in_channels * p.in_spatial()));
    std::vector<float> dy(static_cast<std::size_t>(p.batch * p.out_channels * p.out_spatial()));
    for (float& v : x) v = u(rng);
    for (float& v : dy) v = u(rng);
    const std::size_t nw = static_cast<std::size_t>(p.out_channels * p.in_channels * 9);
    auto run_bw = [&](const char* algo, std::vector<float>& dw) {
      dw.assign(nw, -1.0f);
      ConvPlan(p, Direction::backward_weights, PlanOptions{algo})
          .backward_weights(TensorView::contiguous(dy.data(), p.output_shape()),
                            TensorView::contiguous(x.data(), p.input_shape()),
                            TensorView::contiguous(dw.data(), p.weight_shape()));
    };
    std::vector<float> got;
    convkit::set_num_threads(1);
    run_bw("winograd", got);
    const std::vector<float> want = bwd_weights_exact(p, x, dy);
    const double tiles = static_cast<double>(p.batch) *
                         static_cast<double>((p.out[1] + 3) / 4 + 2 * p.dilation[1]) *
                         static_cast<double>((p.out[2] + 3) / 4 + 2 * p.dilation[2]);
    const double bound = eps * 2845.0 * (tiles + 32.0);  // max|x|, max|dy| ≤ 1
    double worst_typical = 0;
    for (std::size_t i = 0; i < nw; ++i) {
      const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
      ASSERT_LE(err, bound) << p.to_string() << " element " << i;
      worst_typical = std::max(worst_typical, err / (eps * (tiles + 16.0)));
    }
    // Random data: measured up to ~45 ε per tile (the sums of the transformed products run
    // ~100× larger than the gradient they cancel down to); a wrong coefficient or a dropped
    // tile shows here long before the worst-case bound.
    EXPECT_LE(worst_typical, 100.0) << p.to_string();
    for (int t : {2, 3}) {
      convkit::set_num_threads(t);
      std::vector<float> again;
      run_bw("winograd", again);
      EXPECT_EQ(std::memcmp(again.data(), got.data(), nw * sizeof(float)), 0)
          << p.to_string() << " " << t << " threads";
    }
    // NaN/Inf in x or dy, or an overflow in the transforms: the fallback's result, exactly.
    const std::string fallback = [&] {
      for (const char* a : {"outer_bwd_weights", "gemm_bwd_weights", "direct_bwd_weights"})
        try {
          ConvPlan(p, Direction::backward_weights, PlanOptions{a});
          return std::string(a);
        } catch (const convkit::UnsupportedError&) {
        }
      return std::string("reference");
    }();
    for (int trial = 0; trial < 3; ++trial) {
      const std::vector<float> x0 = x, dy0 = dy;
      if (trial == 0) x[x.size() / 2] = std::numeric_limits<float>::infinity();
      if (trial == 1) dy[dy.size() / 3] = std::numeric_limits<float>::quiet_NaN();
      if (trial == 2)
        for (std::size_t i = 0; i < x.size(); i += 7) x[i] = 3e37f;
      std::vector<float> w1, w2;
      run_bw("winograd", w1);
      run_bw(fallback.c_str(), w2);
      for (std::size_t i = 0; i < nw; ++i)
        ASSERT_TRUE(std::isnan(w2[i]) ? std::isnan(w1[i]) : w1[i] == w2[i])
            << p.to_string() << " trial " << trial << " element " << i;
      x = x0;
      dy = dy0;
    }
  }
  const ConvProblem big = problem(1, 64, 64, 56, 56);
  EXPECT_EQ(ConvPlan(big, Direction::backward_weights).algorithm_name(), "winograd");
  PlanOptions exact;
  exact.direct_summation_only = true;
  EXPECT_NE(ConvPlan(big, Direction::backward_weights, exact).algorithm_name(), "winograd");
  // Too few tiles to pay for the transforms: direct summation.
  EXPECT_NE(ConvPlan(problem(1, 512, 512, 7, 7), Direction::backward_weights).algorithm_name(),
            "winograd");
  ConvDesc d;
  d.in_channels = 8;
  d.out_channels = 8;
  d.input_size = {16, 16};
  d.kernel_size = {3, 3};
  d.stride = {2};
  EXPECT_THROW(ConvPlan(ConvProblem(d), Direction::backward_weights, PlanOptions{"winograd"}),
               convkit::UnsupportedError);
}

// PackedWeights: forward with weights packed once gives bitwise the results of passing them,
// for Winograd (transformed filters kept) and for a direct plan (a copy kept); it is a
// snapshot; it works from a strided weight view; non-finite weights still give the direct
// results; a plan for another problem or algorithm, or an empty object, is refused.
TEST(Winograd, PackedWeightsMatchUnpackedBitwise) {
  ckt::ThreadCountGuard guard;
  std::mt19937_64 rng(9);
  const ConvProblem p = problem(1, 24, 40, 30, 26);
  for (const char* algo : {"winograd", "direct"}) {
    const ConvPlan plan(p, Direction::forward, PlanOptions{algo});
    Data d = random_data(p, rng);
    // The weights through a strided view: every other element of a buffer twice as long.
    std::vector<float> spaced(2 * d.w.size());
    for (std::size_t i = 0; i < d.w.size(); ++i) spaced[2 * i] = d.w[i];
    std::vector<std::int64_t> strides(4);
    const auto ws = p.weight_shape();
    strides[3] = 2;
    for (int i = 2; i >= 0; --i) strides[i] = strides[i + 1] * ws[i + 1];
    const TensorView wview(spaced.data(), convkit::DType::f32, ws, strides);
    const convkit::PackedWeights packed = plan.pack_weights(wview);
    EXPECT_FALSE(packed.empty());
    EXPECT_GE(packed.bytes(), d.w.size() * sizeof(float));
    const TensorView bv = TensorView::contiguous(d.b.data(), {p.out_channels});
    for (int t : {1, 2}) {
      convkit::set_num_threads(t);
      run(plan, d);
      const std::vector<float> want = d.y;
      std::fill(spaced.begin(), spaced.end(), 7.0f);  // a snapshot: later changes do not count
      std::fill(d.y.begin(), d.y.end(), -1.0f);
      plan.forward(TensorView::contiguous(d.x.data(), p.input_shape()), packed, &bv,
                   TensorView::contiguous(d.y.data(), p.output_shape()));
      EXPECT_EQ(std::memcmp(d.y.data(), want.data(), want.size() * sizeof(float)), 0) << algo;
      for (std::size_t i = 0; i < d.w.size(); ++i) spaced[2 * i] = d.w[i];
    }
  }
  // NaN weights, packed: exactly the direct algorithm's results.
  Data d = random_data(p, rng);
  d.w[d.w.size() / 2] = std::numeric_limits<float>::quiet_NaN();
  const ConvPlan wino(p, Direction::forward, PlanOptions{"winograd"});
  const convkit::PackedWeights packed =
      wino.pack_weights(TensorView::contiguous(d.w.data(), p.weight_shape()));
  Data e = d;
  run(ConvPlan(p, Direction::forward, PlanOptions{"direct"}), e);
  const TensorView bv = TensorView::contiguous(d.b.data(), {p.out_channels});
  wino.forward(TensorView::contiguous(d.x.data(), p.input_shape()), packed, &bv,
               TensorView::contiguous(d.y.data(), p.output_shape()));
  for (std::size_t i = 0; i < d.y.size(); ++i)
    ASSERT_TRUE(std::isnan(e.y[i]) ? std::isnan(d.y[i]) : d.y[i] == e.y[i]) << i;
  // Refused: weights packed for another problem or algorithm, an empty object, a backward plan.
  const ConvPlan other(problem(1, 24, 40, 31, 26), Direction::forward, PlanOptions{"winograd"});
  const ConvPlan direct(p, Direction::forward, PlanOptions{"direct"});
  const auto xv = TensorView::contiguous(d.x.data(), p.input_shape());
  const auto yv = TensorView::contiguous(d.y.data(), p.output_shape());
  EXPECT_THROW(direct.forward(xv, packed, nullptr, yv), convkit::InvalidArgument);
  EXPECT_THROW(wino.forward(xv, convkit::PackedWeights(), nullptr, yv), convkit::InvalidArgument);
  std::vector<float> x2(static_cast<std::size_t>(24 * 31 * 26)), y2(40 * 31 * 26);
  EXPECT_THROW(other.forward(TensorView::contiguous(x2.data(), other.problem().input_shape()),
                             packed, nullptr,
                             TensorView::contiguous(y2.data(), other.problem().output_shape())),
               convkit::InvalidArgument);
  EXPECT_THROW(ConvPlan(p, Direction::backward_data)
                   .pack_weights(TensorView::contiguous(d.w.data(), p.weight_shape())),
               convkit::InvalidArgument);
  // An equal plan (another object, e.g. from the cache) accepts them.
  convkit::cached_plan(p, Direction::forward, PlanOptions{"winograd"})
      ->forward(xv, packed, &bv, yv);
}

}  // namespace
