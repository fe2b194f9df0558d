// tests/cpp/signal_kernels_test.cpp — the 2-D filtering micro-kernels (filter_kernels.hpp),
// every ISA this CPU has and every accumulator type, against the defining formula
//   acc[r·ld + x] (+)= Σ_{j<kh, t<kw} in_rows[r + j][x + t] · g[j·kw + t]
// on random non-integer data (and the fused separable kernel against the two passes it
// replaces, bitwise): one kernel row (the lane-shift path) and several, the fixed
// small kernels (3x3, 1xK, Kx1), kernel widths across the lane counts, widths of every whole number of blocks up to past the widest step,
// row counts past the row blocking, accumulation, streaming stores, and no write past `width`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_features.hpp"
#include "isa_util.hpp"
#include "kernels/filter/filter_kernels.hpp"

namespace {

using namespace convkit::signal::detail;
using convkit::detail::Isa;
using i64 = std::int64_t;

template <typename T>
void check_kernel(const FilterKernel<T>& kern, std::mt19937_64& rng) {
  auto uni = [&](i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng); };
  auto value = [&]() -> T {
    if constexpr (std::is_integral_v<T>)
      return static_cast<T>(rng());  // wraps modulo 2^64, as the kernel's arithmetic does
    else
      return static_cast<T>(std::uniform_real_distribution<double>(-1, 1)(rng));
  };
  // The kernels with fixed, unrolled paths first (each with every flag combination), then
  // random shapes.
  const int fixed[][2] = {{3, 3}, {1, 3}, {3, 1}, {1, 5}, {5, 1}, {1, 7}, {7, 1}};
  for (int c = 0; c < 200; ++c) {
    int kh = c % 3 == 0 ? 1 : static_cast<int>(uni(1, 9));
    int kw = static_cast<int>(c % 5 == 0 ? uni(1, 3 * 16 + 2) : uni(1, 12));
    if (c < 28) kh = fixed[c / 4][0], kw = fixed[c / 4][1];
    const int rows = static_cast<int>(uni(1, 11));
    const i64 width = kern.block * uni(1, 8);
    const bool accumulate = c % 4 == 1 || c % 4 == 3, stream = c % 4 == 2 || c % 4 == 3;
    // Rows of exactly width + kw - 1 elements, each in its own allocation so a read past the
    // contract shows up under AddressSanitizer.
    std::vector<std::vector<T>> in(rows + kh - 1, std::vector<T>(width + kw - 1));
    std::vector<const T*> in_rows;
    for (auto& row : in) {
      for (auto& e : row) e = value();
      in_rows.push_back(row.data());
    }
    std::vector<T> g(static_cast<std::size_t>(kh) * kw);
    for (auto& e : g) e = value();
    const i64 ld = width + uni(0, 2) * kern.block + (stream ? 0 : uni(0, 3));
    // 64-byte aligned output so streaming stores are really used.
    std::vector<T> storage(rows * ld + 64 / sizeof(T) + 8);
    T* out = storage.data();
    while (reinterpret_cast<std::uintptr_t>(out) % 64) ++out;
    std::vector<T> before(rows * ld);
    for (i64 i = 0; i < rows * ld; ++i) out[i] = before[i] = value();
    kern.run(in_rows.data(), g.data(), kh, kw, out, ld, rows, width, accumulate, stream);
    for (int r = 0; r < rows; ++r)
      for (i64 x = 0; x < ld; ++x) {
        const T got = out[r * ld + x];
        if (x >= width) {
          ASSERT_EQ(got, before[r * ld + x]) << kern.name << ": wrote past width at row " << r;
          continue;
        }
        if constexpr (std::is_integral_v<T>) {
          std::uint64_t s = accumulate ? static_cast<std::uint64_t>(before[r * ld + x]) : 0;
          for (int j = 0; j < kh; ++j)
            for (int t = 0; t < kw; ++t)
              s += static_cast<std::uint64_t>(in[r + j][x + t]) * static_cast<std::uint64_t>(g[j * kw + t]);
          ASSERT_EQ(static_cast<std::uint64_t>(got), s)
              << kern.name << " kh " << kh << " kw " << kw << " row " << r << " x " << x;
        } else {
          double s = accumulate ? static_cast<double>(before[r * ld + x]) : 0, mag = std::fabs(s);
          for (int j = 0; j < kh; ++j)
            for (int t = 0; t < kw; ++t) {
              const double p = static_cast<double>(in[r + j][x + t]) * static_cast<double>(g[j * kw + t]);
              s += p;
              mag += std::fabs(p);
            }
          const double tol = 4 * (kh * kw + 1) * std::numeric_limits<T>::epsilon() * mag;
          ASSERT_NEAR(static_cast<double>(got), s, tol)
              << kern.name << " kh " << kh << " kw " << kw << " width " << width << " row " << r
              << " x " << x << (accumulate ? " accumulate" : "") << (stream ? " stream" : "");
        }
      }
  }
}

