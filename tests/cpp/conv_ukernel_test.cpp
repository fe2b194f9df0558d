// tests/cpp/conv_ukernel_test.cpp — every direct-convolution micro-kernel of every ISA this
// CPU runs (each tile variant, its view variant and its narrow versions) against the scalar
// formula of src/kernels/conv/conv_kernels.hpp, with integer-valued data (exact in any order):
// channels and taps of any count, the tap loop's 1-tap path, an output row stride wider than
// the tile, accumulation, and the bias/ReLU epilogue (NaN kept by ReLU); and each variant's
// dot-product tail (every column count below the vector width, channel counts with and
// without a partial last vector, carried between two channel blocks, NaN propagated).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.hpp"
#include "kernels/conv/conv_kernels.hpp"
#include "kernels/conv/wgrad_kernels.hpp"

namespace {

using convkit::detail::ConvKernel;
using convkit::detail::ConvTileOut;
using convkit::detail::Isa;

template <typename T>
const ConvKernel<T>* table(Isa isa);
template <>
const ConvKernel<float>* table<float>(Isa isa) {
  return convkit::detail::conv_kernels(isa).f32;
}
template <>
const ConvKernel<double>* table<double>(Isa isa) {
  return convkit::detail::conv_kernels(isa).f64;
}

struct Config {
  std::int64_t channels, ntaps, cols;
  bool view, accumulate, bias, relu, nan;
};

// Runs kernel `k` (narrow version `nv` vectors when nv < k.nv) on random data and compares.
template <typename T>
void check(const ConvKernel<T>& k, int nv, const Config& c, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> val(-4, 4);
  const std::int64_t mr = k.mr, lanes = k.nr / k.nv, cols = nv * lanes;
  // Taps: increasing offsets with gaps (like rows of a 2-D kernel).
  std::vector<std::int64_t> taps(static_cast<std::size_t>(c.ntaps));
  std::int64_t off = std::uniform_int_distribution<int>(0, 3)(rng);
  for (auto& t : taps) {
    t = off;
    off += std::uniform_int_distribution<int>(1, 40)(rng);
  }
  const std::int64_t cstride = off + cols + 7;
  std::vector<T> x(static_cast<std::size_t>(c.channels * cstride));
  for (auto& e : x) e = static_cast<T>(val(rng));
  if (c.nan) x[static_cast<std::size_t>(taps[0] + 1)] = std::numeric_limits<T>::quiet_NaN();
  // Weights: contiguous rows [c][t], or a view with channel stride wcs and taps wtaps[t].
  const std::int64_t wcs = c.view ? c.ntaps * 3 + 1 : c.ntaps;
  std::vector<std::int64_t> wtaps(static_cast<std::size_t>(c.ntaps));
  for (std::int64_t t = 0; t < c.ntaps; ++t)
    wtaps[static_cast<std::size_t>(t)] = c.view ? 3 * (c.ntaps - 1 - t) : t;
  const std::int64_t wrow = c.channels * wcs + 1;
  std::vector<T> w(static_cast<std::size_t>(mr * wrow));
  for (auto& e : w) e = static_cast<T>(val(rng));
  const T* wrows[convkit::detail::kConvMaxMr];
  for (std::int64_t i = 0; i < mr; ++i) wrows[i] = w.data() + i * wrow;
  std::vector<T> bias(static_cast<std::size_t>(mr));
  for (auto& e : bias) e = static_cast<T>(val(rng));
  const std::int64_t ldo = k.nr + 5;
  std::vector<T> out(static_cast<std::size_t>(mr * ldo));
  for (auto& e : out) e = static_cast<T>(val(rng));
  std::vector<T> want = out;
  for (std::int64_t i = 0; i < mr; ++i)
    for (std::int64_t q = 0; q < cols; ++q) {
      T s = c.accumulate ? out[static_cast<std::size_t>(i * ldo + q)] : T(0);
      for (std::int64_t ch = 0; ch < c.channels; ++ch)
        for (std::int64_t t = 0; t < c.ntaps; ++t)
          s += wrows[i][ch * wcs + wtaps[static_cast<std::size_t>(t)]] *
               x[static_cast<std::size_t>(ch * cstride + taps[static_cast<std::size_t>(t)] + q)];
      if (c.bias) s += bias[static_cast<std::size_t>(i)];
      if (c.relu) s = s < T(0) ? T(0) : s;
      want[static_cast<std::size_t>(i * ldo + q)] = s;
    }
  ConvTileOut<T> o{out.data(), ldo, c.accumulate};
  if (c.bias) o.bias = bias.data();
  o.relu = c.relu;
  if (c.view) {
    const auto run = nv < k.nv ? k.narrow_view[nv - 1] : k.run_view;
    ASSERT_NE(run, nullptr);
    run(c.channels, c.ntaps, taps.data(), wtaps.data(), x.data(), cstride, wrows, wcs, o);
  } else {
    const auto run = nv < k.nv ? k.narrow[nv - 1] : k.run;
    ASSERT_NE(run, nullptr);
    run(c.channels, c.ntaps, taps.data(), x.data(), cstride, wrows, o);
  }
  for (std::size_t e = 0; e < out.size(); ++e) {
    const bool both_nan = std::isnan(out[e]) && std::isnan(want[e]);
    ASSERT_TRUE(both_nan || out[e] == want[e])
        << k.name << " narrow " << nv << " element " << e << " (row " << e / ldo << " col "
        << e % ldo << "): got " << out[e] << ", want " << want[e];
  }
}

template <typename T>
void check_isa(Isa isa, std::mt19937_64& rng) {
  const ConvKernel<T>* v = table<T>(isa);
  for (int variant = 0; variant < convkit::detail::kConvVariants; ++variant) {
    const ConvKernel<T>& k = v[variant];
    SCOPED_TRACE(k.name);
    EXPECT_EQ(k.nr % k.nv, 0);
    EXPECT_LE(k.mr, convkit::detail::kConvMaxMr);
    for (int nv = 1; nv <= k.nv; ++nv) {
      if (nv < k.nv && (nv > convkit::detail::kConvNarrow || !k.narrow[nv - 1])) continue;
      for (int rep = 0; rep < 12; ++rep) {
        Config c;
        c.channels = std::uniform_int_distribution<int>(1, 19)(rng);
        const int taps_choice[] = {1, 1, 2, 3, 9};
        c.ntaps = taps_choice[std::uniform_int_distribution<int>(0, 4)(rng)];
        c.cols = nv;
        c.view = rep % 2 == 1;
        c.accumulate = rep % 3 == 0;
        c.bias = rep % 4 < 2;
        c.relu = rep % 5 < 2;
        c.nan = rep % 6 == 5;  // reps 5 and 11: with ReLU
        check<T>(k, nv, c, rng);
      }
    }
  }
}

// The dot-product tail of kernel k: ncols columns, channels split into two blocks at `split`
// (the partial vectors carried between them), against the plain sums.
template <typename T>
void check_dot_tail(const ConvKernel<T>& k, std::int64_t ncols, std::int64_t channels,
                    std::int64_t split, bool nan, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> val(-4, 4);
  const std::int64_t mr = k.mr, lanes = k.nr / k.nv;
  const std::int64_t ldxt = channels + 3;
  std::vector<T> xt(static_cast<std::size_t>(ncols * ldxt));
  for (auto& e : xt) e = static_cast<T>(val(rng));
  const std::int64_t wrow = channels + 5;  // rows apart: a read past a row would show
  std::vector<T> w(static_cast<std::size_t>(mr * wrow), std::numeric_limits<T>::infinity());
  const T* wrows[convkit::detail::kConvMaxMr];
  for (std::int64_t i = 0; i < mr; ++i) {
    for (std::int64_t c = 0; c < channels; ++c)
      w[static_cast<std::size_t>(i * wrow + c)] = static_cast<T>(val(rng));
    wrows[i] = w.data() + i * wrow;
  }
  if (nan) xt[static_cast<std::size_t>(ldxt * (ncols - 1) + channels - 1)] =
      std::numeric_limits<T>::quiet_NaN();
  std::vector<T> part(static_cast<std::size_t>(mr * ncols * lanes + 64));
  T* aligned = reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(part.data()) + 63) / 64 * 64);
  std::vector<T> out(static_cast<std::size_t>(mr * ncols), T(99));
  const T* w2[convkit::detail::kConvMaxMr];
  for (std::int64_t i = 0; i < mr; ++i) w2[i] = wrows[i] + split;
  if (split > 0) k.dot_tail(split, ncols, xt.data(), ldxt, wrows, aligned, false, nullptr);
  k.dot_tail(channels - split, ncols, xt.data() + split, ldxt, w2, aligned, split > 0, out.data());
  for (std::int64_t i = 0; i < mr; ++i)
    for (std::int64_t j = 0; j < ncols; ++j) {
      T s = 0;
      for (std::int64_t c = 0; c < channels; ++c)
        s += wrows[i][c] * xt[static_cast<std::size_t>(j * ldxt + c)];
      const T got = out[static_cast<std::size_t>(i * ncols + j)];
      ASSERT_TRUE((std::isnan(s) && std::isnan(got)) || got == s)
          << k.name << " dot tail, " << ncols << " columns, " << channels << " channels split at "
          << split << ": row " << i << " column " << j << " got " << got << ", want " << s;
    }
}

