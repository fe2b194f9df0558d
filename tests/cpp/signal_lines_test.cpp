// tests/cpp/signal_lines_test.cpp — the per-ISA line conversion kernels (line_kernels.hpp)
// against the scalar conversions of scalar_dispatch.hpp, on every ISA this CPU has: every
// stored type, lengths around the vector widths, wrap-around of narrow integer results; and
// the NaN/Inf scan (kernels/scan/finite_kernels.hpp) with Inf/NaN at every position of a run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu_features.hpp"
#include "isa_util.hpp"
#include "kernels/filter/line_kernels.hpp"
#include "kernels/scan/finite_kernels.hpp"
#include "signal/scalar_dispatch.hpp"

namespace {

using namespace convkit::signal::detail;
using convkit::detail::Isa;
using i64 = std::int64_t;

const std::vector<i64> kLengths = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1023, 1025, 3000};

// Values of S's full range (extremes included), stored as S.
template <typename S>
std::vector<S> random_values(i64 n, std::mt19937_64& rng) {
  std::vector<S> v(n);
  for (i64 j = 0; j < n; ++j) {
    if constexpr (std::is_floating_point_v<S>)
      v[j] = static_cast<S>(std::uniform_real_distribution<double>(-1e6, 1e6)(rng));
    else
      v[j] = static_cast<S>(rng());
  }
  if (n > 0) v[0] = std::numeric_limits<S>::lowest();
  if (n > 1) v[n - 1] = std::numeric_limits<S>::max();
  return v;
}

template <typename S, typename A>
void check_widen(WidenLine<A> widen, Scalar s, std::mt19937_64& rng) {
  ASSERT_NE(widen, nullptr) << "scalar type " << static_cast<int>(s);
  for (i64 n : kLengths) {
    const std::vector<S> src = random_values<S>(n, rng);
    std::vector<A> got(n + 1, A(-7));
    widen(src.data(), got.data(), n);
    for (i64 j = 0; j < n; ++j)
      ASSERT_EQ(got[j], convert<A>(src[j])) << "type " << static_cast<int>(s) << " n " << n << " at " << j;
    ASSERT_EQ(got[n], A(-7)) << "wrote past the end, n " << n;
  }
}

// Integer-valued accumulator values within the promised range (|v| < 2^24 for float, 2^53
// for double), both signs: narrowing must wrap exactly like convert<D>.
template <typename D, typename A>
void check_narrow(NarrowLine<A> narrow, Scalar s, std::mt19937_64& rng) {
  ASSERT_NE(narrow, nullptr) << "scalar type " << static_cast<int>(s);
  const double limit = std::is_same_v<A, float> ? 16777215.0 : 9007199254740991.0;
  for (i64 n : kLengths) {
    std::vector<A> src(n);
    for (i64 j = 0; j < n; ++j)
      src[j] = static_cast<A>(std::nearbyint(std::uniform_real_distribution<double>(-limit, limit)(rng)));
    if (n > 2) src[0] = A(-limit), src[1] = A(limit), src[2] = A(-1);
    std::vector<D> got(n + 1, D(123));
    narrow(src.data(), got.data(), n);
    for (i64 j = 0; j < n; ++j)
      ASSERT_EQ(got[j], convert<D>(src[j])) << "type " << static_cast<int>(s) << " value " << src[j];
    ASSERT_EQ(got[n], D(123)) << "wrote past the end, n " << n;
  }
}

template <typename S>
void check_type(const LineKernels& k, Scalar s, std::mt19937_64& rng) {
  const int i = static_cast<int>(s);
  check_widen<S, float>(k.widen_f32[i], s, rng);
  check_widen<S, double>(k.widen_f64[i], s, rng);
  if constexpr (std::is_integral_v<S>) {
    check_narrow<S, float>(k.narrow_f32[i], s, rng);
    check_narrow<S, double>(k.narrow_f64[i], s, rng);
  }
}

TEST(SignalLines, ConversionKernelsMatchScalarConversionOnEveryIsa) {
  std::mt19937_64 rng(5);
  for (Isa isa : ckt::isas_on_this_cpu()) {
    SCOPED_TRACE(static_cast<int>(isa));
    const LineKernels& k = line_kernels(isa);
    check_type<std::int8_t>(k, Scalar::i8, rng);
    check_type<std::uint8_t>(k, Scalar::u8, rng);
    check_type<std::int16_t>(k, Scalar::i16, rng);
    check_type<std::uint16_t>(k, Scalar::u16, rng);
    check_type<std::int32_t>(k, Scalar::i32, rng);
    check_type<std::uint32_t>(k, Scalar::u32, rng);
    check_type<float>(k, Scalar::f32, rng);
    check_type<double>(k, Scalar::f64, rng);
    // Types that must keep the scalar path (bool's "nonzero", 64-bit wrap-around).
    for (Scalar s : {Scalar::b8, Scalar::i64, Scalar::u64}) {
      EXPECT_EQ(k.widen_f32[static_cast<int>(s)], nullptr);
      EXPECT_EQ(k.narrow_f32[static_cast<int>(s)], nullptr);
    }
  }
}

template <typename T>
void check_finite_scan(bool (*scan)(const T*, i64)) {
  const T bad[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                   -std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::quiet_NaN()};
  for (i64 n : kLengths) {
    std::vector<T> v(n);
    for (i64 j = 0; j < n; ++j) v[j] = static_cast<T>(j % 2 ? -1e30 : 3.5);
    if (n > 0) v[0] = std::numeric_limits<T>::max();
    if (n > 1) v[1] = std::numeric_limits<T>::denorm_min();
    ASSERT_TRUE(scan(v.data(), n)) << "finite line of " << n;
    for (i64 j = 0; j < n; ++j) {
      const T keep = v[j];
      v[j] = bad[j % 4];
      ASSERT_FALSE(scan(v.data(), n)) << "non-finite at " << j << " of " << n;
      v[j] = keep;
    }
  }
}

TEST(FiniteScan, FindsEveryInfAndNanOnEveryIsa) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    SCOPED_TRACE(static_cast<int>(isa));
    check_finite_scan<float>(convkit::detail::finite_kernels(isa).f32);
    check_finite_scan<double>(convkit::detail::finite_kernels(isa).f64);
  }
}

}  // namespace
