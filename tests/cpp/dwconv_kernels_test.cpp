// tests/cpp/dwconv_kernels_test.cpp — every ISA's depthwise-family helper kernels against
// plain loops: the row copies (unit, stride-2 de-interleave and merge, gathers, scatters,
// negative steps) with every length around the vector widths and guard values around each
// destination element, the even/odd row split, the channel/position transpose, the
// channels-last weight-gradient row (two sums per tap, many rows, strides and dilation) and its
// fused 3×3 form, and the per-channel kernel, in float and double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isa_util.hpp"
#include "kernels/dwconv/dwconv_kernels.hpp"

namespace {

using convkit::detail::DwconvKernel;
using convkit::detail::Isa;
using i64 = std::int64_t;

template <typename T>
const DwconvKernel<T>& table(Isa isa) {
  if constexpr (sizeof(T) == 4)
    return convkit::detail::dwconv_kernels(isa).f32;
  else
    return convkit::detail::dwconv_kernels(isa).f64;
}

template <typename T>
std::vector<T> random_values(std::size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> u(-50, 50);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(u(rng)) / 4;
  return v;
}

template <typename T>
void check_copy_rows(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(11);
  const T guard = T(-12345);
  for (const auto [src_step, dst_step] : std::vector<std::pair<i64, i64>>{
           {1, 1}, {2, 1}, {1, 2}, {3, 1}, {1, 3}, {2, 2}, {-1, 1}, {1, -1}, {-2, 1}, {7, 1}, {1, 5}})
    for (i64 rows = 1; rows <= 3; ++rows)
      for (i64 len = 0; len <= 41; ++len) {
        SCOPED_TRACE(std::string(convkit::detail::isa_name(isa)) + " steps " + std::to_string(src_step) +
                     "," + std::to_string(dst_step) + " rows " + std::to_string(rows) + " len " +
                     std::to_string(len));
        const i64 sspan = std::max<i64>(1, (len - 1) * std::abs(src_step) + 1);
        const i64 dspan = std::max<i64>(1, (len - 1) * std::abs(dst_step) + 1);
        const i64 sstride = sspan + 3, dstride = dspan + 5;
        // Sources padded by a margin on both sides (a read beyond the row would still find
        // memory; its value must not matter because it never lands in the destination).
        std::vector<T> src = random_values<T>(static_cast<std::size_t>(rows * sstride + 64), rng);
        std::vector<T> dst(static_cast<std::size_t>(rows * dstride + 64), guard);
        const T* s0 = src.data() + 32 + (src_step < 0 ? sspan - 1 : 0);
        T* d0 = dst.data() + 32 + (dst_step < 0 ? dspan - 1 : 0);
        std::vector<T> want = dst;
        T* w0 = want.data() + (d0 - dst.data());
        for (i64 r = 0; r < rows; ++r)
          for (i64 i = 0; i < len; ++i) w0[r * dstride + i * dst_step] = s0[r * sstride + i * src_step];
        k.copy_rows(rows, len, s0, sstride, src_step, d0, dstride, dst_step);
        ASSERT_EQ(dst, want);
      }
}

TEST(DwconvKernels, CopyRowsEveryStepAndLength) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_copy_rows<float>(isa);
    check_copy_rows<double>(isa);
  }
}

template <typename T>
void check_transpose(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(12);
  for (i64 cn : {1, 3, 4, 8, 15, 16, 17, 33, 64})
    for (i64 rn : {1, 2, 7, 9, 16, 31, 49, 70}) {
      const i64 lds = rn + 3, ldd = cn + 2;
      const std::vector<T> src = random_values<T>(static_cast<std::size_t>(cn * lds), rng);
      std::vector<T> dst(static_cast<std::size_t>(rn * ldd), T(-7)), want = dst;
      for (i64 c = 0; c < cn; ++c)
        for (i64 r = 0; r < rn; ++r) want[static_cast<std::size_t>(r * ldd + c)] = src[static_cast<std::size_t>(c * lds + r)];
      k.transpose(cn, rn, src.data(), lds, dst.data(), ldd);
      ASSERT_EQ(dst, want) << convkit::detail::isa_name(isa) << " cn " << cn << " rn " << rn;
    }
}

