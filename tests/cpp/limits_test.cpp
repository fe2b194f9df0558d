// tests/cpp/limits_test.cpp — the workspace cap: auto skips algorithms that need more extra
// memory than allowed (and says so in explain), a forced algorithm throws OutOfMemory naming
// both sizes, and the cap also governs the signal API's direct/FFT choice.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <string>
#include <vector>

#include "convkit/convkit.hpp"

namespace {

struct LimitGuard {
  explicit LimitGuard(std::int64_t v) : saved(convkit::get_workspace_limit()) {
    convkit::set_workspace_limit(v);
  }
  ~LimitGuard() { convkit::set_workspace_limit(saved); }
  std::int64_t saved;
};

convkit::ConvProblem layer() {
  convkit::ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 1;
  d.in_channels = 16;
  d.out_channels = 16;
  d.input_size = {32, 32};
  d.kernel_size = {3, 3};
  d.padding = convkit::Padding::symmetric({1});
  return convkit::ConvProblem(d);
}

TEST(WorkspaceLimit, AutoSkipsAlgorithmsThatNeedMore) {
  const auto p = layer();
  convkit::ConvPlan unlimited(p, convkit::Direction::forward);
  ASSERT_NE(unlimited.algorithm_name(), "reference");
  ASSERT_GT(unlimited.workspace_bytes_per_thread(), 0u);
  LimitGuard g(0);
  convkit::ConvPlan capped(p, convkit::Direction::forward);
  EXPECT_EQ(capped.workspace_bytes_per_thread(), 0u);
  EXPECT_NE(capped.explain().find("the limit is 0 bytes"), std::string::npos) << capped.explain();
  // Results stay right: the capped plan is the reference.
  std::vector<float> x(16 * 32 * 32, 1.0f), w(16 * 16 * 9, 0.5f), y1(16 * 32 * 32), y2(16 * 32 * 32);
  unlimited.forward(convkit::TensorView::contiguous(x.data(), p.input_shape()),
                    convkit::TensorView::contiguous(w.data(), p.weight_shape()), nullptr,
                    convkit::TensorView::contiguous(y1.data(), p.output_shape()));
  capped.forward(convkit::TensorView::contiguous(x.data(), p.input_shape()),
                 convkit::TensorView::contiguous(w.data(), p.weight_shape()), nullptr,
                 convkit::TensorView::contiguous(y2.data(), p.output_shape()));
  EXPECT_EQ(y1, y2);
}

TEST(WorkspaceLimit, ForcedAlgorithmOverTheLimitNamesBothSizes) {
  const auto p = layer();
  convkit::PlanOptions o;
  o.algorithm = "direct";
  o.workspace_limit = 1000;
  try {
    convkit::ConvPlan plan(p, convkit::Direction::forward, o);
    FAIL() << "expected OutOfMemory";
  } catch (const convkit::OutOfMemory& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("needs "), std::string::npos) << m;
    EXPECT_NE(m.find("the limit is 1000 bytes"), std::string::npos) << m;
  }
  o.workspace_limit = -7;
  EXPECT_THROW(convkit::ConvPlan(p, convkit::Direction::forward, o), convkit::InvalidArgument);
  EXPECT_THROW(convkit::set_workspace_limit(-2), convkit::InvalidArgument);
}

TEST(WorkspaceLimit, SignalAutoAvoidsAnFftThatDoesNotFit) {
  using namespace convkit::signal;
  std::vector<float> img(300 * 300, 1.0f), k(41 * 41), out(300 * 300);
  float ksum = 0;  // a kernel that is not rank 1 (no separable shortcut for direct)
  for (std::size_t i = 0; i < k.size(); ++i) ksum += k[i] = static_cast<float>(int(i * 7919 % 13) - 6);
  const ArrayView a = ArrayView::contiguous(img.data(), ScalarType::float32, {300, 300});
  const ArrayView h = ArrayView::contiguous(k.data(), ScalarType::float32, {41, 41});
  const ArrayView o = ArrayView::contiguous(out.data(), ScalarType::float32, {300, 300});
  const int saved_threads = convkit::get_num_threads();
  convkit::set_num_threads(2);  // workspace grows with the thread count: fix it
  ASSERT_EQ(choose_conv_method(a, h, Mode::same), Method::fft);
  LimitGuard g(400000);  // enough for the direct tiles, too little for the FFT tiles
  EXPECT_EQ(choose_conv_method(a, h, Mode::same), Method::direct);
  EXPECT_NO_THROW(convolve(a, h, o, Mode::same));
  EXPECT_FLOAT_EQ(out[150 * 300 + 150], ksum);
  EXPECT_THROW(convolve(a, h, o, Mode::same, Method::fft), convkit::OutOfMemory);
  convkit::set_num_threads(saved_threads);
}

}  // namespace

// Flush-denormal mode: off, denormal inputs give denormal results (direct summation); on,
// convkit's threads treat them as zero, and the caller's own MXCSR is left as it was.
TEST(FlushDenormal, FlushesInsideConvkitOnly) {
  const auto p = layer();
  std::vector<float> x(16 * 32 * 32, 1e-39f), w(16 * 16 * 9, 0.5f), y(16 * 32 * 32);
  convkit::PlanOptions o;
  o.algorithm = "direct";
  convkit::ConvPlan plan(p, convkit::Direction::forward, o);
  auto run = [&] {
    plan.forward(convkit::TensorView::contiguous(x.data(), p.input_shape()),
                 convkit::TensorView::contiguous(w.data(), p.weight_shape()), nullptr,
                 convkit::TensorView::contiguous(y.data(), p.output_shape()));
  };
  ASSERT_FALSE(convkit::get_flush_denormal());
  run();
  EXPECT_GT(y[5 * 32 + 5], 0.0f);  // 144 terms of 0.5e-39: a denormal sum
  const unsigned before = _mm_getcsr();
  EXPECT_TRUE(convkit::set_flush_denormal(true));
  run();
  convkit::set_flush_denormal(false);
  EXPECT_EQ(_mm_getcsr(), before);
  for (float v : y) ASSERT_EQ(v, 0.0f);
  run();
  EXPECT_GT(y[5 * 32 + 5], 0.0f);
}