// The fused separable kernel against the two 1-D passes it replaces (the general kernel with
// one kernel row, then with one kernel column): bitwise equal, as its contract says, and no
// write past `width`.
template <typename T>
void check_separable(const FilterKernel<T>& kern, std::mt19937_64& rng) {
  auto uni = [&](i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng); };
  auto value = [&]() -> T {
    if constexpr (std::is_integral_v<T>)
      return static_cast<T>(rng());
    else
      return static_cast<T>(std::uniform_real_distribution<double>(-1, 1)(rng));
  };
  for (int c = 0; c < 120; ++c) {
    const int kh = static_cast<int>(uni(1, 9)), kw = static_cast<int>(uni(1, c % 4 == 0 ? 40 : 9));
    const int rows = static_cast<int>(uni(1, 11));
    const i64 width = kern.block * uni(1, 8);
    const bool stream = c % 2 == 1;
    std::vector<std::vector<T>> in(rows + kh - 1, std::vector<T>(width + kw - 1));
    std::vector<const T*> in_rows;
    for (auto& row : in) {
      for (auto& e : row) e = value();
      in_rows.push_back(row.data());
    }
    std::vector<T> u(kh), v(kw);
    for (auto& e : u) e = value();
    for (auto& e : v) e = value();
    // Two passes: h = rows ⋆ v, then out = h ⋆ u (down the rows).
    std::vector<T> h((rows + kh - 1) * width), want(rows * width);
    kern.run(in_rows.data(), v.data(), 1, kw, h.data(), width, rows + kh - 1, width, false, false);
    std::vector<const T*> h_rows;
    for (int j = 0; j < rows + kh - 1; ++j) h_rows.push_back(h.data() + j * width);
    kern.run(h_rows.data(), u.data(), kh, 1, want.data(), width, rows, width, false, false);
    const i64 ld = width + uni(0, 2) * kern.block;
    std::vector<T> storage(rows * ld + 64 / sizeof(T) + 8);
    T* out = storage.data();
    while (reinterpret_cast<std::uintptr_t>(out) % 64) ++out;
    std::vector<T> before(rows * ld);
    for (i64 i = 0; i < rows * ld; ++i) out[i] = before[i] = value();
    kern.run_separable(in_rows.data(), u.data(), kh, v.data(), kw, out, ld, rows, width, stream);
    for (int r = 0; r < rows; ++r)
      for (i64 x = 0; x < ld; ++x) {
        const T expect = x < width ? want[r * width + x] : before[r * ld + x];
        ASSERT_EQ(std::memcmp(&out[r * ld + x], &expect, sizeof(T)), 0)
            << kern.name << " separable kh " << kh << " kw " << kw << " rows " << rows
            << " width " << width << " row " << r << " x " << x << (stream ? " stream" : "")
            << ": " << out[r * ld + x] << " vs " << expect;
      }
  }
}

TEST(SignalKernels, SeparableIsBitwiseTheTwoPasses) {
  std::mt19937_64 rng(23);
  for (Isa isa : ckt::isas_on_this_cpu()) {
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    const FilterKernels& ks = filter_kernels(isa);
    check_separable(ks.f32, rng);
    check_separable(ks.f64, rng);
    check_separable(ks.i64, rng);
  }
}

TEST(SignalKernels, EveryIsaAndShapeMatchesFormula) {
  std::mt19937_64 rng(17);
  for (Isa isa : ckt::isas_on_this_cpu()) {
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    const FilterKernels& ks = filter_kernels(isa);
    check_kernel(ks.f32, rng);
    check_kernel(ks.f64, rng);
    check_kernel(ks.i64, rng);
  }
}

}  // namespace