TEST(DwconvKernels, TransposeEveryShape) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_transpose<float>(isa);
    check_transpose<double>(isa);
  }
}

// The weight-gradient row against its definition (quarter-integers, so every partial sum is
// exact and the result must match bit for bit): stored value kept, every term of every row
// and position counted once, lanes past the channels untouched.
template <typename T>
void check_wgrad_row(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(13);
  const i64 lanes = (isa == Isa::avx512 ? 64 : isa == Isa::avx2 ? 32 : 16) / static_cast<i64>(sizeof(T));
  ASSERT_EQ(k.lanes, lanes) << convkit::detail::isa_name(isa);
  ASSERT_EQ(k.block, 4 * lanes) << convkit::detail::isa_name(isa);
  for (i64 cvec : {1, 2, 3, 4, 5, 9})
    for (i64 kw : {1, 2, 3, 4, 7})
      for (i64 npos : {0, 1, 2, 5, 8})
        for (i64 nrows : {1, 3}) {
          const i64 C = cvec * lanes, ld = C + lanes;  // a gap between positions
          const i64 s = 1 + (npos + kw) % 2, dil = 1 + kw % 2, nsrc = 2;
          const i64 row_len = (npos * s + kw * dil + 2) * ld;
          std::vector<T> x = random_values<T>(static_cast<std::size_t>(nsrc * nrows * row_len), rng);
          std::vector<T> dy = random_values<T>(static_cast<std::size_t>(nrows * (npos + 1) * ld), rng);
          std::vector<T> dw = random_values<T>(static_cast<std::size_t>(nsrc * kw * (C + 3)), rng);
          std::vector<T> want = dw;
          const T* xsrc[2] = {x.data(), x.data() + nrows * row_len};
          T* dwsrc[2] = {dw.data(), dw.data() + kw * (C + 3)};
          convkit::detail::DwconvClWgradArgs<T> a{};
          a.nrows = nrows;
          a.npos = npos;
          a.channels = C;
          a.nsrc = nsrc;
          a.kw = kw;
          a.xsrc = xsrc;
          a.dwsrc = dwsrc;
          a.x_row = row_len;
          a.pos_step = s * ld;
          a.kw_step = dil * ld;
          a.dwstride = C + 3;
          a.dy = dy.data();
          a.dy_row = (npos + 1) * ld;
          a.dy_step = ld;
          for (i64 r = 0; r < nsrc; ++r)
            for (i64 j = 0; j < kw; ++j)
              for (i64 c = 0; c < C; ++c) {
                T* out = want.data() + (r * kw + j) * (C + 3) + c;
                T even = *out, odd = T(0);
                for (i64 i = 0; i < nrows; ++i)
                  for (i64 p = 0; p < npos; ++p) {
                    const T term = dy[static_cast<std::size_t>(i * a.dy_row + p * ld + c)] *
                                   xsrc[r][i * row_len + p * a.pos_step + j * a.kw_step + c];
                    (p % 2 == 0 ? even : odd) += term;
                  }
                *out = even + odd;
              }
          k.cl_wgrad_row(a);
          ASSERT_EQ(dw, want) << convkit::detail::isa_name(isa) << " vectors " << cvec << " kw " << kw
                              << " npos " << npos << " rows " << nrows;
        }
}

TEST(DwconvKernels, WeightGradientRowMatchesDefinition) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_wgrad_row<float>(isa);
    check_wgrad_row<double>(isa);
  }
}

