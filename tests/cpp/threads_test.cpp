// tests/cpp/threads_test.cpp — determinism and concurrency: bitwise-identical results for any
// thread count, many user threads calling the one-shot functions at once (shared plan cache),
// exact NaN/Inf propagation, the plan cache's identity, and explain().
#include <gtest/gtest.h>

#include "core/cpu_features.hpp"
#include "core/threading.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "convkit/convkit.hpp"
#include "naive_conv.hpp"
#include "test_util.hpp"

namespace {

using ckt::Array;
using ckt::i64;
using ckt::Shape;
using convkit::ConvDesc;
using convkit::ConvPlan;
using convkit::ConvProblem;
using convkit::ConvTransposeDesc;
using convkit::Direction;
using convkit::DType;
using convkit::Layout;
using convkit::Padding;
using convkit::PaddingMode;
using convkit::TensorView;

std::vector<float> random_floats(i64 n, std::mt19937_64& rng) {
  std::vector<float> v(static_cast<std::size_t>(n));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto& e : v) e = dist(rng);
  return v;
}

i64 count(const std::vector<i64>& shape) { return naive::element_count(shape); }

// A unit of work with fixed float32 inputs; run() computes fresh outputs with one-shot
// functions (and a cached plan for backward-data with bias), returning every output buffer.
struct Job {
  std::string name;
  std::function<std::vector<std::vector<float>>()> run;
};

Job conv_job(const std::string& name, const ConvDesc& d, std::uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  const ConvProblem p(d);
  struct In {
    std::vector<float> x, w, b, dy, bx;
  };
  auto in = std::make_shared<In>();
  in->x = random_floats(count(p.input_shape()), *rng);
  in->w = random_floats(count(p.weight_shape()), *rng);
  in->b = random_floats(p.out_channels, *rng);
  in->dy = random_floats(count(p.output_shape()), *rng);
  in->bx = random_floats(p.in_channels, *rng);
  return {name, [d, p, in]() {
            std::vector<float> y(count(p.output_shape())), dx(count(p.input_shape())),
                dxb(dx.size()), dw(count(p.weight_shape())), db(p.out_channels);
            const auto xv = TensorView::contiguous(in->x.data(), p.input_shape());
            const auto wv = TensorView::contiguous(in->w.data(), p.weight_shape());
            const auto bv = TensorView::contiguous(in->b.data(), {p.out_channels});
            const auto bxv = TensorView::contiguous(in->bx.data(), {p.in_channels});
            const auto dyv = TensorView::contiguous(in->dy.data(), p.output_shape());
            convkit::conv_forward(d, xv, wv, &bv, TensorView::contiguous(y.data(), p.output_shape()));
            convkit::conv_backward_data(d, dyv, wv,
                                        TensorView::contiguous(dx.data(), p.input_shape()));
            convkit::cached_plan(p, Direction::backward_data)
                ->backward_data(dyv, wv, TensorView::contiguous(dxb.data(), p.input_shape()), &bxv);
            convkit::conv_backward_weights(d, dyv, xv,
                                           TensorView::contiguous(dw.data(), p.weight_shape()));
            convkit::conv_backward_bias(d, dyv, TensorView::contiguous(db.data(), {p.out_channels}));
            return std::vector<std::vector<float>>{y, dx, dxb, dw, db};
          }};
}

Job transpose_job(const std::string& name, const ConvTransposeDesc& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const ConvProblem f = convkit::transposed_to_forward(t);
  struct In {
    std::vector<float> x, w, b;
  };
  auto in = std::make_shared<In>();
  in->x = random_floats(count(f.output_shape()), rng);
  in->w = random_floats(count(f.weight_shape()), rng);
  in->b = random_floats(t.out_channels, rng);
  const auto out_shape = convkit::conv_transpose_output_shape(t);
  return {name, [t, f, in, out_shape]() {
            std::vector<float> y(count(out_shape));
            const auto bv = TensorView::contiguous(in->b.data(), {t.out_channels});
            convkit::conv_transpose(t, TensorView::contiguous(in->x.data(), f.output_shape()),
                                    TensorView::contiguous(in->w.data(), f.weight_shape()), &bv,
                                    TensorView::contiguous(y.data(), out_shape));
            return std::vector<std::vector<float>>{y};
          }};
}