TEST(ConvMicroKernels, DotProductTailMatchesFormula) {
  std::mt19937_64 rng(20261130);
  int checked = 0;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(convkit::detail::cpu_isa())) continue;
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    auto each = [&](auto tag) {
      using T = decltype(tag);
      for (int variant = 0; variant < convkit::detail::kConvVariants; ++variant) {
        const ConvKernel<T>& k = table<T>(isa)[variant];
        ASSERT_NE(k.dot_tail, nullptr) << k.name;
        const std::int64_t lanes = k.nr / k.nv;
        for (std::int64_t ncols = 1; ncols < lanes; ++ncols) {
          const std::int64_t channels_choice[] = {1, lanes - 1, lanes, 3 * lanes + 1, 5 * lanes};
          for (std::int64_t channels : channels_choice) {
            if (channels < 1) continue;
            const std::int64_t split = channels > lanes ? lanes * (channels / lanes / 2) + 1 : 0;
            check_dot_tail<T>(k, ncols, channels, split, ncols % 3 == 2, rng);
            ++checked;
          }
        }
      }
    };
    each(float{});
    each(double{});
  }
  EXPECT_GT(checked, 100);
}

TEST(ConvMicroKernels, EveryVariantAndNarrowVersionMatchesFormula) {
  std::mt19937_64 rng(20261129);
  int isas = 0;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(convkit::detail::cpu_isa())) continue;
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    check_isa<float>(isa, rng);
    check_isa<double>(isa, rng);
    ++isas;
  }
  EXPECT_GE(isas, 1);
}