// The per-channel kernel (`run`) against the per-tap sum in the same order: tap lists with
// runs of consecutive offsets of every length (the AVX-512 kernel shifts a run's taps out of
// one load), runs broken by gaps and by descending offsets, more runs than one pass takes
// (sums carried through `out`), lengths of 1 to 11 blocks (the 8-vector blocks and the 4-vector
// rest), bias and ReLU. Values are multiples of 1/4 with few taps, so every sum is exact and
// the comparison is bitwise; the buffer past the last read holds NaN, which no output may see.
template <typename T>
void check_run(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(13);
  const std::vector<std::vector<i64>> tap_lists = {
      {0},
      {0, 1, 2},                                      // one 3x3 row
      {0, 1, 2, 58, 59, 60, 116, 117, 118},           // 3x3, stride 1
      {0, 1, 15, 16, 225, 240, 450, 451, 675},        // 3x3, stride 2 phases
      {0, 1, 2, 3, 4, 5, 6},                          // a run longer than 3
      {5, 4, 3, 9, 10, 30, 31, 2, 3},                 // descending, gaps, repeats
      {3, 3, 3},                                      // one offset three times
  };
  std::vector<std::vector<i64>> lists = tap_lists;
  {  // 150 taps in 50 runs of 1..5: more than one pass of runs
    std::vector<i64> many;
    i64 off = 0;
    while (many.size() < 150) {
      const i64 n = 1 + static_cast<i64>(rng() % 5);
      for (i64 i = 0; i < n; ++i) many.push_back(off + i);
      off += n + 1 + static_cast<i64>(rng() % 7);
    }
    lists.push_back(many);
  }
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (const auto& taps : lists)
    for (i64 blocks = 1; blocks <= 11; ++blocks)
      for (const bool relu : {false, true}) {
        const i64 len = blocks * k.block, ntaps = static_cast<i64>(taps.size());
        i64 max_off = 0;
        for (i64 t : taps) max_off = std::max(max_off, t);
        const i64 readable = len + max_off + k.lanes;  // the kernel's documented reach
        std::vector<T> x = random_values<T>(static_cast<std::size_t>(readable), rng);
        // Past the last position any tap reads: NaN (read but never used).
        for (i64 i = len - 1 + max_off + 1; i < readable; ++i) x[static_cast<std::size_t>(i)] = nan;
        const std::vector<T> w = random_values<T>(static_cast<std::size_t>(ntaps), rng);
        const T bias = static_cast<T>(static_cast<int>(rng() % 9) - 4) / 4;
        std::vector<T> out(static_cast<std::size_t>(len + 2 * k.lanes), T(-777));
        k.run(len, ntaps, taps.data(), x.data(), w.data(), bias, relu, out.data());
        SCOPED_TRACE(std::string(convkit::detail::isa_name(isa)) + " taps " +
                     std::to_string(ntaps) + " len " + std::to_string(len) +
                     (relu ? " relu" : ""));
        for (i64 q = 0; q < len; ++q) {
          T want = bias;
          for (i64 t = 0; t < ntaps; ++t) want += w[static_cast<std::size_t>(t)] * x[static_cast<std::size_t>(q + taps[static_cast<std::size_t>(t)])];
          if (relu && want < 0) want = 0;
          ASSERT_EQ(out[static_cast<std::size_t>(q)], want) << "q " << q;
        }
        for (i64 q = len; q < len + 2 * k.lanes; ++q) ASSERT_EQ(out[static_cast<std::size_t>(q)], T(-777));
      }
}

TEST(DwconvKernels, RunMatchesPerTapSum) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_run<float>(isa);
    check_run<double>(isa);
  }
}