ConvDesc desc_2d(i64 h, i64 w) {
  ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 3;
  d.in_channels = 8;
  d.out_channels = 12;
  d.groups = 2;
  d.input_size = {h, w};
  d.kernel_size = {3, 3};
  d.stride = {2, 1};
  d.dilation = {1, 2};
  d.padding = Padding::explicit_pairs({{1, 2}, {2, 1}});
  d.padding_mode = PaddingMode::reflect;
  d.dtype = DType::f32;
  return d;
}

std::vector<Job> standard_jobs() {
  std::vector<Job> jobs;
  jobs.push_back(conv_job("2-D NCHW reflect", desc_2d(15, 13), 1));
  ConvDesc d1;
  d1.spatial_dims = 1;
  d1.batch = 5;
  d1.in_channels = 6;
  d1.out_channels = 6;
  d1.groups = 6;  // depthwise
  d1.input_size = {57};
  d1.kernel_size = {5};
  d1.stride = {3};
  d1.padding = Padding::same();
  d1.padding_mode = PaddingMode::circular;
  d1.layout = Layout::channels_last;
  jobs.push_back(conv_job("1-D NWC depthwise circular same", d1, 2));
  ConvDesc d3;
  d3.spatial_dims = 3;
  d3.batch = 2;
  d3.in_channels = 3;
  d3.out_channels = 5;
  d3.input_size = {6, 7, 5};
  d3.kernel_size = {3, 2, 3};
  d3.stride = {1, 2, 1};
  d3.padding = Padding::symmetric({1, 0, 2});
  d3.padding_mode = PaddingMode::zeros;
  d3.layout = Layout::channels_last;
  jobs.push_back(conv_job("3-D NDHWC zeros", d3, 3));
  ConvTransposeDesc t;
  t.spatial_dims = 2;
  t.batch = 3;
  t.in_channels = 6;
  t.out_channels = 4;
  t.groups = 2;
  t.input_size = {7, 6};
  t.kernel_size = {3, 4};
  t.stride = {2, 3};
  t.dilation = {1, 2};
  t.padding = Padding::explicit_pairs({{1, 0}, {2, 1}});
  t.output_padding = {1, 2};
  jobs.push_back(transpose_job("transposed 2-D", t, 4));
  return jobs;
}

bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() ||
        std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

// Sets CONVKIT_MAX_ISA for the scope ("" = leave the caller's setting), then restores it.
struct IsaCap {
  std::string saved;
  bool had;
  explicit IsaCap(const char* isa) {
    const char* v = std::getenv("CONVKIT_MAX_ISA");
    had = v != nullptr;
    if (had) saved = v;
    if (*isa) setenv("CONVKIT_MAX_ISA", isa, 1);
  }
  ~IsaCap() {
    if (had)
      setenv("CONVKIT_MAX_ISA", saved.c_str(), 1);
    else
      unsetenv("CONVKIT_MAX_ISA");
  }
};

// Forward only, with a forced algorithm (one that may decline the backward directions).
Job forward_job(const std::string& name, const ConvDesc& d, std::uint64_t seed,
                const std::string& algorithm) {
  std::mt19937_64 rng(seed);
  const ConvProblem p(d);
  auto x = std::make_shared<std::vector<float>>(random_floats(count(p.input_shape()), rng));
  auto w = std::make_shared<std::vector<float>>(random_floats(count(p.weight_shape()), rng));
  auto b = std::make_shared<std::vector<float>>(random_floats(p.out_channels, rng));
  return {name + " forward, algorithm " + algorithm, [d, p, x, w, b, algorithm]() {
            std::vector<float> y(count(p.output_shape()));
            const auto bv = TensorView::contiguous(b->data(), {p.out_channels});
            convkit::conv_forward(d, TensorView::contiguous(x->data(), p.input_shape()),
                                  TensorView::contiguous(w->data(), p.weight_shape()), &bv,
                                  TensorView::contiguous(y.data(), p.output_shape()),
                                  convkit::PlanOptions{algorithm});
            return std::vector<std::vector<float>>{y};
          }};
}