// The depthwise weight-gradient taps kernel (run_taps): out[t] += Σ_q row[q] · col[offs[t] + q],
// with tap lists that are three runs of three consecutive offsets (3×3 at stride 1: the
// AVX-512 kernel shifts a run's taps out of one load), that almost are (a broken run), stride-2
// phase offsets, 18 taps (two blocks of 9), 4 and 5 taps; lengths of 1 to 40 vectors. Data are
// small integers, so every order gives the same exact sums; past the last value any tap reads
// the column holds NaN, which no sum may see.
template <typename T>
void check_taps(Isa isa, std::mt19937_64& rng) {
  const auto& k = [&]() -> const convkit::detail::WgradKernel<T>& {
    if constexpr (sizeof(T) == 4)
      return convkit::detail::wgrad_kernels(isa).f32;
    else
      return convkit::detail::wgrad_kernels(isa).f64;
  }();
  const std::vector<std::vector<std::int64_t>> lists = {
      {0, 1, 2, 58, 59, 60, 116, 117, 118},
      {7, 8, 9, 30, 31, 32, 53, 54, 55, 100, 101, 102, 123, 124, 125, 146, 147, 148},
      {0, 1, 2, 58, 59, 61, 116, 117, 118},       // one run broken
      {0, 225, 1, 450, 675, 451, 15, 240, 16},    // stride-2 phases
      {0, 1, 2, 3},
      {4, 0, 9, 2, 2},
  };
  std::uniform_int_distribution<int> u(-3, 3);
  for (const auto& offs : lists)
    for (std::int64_t vecs = 1; vecs <= 40; vecs += (vecs < 6 ? 1 : 7)) {
      const std::int64_t len = vecs * k.lanes, nt = static_cast<std::int64_t>(offs.size());
      std::int64_t max_off = 0;
      for (std::int64_t o : offs) max_off = std::max(max_off, o);
      std::vector<T> row(static_cast<std::size_t>(len)), col(static_cast<std::size_t>(len + max_off + k.lanes));
      for (T& v : row) v = static_cast<T>(u(rng));
      for (std::size_t i = 0; i < col.size(); ++i)
        col[i] = static_cast<std::int64_t>(i) < len + max_off ? static_cast<T>(u(rng))
                                                              : std::numeric_limits<T>::quiet_NaN();
      std::vector<T> out(static_cast<std::size_t>(nt)), want(static_cast<std::size_t>(nt));
      for (std::int64_t t = 0; t < nt; ++t) {
        out[static_cast<std::size_t>(t)] = want[static_cast<std::size_t>(t)] = static_cast<T>(t);
        for (std::int64_t q = 0; q < len; ++q)
          want[static_cast<std::size_t>(t)] += row[static_cast<std::size_t>(q)] * col[static_cast<std::size_t>(q + offs[static_cast<std::size_t>(t)])];
      }
      k.run_taps(len, row.data(), col.data(), offs.data(), nt, out.data());
      ASSERT_EQ(out, want) << k.taps_name << " taps " << nt << " len " << len;
    }
}

TEST(ConvMicroKernels, WeightGradientTapsMatchFormula) {
  std::mt19937_64 rng(20261130);
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(convkit::detail::cpu_isa())) continue;
    SCOPED_TRACE(convkit::detail::isa_name(isa));
    check_taps<float>(isa, rng);
    check_taps<double>(isa, rng);
  }
}

}  // namespace