// The fused 3×3 weight-gradient kernel against its definition: nine taps (three source rows
// of three taps each; the taps one position step apart, where the kernel slides its window,
// and not), one running sum per tap in (row, position) order, stored value kept, every vector
// of channels; quarter-integers, so the comparison is exact.
template <typename T>
void check_wgrad_3x3(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(14);
  const i64 lanes = k.lanes;
  for (i64 cvec : {1, 2, 3, 4, 5})
    for (i64 npos : {0, 1, 2, 3, 7, 28})
      for (i64 nrows : {1, 2, 5})
        for (const auto [s, dil] : std::vector<std::pair<i64, i64>>{{1, 1}, {2, 2}, {2, 1}, {1, 2}}) {
          const i64 C = cvec * lanes, ld = C + lanes;  // a gap between positions
          const i64 row_len = ((npos + 2) * 2 + 1) * ld;
          std::vector<T> x = random_values<T>(static_cast<std::size_t>(3 * nrows * row_len), rng);
          std::vector<T> dy = random_values<T>(static_cast<std::size_t>(nrows * (npos + 1) * ld), rng);
          std::vector<T> dw = random_values<T>(static_cast<std::size_t>(3 * 3 * (C + 3)), rng);
          std::vector<T> want = dw;
          const T* xsrc[3] = {x.data(), x.data() + nrows * row_len, x.data() + 2 * nrows * row_len};
          T* dwsrc[3] = {dw.data(), dw.data() + 3 * (C + 3), dw.data() + 6 * (C + 3)};
          convkit::detail::DwconvClWgradArgs<T> a{};
          a.nrows = nrows;
          a.npos = npos;
          a.channels = C;
          a.nsrc = 3;
          a.kw = 3;
          a.xsrc = xsrc;
          a.dwsrc = dwsrc;
          a.x_row = row_len;
          a.pos_step = s * ld;
          a.kw_step = dil * ld;
          a.dwstride = C + 3;
          a.dy = dy.data();
          a.dy_row = (npos + 1) * ld;
          a.dy_step = ld;
          for (i64 r = 0; r < 3; ++r)
            for (i64 j = 0; j < 3; ++j)
              for (i64 c = 0; c < C; ++c) {
                T& sum = want[static_cast<std::size_t>((r * 3 + j) * (C + 3) + c)];
                for (i64 i = 0; i < nrows; ++i)
                  for (i64 p = 0; p < npos; ++p)
                    sum += dy[static_cast<std::size_t>(i * a.dy_row + p * ld + c)] *
                           xsrc[r][i * row_len + p * a.pos_step + j * a.kw_step + c];
              }
          k.cl_wgrad_3x3(a);
          ASSERT_EQ(dw, want) << k.cl_wgrad_3x3_name << " vectors " << cvec << " npos " << npos
                              << " rows " << nrows << " step " << s << " dilation " << dil;
        }
}

TEST(DwconvKernels, WeightGradient3x3MatchesDefinition) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_wgrad_3x3<float>(isa);
    check_wgrad_3x3<double>(isa);
  }
}

// The even/odd row split: every pair of lengths around the vector widths (equal, one apart
// either way — the stride-2 phase split — and far apart), 1 to 3 rows, guard values around
// every destination element.
template <typename T>
void check_split_rows(Isa isa) {
  const DwconvKernel<T>& k = table<T>(isa);
  std::mt19937_64 rng(15);
  const T guard = T(-4321);
  for (i64 rows = 1; rows <= 3; ++rows)
    for (i64 ne = 0; ne <= 40; ++ne)
      for (const i64 no : {ne - 1, ne, ne + 1, ne / 3, ne + 17}) {
        if (no < 0) continue;
        const i64 sstride = 2 * std::max(ne, no) + 3, dstride = std::max(ne, no) + 5;
        const std::vector<T> src = random_values<T>(static_cast<std::size_t>(rows * sstride + 2), rng);
        std::vector<T> ev(static_cast<std::size_t>(rows * dstride + 32), guard), od = ev;
        std::vector<T> want_ev = ev, want_od = od;
        for (i64 r = 0; r < rows; ++r) {
          for (i64 i = 0; i < ne; ++i) want_ev[static_cast<std::size_t>(16 + r * dstride + i)] = src[static_cast<std::size_t>(r * sstride + 2 * i)];
          for (i64 i = 0; i < no; ++i) want_od[static_cast<std::size_t>(16 + r * dstride + i)] = src[static_cast<std::size_t>(r * sstride + 2 * i + 1)];
        }
        k.split_rows(rows, ne, no, src.data(), sstride, ev.data() + 16, od.data() + 16, dstride);
        ASSERT_EQ(ev, want_ev) << convkit::detail::isa_name(isa) << " rows " << rows << " even " << ne << " odd " << no;
        ASSERT_EQ(od, want_od) << convkit::detail::isa_name(isa) << " rows " << rows << " even " << ne << " odd " << no;
      }
}

TEST(DwconvKernels, SplitRowsEveryLength) {
  for (Isa isa : ckt::isas_on_this_cpu()) {
    check_split_rows<float>(isa);
    check_split_rows<double>(isa);
  }
}

}  // namespace