// Larger problems than the standard jobs: several channel blocks and tiles in fast algorithms.
std::vector<ConvDesc> larger_problems() {
  ConvDesc a;
  a.spatial_dims = 2;
  a.batch = 2;
  a.in_channels = 40;
  a.out_channels = 72;
  a.input_size = {21, 19};
  a.kernel_size = {3, 3};
  a.padding = Padding::symmetric({1});
  a.layout = Layout::channels_last;
  ConvDesc b = a;
  b.layout = Layout::channels_first;
  b.stride = {2};
  b.groups = 4;
  b.padding_mode = PaddingMode::replicate;
  ConvDesc c;
  c.spatial_dims = 1;
  c.batch = 3;
  c.in_channels = 24;
  c.out_channels = 40;
  c.input_size = {301};
  c.kernel_size = {7};
  c.dilation = {2};
  c.padding = Padding::same();
  c.padding_mode = PaddingMode::reflect;
  ConvDesc u;  // 1×1: the dot-product tail (forward), sliced outer_bwd_weights (backward)
  u.spatial_dims = 2;
  u.batch = 2;
  u.in_channels = 40;
  u.out_channels = 24;
  u.input_size = {23, 29};
  u.kernel_size = {1, 1};
  return {a, b, c, u};
}

TEST(Threads, BitwiseIdenticalForAnyThreadCount) {
  ckt::ThreadCountGuard guard;
  int forced_runs = 0;
  for (const char* isa : {"", "avx2", "generic"}) {
    IsaCap cap(isa);
    std::vector<Job> jobs = standard_jobs();
    int i = 0;
    for (const ConvDesc& d : larger_problems()) {
      ++i;
      jobs.push_back(conv_job("larger #" + std::to_string(i), d, 50 + i));
      for (const std::string& name : convkit::algorithm_names()) {
        // Only algorithms that take the forward problem.
        try {
          ConvPlan(ConvProblem(d), Direction::forward, {name});
        } catch (const convkit::UnsupportedError&) {
          continue;
        }
        jobs.push_back(forward_job("larger #" + std::to_string(i), d, 60 + i, name));
        ++forced_runs;
      }
    }
    for (const Job& job : jobs) {
      convkit::set_num_threads(1);
      const auto ref = job.run();
      for (int n : {2, 3, 7, 1}) {
        convkit::set_num_threads(n);
        EXPECT_EQ(convkit::get_num_threads(), n);
        const auto got = job.run();
        EXPECT_TRUE(same_bits(got, ref))
            << job.name << " with " << n << " threads, CONVKIT_MAX_ISA=" << isa;
      }
    }
  }
  EXPECT_GT(forced_runs, 0);
}

TEST(Threads, ConcurrentCallersShareTheCache) {
  ckt::ThreadCountGuard guard;
  constexpr int kThreads = 8, kRounds = 3;
  std::vector<Job> shared = standard_jobs();
  // A second job on an equal problem with its own buffers and the same data seed: it shares
  // the cached plans of the first one and must give the same bits.
  shared.push_back(conv_job("2-D NCHW reflect (equal problem)", desc_2d(15, 13), 1));
  std::vector<Job> unique;
  for (int t = 0; t < kThreads; ++t) {
    ConvDesc d = desc_2d(9 + t, 8 + (t % 3));
    d.padding_mode = static_cast<PaddingMode>(t % 4);
    d.layout = t % 2 ? Layout::channels_last : Layout::channels_first;
    unique.push_back(conv_job("unique #" + std::to_string(t), d, 100 + t));
  }
  // Expected bits from a single-threaded, single-caller run.
  convkit::set_num_threads(1);
  std::vector<std::vector<std::vector<float>>> want_shared, want_unique;
  for (const Job& j : shared) want_shared.push_back(j.run());
  for (const Job& j : unique) want_unique.push_back(j.run());
  ASSERT_TRUE(same_bits(want_shared[0], want_shared.back()));

  for (int pool_threads : {2, 3}) {
    convkit::set_num_threads(pool_threads);
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        std::mt19937_64 order_rng(t);
        std::vector<int> order(shared.size() + 1);
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
        try {
          for (int r = 0; r < kRounds; ++r) {
            std::shuffle(order.begin(), order.end(), order_rng);
            for (int i : order) {
              const bool is_unique = i == static_cast<int>(shared.size());
              const Job& job = is_unique ? unique[t] : shared[i];
              const auto& want = is_unique ? want_unique[t] : want_shared[i];
              if (!same_bits(job.run(), want)) {
                ++mismatches;
                failures[t] += job.name + "; ";
              }
            }
          }
        } catch (const std::exception& e) {
          ++errors;
          failures[t] += std::string("exception: ") + e.what();
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0) << "pool threads " << pool_threads;
    EXPECT_EQ(errors.load(), 0) << "pool threads " << pool_threads;
    for (int t = 0; t < kThreads; ++t)
      EXPECT_TRUE(failures[t].empty()) << "thread " << t << ": " << failures[t];
  }
}

// ---- NaN and Inf ------------------------------------------------------------------------------

template <class T>
void check_nonfinite_propagation(PaddingMode mode, const std::string& algorithm,
                                 std::mt19937_64& rng) {
  ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 2;
  d.in_channels = 4;
  d.out_channels = 4;
  d.groups = 2;
  d.input_size = {7, 6};
  d.kernel_size = {3, 2};
  d.stride = {2, 1};
  d.dilation = {1, 2};
  d.padding = Padding::explicit_pairs({{2, 1}, {1, 3}});
  d.padding_mode = mode;
  d.dtype = convkit::dtype_of<T>::value;
  const ConvProblem p(d);
  SCOPED_TRACE(p.to_string() + " algorithm " + algorithm);
  try {
    ConvPlan(p, Direction::forward, {algorithm});
  } catch (const convkit::UnsupportedError&) {
    return;  // a forced algorithm that declines this problem
  }
  naive::Conv np;
  np.groups = 2;
  np.stride = {2, 1};
  np.dilation = {1, 2};
  np.pad_before = {2, 1};
  np.pad_after = {1, 3};
  np.mode = ckt::to_naive(mode);

  Array x = ckt::random_ints(p.input_shape(), rng);
  Array w = ckt::random_ints(p.weight_shape(), rng, -2, 2);  // includes zeros: 0·Inf = NaN
  const Array b = ckt::random_ints({4}, rng);
  const double inf = std::numeric_limits<double>::infinity();
  x.at({0, 0, 1, 1}) = std::nan("");
  x.at({0, 2, 6, 5}) = inf;      // a corner: read through the padding too
  x.at({1, 1, 3, 0}) = -inf;
  x.at({1, 1, 3, 2}) = inf;      // same channel: +Inf and −Inf may meet in one sum
  x.at({1, 3, 0, 4}) = std::nan("");

  auto run = [&](const Array& xa, const Array& wa) {
    std::vector<T> xs(xa.v.begin(), xa.v.end()), ws(wa.v.begin(), wa.v.end()),
        bs(b.v.begin(), b.v.end()), y(count(p.output_shape()));
    const auto bv = TensorView::contiguous(bs.data(), {4});
    convkit::conv_forward(d, TensorView::contiguous(xs.data(), p.input_shape()),
                          TensorView::contiguous(ws.data(), p.weight_shape()), &bv,
                          TensorView::contiguous(y.data(), p.output_shape()), {algorithm});
    Array got(p.output_shape());
    got.v.assign(y.begin(), y.end());
    return got;
  };

  const Array got = run(x, w);
  const Array want = naive::forward(x, w, &b, np);
  EXPECT_TRUE(ckt::same_values(got, want));
  // Which outputs' sums touch a non-finite input: forward of the indicator with all-one weights.
  Array ind(x.shape), ones(w.shape, 1.0);
  for (i64 i = 0; i < x.size(); ++i) ind.v[i] = std::isfinite(x.v[i]) ? 0.0 : 1.0;
  const Array touch = naive::forward(ind, ones, nullptr, np);
  int touched = 0, nans = 0, infs = 0;
  for (i64 i = 0; i < got.size(); ++i) {
    EXPECT_EQ(!std::isfinite(got.v[i]), touch.v[i] > 0) << "output " << i << " = " << got.v[i];
    touched += touch.v[i] > 0;
    nans += std::isnan(got.v[i]);
    infs += std::isinf(got.v[i]);
  }
  EXPECT_GT(touched, 0);
  EXPECT_LT(touched, got.size());
  EXPECT_GT(nans, 0);
  if (mode == PaddingMode::zeros) {
    EXPECT_GT(infs, 0);
  }

  // An Inf weight: padded taps are explicit zeros, so 0·Inf gives NaN there, as a plain sum over
  // the padded input would (documented in src/ref/conv_ref.hpp).
  Array xf = ckt::random_ints(p.input_shape(), rng);
  Array wi = w;
  wi.at({1, 0, 0, 0}) = inf;
  EXPECT_TRUE(ckt::same_values(run(xf, wi), naive::forward(xf, wi, &b, np))) << "Inf weight";
}

TEST(NonFinite, PropagatesExactlyInForward) {
  ckt::ThreadCountGuard guard;
  std::mt19937_64 rng(42);
  std::vector<std::string> algorithms{"auto"};
  for (const auto& n : convkit::algorithm_names()) algorithms.push_back(n);
  for (const char* isa : {"", "generic"}) {
    IsaCap cap(isa);
    for (const auto& algorithm : algorithms)
      for (int threads : {1, 2})
        for (auto mode : {PaddingMode::zeros, PaddingMode::reflect, PaddingMode::replicate,
                          PaddingMode::circular}) {
          convkit::set_num_threads(threads);
          check_nonfinite_propagation<float>(mode, algorithm, rng);
          check_nonfinite_propagation<double>(mode, algorithm, rng);
        }
  }
}

// Backward-data with NaN/Inf in dy and an Inf weight: the same values as the plain gradient sum
// (which never multiplies padding), NaN and ±Inf in the same places. phased_bwd_data's phases
// multiply weights by dy's padding zeros, so an Inf weight must send it to the reference
// (0·Inf = NaN where the plain sum has none). Problems: grouped, strided, dilated, padded; and
// a depthwise stride-2 layer (its phases run channel by channel).
template <class T>
void check_nonfinite_backward_data(bool depthwise, const std::string& algorithm,
                                   std::mt19937_64& rng) {
  ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 2;
  d.in_channels = 4;
  d.out_channels = 4;
  d.groups = depthwise ? 4 : 2;
  d.input_size = depthwise ? std::vector<i64>{21, 30} : std::vector<i64>{7, 6};
  d.kernel_size = depthwise ? std::vector<i64>{3, 3} : std::vector<i64>{3, 2};
  d.stride = depthwise ? std::vector<i64>{2, 2} : std::vector<i64>{2, 1};
  d.dilation = depthwise ? std::vector<i64>{1, 1} : std::vector<i64>{1, 2};
  d.padding = depthwise ? Padding::explicit_pairs({{1, 1}, {1, 1}})
                        : Padding::explicit_pairs({{2, 1}, {1, 3}});
  d.dtype = convkit::dtype_of<T>::value;
  const ConvProblem p(d);
  SCOPED_TRACE(p.to_string() + " algorithm " + algorithm);
  try {
    ConvPlan(p, Direction::backward_data, {algorithm});
  } catch (const convkit::UnsupportedError&) {
    return;  // a forced algorithm that declines this problem
  }
  naive::Conv np;
  np.groups = d.groups;
  np.stride = d.stride;
  np.dilation = d.dilation;
  np.pad_before = depthwise ? std::vector<i64>{1, 1} : std::vector<i64>{2, 1};
  np.pad_after = depthwise ? std::vector<i64>{1, 1} : std::vector<i64>{1, 3};

  auto run = [&](const Array& dya, const Array& wa) {
    std::vector<T> dys(dya.v.begin(), dya.v.end()), ws(wa.v.begin(), wa.v.end()),
        dx(count(p.input_shape()));
    convkit::conv_backward_data(d, TensorView::contiguous(dys.data(), p.output_shape()),
                                TensorView::contiguous(ws.data(), p.weight_shape()),
                                TensorView::contiguous(dx.data(), p.input_shape()), {algorithm});
    Array got(p.input_shape());
    got.v.assign(dx.begin(), dx.end());
    return got;
  };
  const Array w = ckt::random_ints(p.weight_shape(), rng, -2, 2);  // includes zeros
  Array dy = ckt::random_ints(p.output_shape(), rng);
  const Array dyf = dy;
  const double inf = std::numeric_limits<double>::infinity();
  dy.at({0, 0, 1, 1}) = std::nan("");
  dy.at({0, 2, 0, 0}) = inf;  // a corner: its taps reach the padding
  dy.at({1, 1, 3, 0}) = -inf;
  dy.at({1, 1, 3, 2}) = inf;  // same channel: +Inf and −Inf may meet in one sum
  const Shape xshape = p.input_shape(), in(xshape.begin() + 2, xshape.end());
  const Array got = run(dy, w);
  EXPECT_TRUE(ckt::same_values(got, naive::backward_data(dy, w, in, np))) << "NaN/Inf in dy";
  int nonfinite = 0;
  for (double v : got.v) nonfinite += !std::isfinite(v);
  EXPECT_GT(nonfinite, 0);
  EXPECT_LT(nonfinite, got.size());
  // An Inf weight (a corner tap, which meets dy's padding in the phased lowering) with finite dy.
  Array wi = w;
  wi.at({1, 0, 0, 0}) = inf;
  const Array want = naive::backward_data(dyf, wi, in, np);
  EXPECT_TRUE(ckt::same_values(run(dyf, wi), want)) << "Inf weight";
  int infs = 0;
  for (double v : want.v) infs += std::isinf(v);
  EXPECT_GT(infs, 0);
}

TEST(NonFinite, PropagatesExactlyInBackwardData) {
  ckt::ThreadCountGuard guard;
  std::mt19937_64 rng(43);
  std::vector<std::string> algorithms{"auto"};
  for (const auto& n : convkit::algorithm_names()) algorithms.push_back(n);
  for (const char* isa : {"", "generic"}) {
    IsaCap cap(isa);
    for (const auto& algorithm : algorithms)
      for (int threads : {1, 2})
        for (bool depthwise : {false, true}) {
          convkit::set_num_threads(threads);
          check_nonfinite_backward_data<float>(depthwise, algorithm, rng);
          check_nonfinite_backward_data<double>(depthwise, algorithm, rng);
        }
  }
}

// ---- plan cache and explain() -----------------------------------------------------------------

TEST(PlanCache, SamePlanForEqualProblems) {
  // Equal problems described differently: broadcast / default values vs per-dimension ones.
  ConvDesc a = desc_2d(11, 10);
  a.stride = {2};
  a.dilation = {};
  a.padding = Padding::symmetric({1});
  ConvDesc b = a;
  b.stride = {2, 2};
  b.dilation = {1, 1};
  b.padding = Padding::explicit_pairs({{1, 1}, {1, 1}});
  const ConvProblem pa(a), pb(b);
  ASSERT_EQ(pa.key(), pb.key());
  const auto p1 = convkit::cached_plan(pa, Direction::forward);
  const auto p2 = convkit::cached_plan(pb, Direction::forward);
  const auto p3 = convkit::cached_plan(pa, Direction::forward);
  EXPECT_EQ(p1.get(), p2.get());
  EXPECT_EQ(p1.get(), p3.get());
  EXPECT_EQ(p1->direction(), Direction::forward);
  EXPECT_EQ(p1->problem().key(), pa.key());

  const auto bd = convkit::cached_plan(pa, Direction::backward_data);
  EXPECT_NE(bd.get(), p1.get());
  EXPECT_EQ(bd->direction(), Direction::backward_data);
  EXPECT_EQ(convkit::cached_plan(pa, Direction::backward_data).get(), bd.get());

  ConvDesc c = a;
  c.padding_mode = PaddingMode::circular;
  const auto pc = convkit::cached_plan(ConvProblem(c), Direction::forward);
  EXPECT_NE(pc.get(), p1.get());
  ConvDesc e = a;
  e.dtype = DType::f64;
  EXPECT_NE(convkit::cached_plan(ConvProblem(e), Direction::forward).get(), p1.get());

  // A plan stays usable after the cache has dropped it (shared ownership).
  for (int i = 0; i < 80; ++i) convkit::cached_plan(ConvProblem(desc_2d(20 + i, 5)), Direction::forward);
  std::mt19937_64 rng(8);
  const auto x = random_floats(count(pa.input_shape()), rng);
  const auto w = random_floats(count(pa.weight_shape()), rng);
  std::vector<float> y1(count(pa.output_shape())), y2(y1.size());
  p1->forward(TensorView::contiguous(x.data(), pa.input_shape()),
              TensorView::contiguous(w.data(), pa.weight_shape()), nullptr,
              TensorView::contiguous(y1.data(), pa.output_shape()));
  ConvPlan(pa, Direction::forward)
      .forward(TensorView::contiguous(x.data(), pa.input_shape()),
               TensorView::contiguous(w.data(), pa.weight_shape()), nullptr,
               TensorView::contiguous(y2.data(), pa.output_shape()));
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0);
}

TEST(PlanExplain, NamesTheAlgorithm) {
  const ConvProblem p(desc_2d(9, 9));
  for (auto dir : {Direction::forward, Direction::backward_data, Direction::backward_weights,
                   Direction::backward_bias}) {
    // "auto" may choose any algorithm of the list; explain() names the one it chose.
    const ConvPlan plan(p, dir);
    const std::string e = plan.explain();
    const auto names = convkit::algorithm_names();
    EXPECT_NE(std::find(names.begin(), names.end(), plan.algorithm_name()), names.end());
    EXPECT_NE(e.find("'" + plan.algorithm_name() + "'"), std::string::npos) << e;
    EXPECT_NE(e.find(convkit::direction_name(dir)), std::string::npos) << e;
    EXPECT_NE(e.find(p.to_string()), std::string::npos) << e;
    const ConvPlan forced(p, dir, {"reference"});
    EXPECT_EQ(forced.algorithm_name(), "reference");
    EXPECT_NE(forced.explain().find("'reference'"), std::string::npos) << forced.explain();
    EXPECT_NE(forced.explain().find("requested"), std::string::npos) << forced.explain();
  }
  const auto names = convkit::algorithm_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "reference"), names.end());
}

}  // namespace

// The SIMD paths this CPU has really run, and each CONVKIT_MAX_ISA cap selects its own path
// (ruy's lesson: a silently disabled SIMD path looks like a slow machine, not a failure).
TEST(Dispatch, EveryIsaPathThisCpuHasRuns) {
  using convkit::detail::Isa;
  convkit::ConvDesc d;
  d.batch = 1;
  d.in_channels = 16;
  d.out_channels = 16;
  d.input_size = {12, 12};
  d.kernel_size = {3, 3};
  d.padding = convkit::Padding::symmetric({1});
  const convkit::ConvProblem p(d);
  std::vector<float> x(16 * 144, 1.f), w(16 * 16 * 9, 1.f), y(16 * 144);
  const Isa cpu = convkit::detail::cpu_isa();
  const std::pair<const char*, Isa> caps[] = {
      {"avx512", Isa::avx512}, {"avx2", Isa::avx2}, {"generic", Isa::generic}};
  for (const auto& [name, isa] : caps) {
    if (static_cast<int>(isa) > static_cast<int>(cpu)) continue;  // the CPU lacks it
    IsaCap cap(name);
    const convkit::ConvPlan plan(p, convkit::Direction::forward);
    EXPECT_NE(plan.explain().find(std::string("__") + name), std::string::npos) << plan.explain();
    const std::uint64_t before = convkit::detail::isa_runs(isa);
    plan.forward(convkit::TensorView::contiguous(x.data(), p.input_shape()),
                 convkit::TensorView::contiguous(w.data(), p.weight_shape()), nullptr,
                 convkit::TensorView::contiguous(y.data(), p.output_shape()));
    EXPECT_EQ(convkit::detail::isa_runs(isa), before + 1) << name;
    EXPECT_EQ(y[13 * 1], 16.f * 9) << name;  // an interior output: 16 channels × 9 taps of ones
  }
#if defined(__x86_64__)
  // This project's machines have AVX-512; on them the test must have exercised it.
  if (__builtin_cpu_supports("avx512f")) EXPECT_EQ(cpu, Isa::avx512);
#endif
}

// parallel_for_dynamic: every item exactly once, for item counts around the thread count and
// the grain, with 1-4 threads and exceptions from a chunk reaching the caller.
TEST(Threads, DynamicLoopCoversEveryItemOnce) {
  const int saved = convkit::get_num_threads();
  for (int threads : {1, 2, 3, 4}) {
    convkit::set_num_threads(threads);
    for (std::int64_t n : {1, 2, 3, 7, 8, 9, 31, 100, 1000}) {
      for (std::int64_t grain : {1, 2, 5, 64}) {
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
        for (auto& h : hits) h = 0;
        convkit::detail::parallel_for_dynamic(n, grain, [&](std::int64_t b, std::int64_t e, int t) {
          EXPECT_LT(t, threads);
          EXPECT_LE(0, b);
          EXPECT_LT(b, e);
          EXPECT_LE(e, n);
          for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
        });
        for (std::int64_t i = 0; i < n; ++i)
          ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1)
              << "item " << i << " of " << n << ", grain " << grain << ", " << threads << " threads";
      }
    }
    EXPECT_THROW(convkit::detail::parallel_for_dynamic(50, 1,
                                                       [](std::int64_t b, std::int64_t e, int) {
                                                         if (b <= 37 && 37 < e)
                                                           throw std::runtime_error("item 37");
                                                       }),
                 std::runtime_error);
  }
  convkit::set_num_threads(saved);
}
