// tests/cpp/winograd_kernels_test.cpp — every ISA's Winograd F(4×4, 3×3) kernels against
// plain formulas: Bᵀ d B, G g Gᵀ and Aᵀ m A computed in double from the matrices, the GEMM
// tile as a triple loop, for every lane count, clipping and flag the kernels take.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "isa_util.hpp"
#include "kernels/winograd/wino_kernels.hpp"

namespace {

using convkit::detail::WinoKernels;
using i64 = std::int64_t;

const double kBT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                          {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
const double kG[6][3] = {{0.25, 0, 0},
                         {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                         {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                         {1.0 / 24, 1.0 / 12, 1.0 / 6},
                         {1.0 / 24, -1.0 / 12, 1.0 / 6},
                         {0, 0, 1}};
const double kAT[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

const char* isa_str(convkit::detail::Isa isa) { return convkit::detail::isa_name(isa); }

std::vector<float> random_floats(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// The matrices themselves: F(4×4, 3×3) reproduces the direct correlation of a 6×6 patch.
TEST(WinogradKernels, MatricesComputeCorrelation) {
  std::mt19937_64 rng(3);
  const auto d = random_floats(36, rng), g = random_floats(9, rng);
  double U[6][6] = {}, V[6][6] = {};
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b)
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) U[a][b] += kG[a][r] * g[r * 3 + s] * kG[b][s];
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b)
      for (int r = 0; r < 6; ++r)
        for (int s = 0; s < 6; ++s) V[a][b] += kBT[a][r] * d[r * 6 + s] * kBT[b][s];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double y = 0, want = 0;
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b) y += kAT[i][a] * U[a][b] * V[a][b] * kAT[j][b];
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s)
          want += static_cast<double>(d[(i + r) * 6 + j + s]) * g[r * 3 + s];
      EXPECT_NEAR(y, want, 1e-12);
    }
}

TEST(WinogradKernels, InputTransformMatchesFormula) {
  for (auto isa : ckt::isas_on_this_cpu()) {
    const WinoKernels& k = convkit::detail::wino_kernels(isa);
    const int L = k.lanes;
    std::mt19937_64 rng(11);
    const i64 width = 4 * L + 2, plane = L + 3;
    std::vector<float> lines = random_floats(static_cast<std::size_t>(6 * width), rng);
    std::vector<float> v(static_cast<std::size_t>(36 * plane), -7.0f);
    const float* rows[6];
    for (int r = 0; r < 6; ++r) rows[r] = lines.data() + r * width;
    k.input(rows, v.data(), plane);
    for (int j = 0; j < L; ++j)
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b) {
          double want = 0, mag = 0;
          for (int r = 0; r < 6; ++r)
            for (int s = 0; s < 6; ++s) {
              const double t = kBT[a][r] * lines[r * width + 4 * j + s] * kBT[b][s];
              want += t;
              mag += std::fabs(t);
            }
          EXPECT_NEAR(v[(a * 6 + b) * plane + j], want, 1e-6 * mag + 1e-7)
              << isa_str(isa) << " lane " << j << " element " << a << "," << b;
        }
    // Only L lanes of each element are written.
    for (int e = 0; e < 36; ++e)
      for (i64 j = L; j < plane; ++j) EXPECT_EQ(v[e * plane + j], -7.0f) << isa_str(isa);
  }
}

TEST(WinogradKernels, OutputTransformMatchesFormulaAndClips) {
  for (auto isa : ckt::isas_on_this_cpu()) {
    const WinoKernels& k = convkit::detail::wino_kernels(isa);
    const int L = k.lanes;
    std::mt19937_64 rng(12);
    const i64 plane = L + 5, ldo = 4 * L + 7;
    const auto m = random_floats(static_cast<std::size_t>(36 * plane), rng);
    for (bool relu : {false, true})
      for (int rows = 1; rows <= 4; ++rows)
        for (int cols : {1, 3, 4, L, 2 * L + 1, 4 * L - 1, 4 * L}) {
          const float bias = 0.375f;
          std::vector<float> out(static_cast<std::size_t>(5 * ldo), -9.0f);
          EXPECT_TRUE(k.output(m.data(), plane, bias, relu, L, rows, cols, out.data(), ldo));
          for (int i = 0; i < 5; ++i)
            for (i64 c = 0; c < ldo; ++c) {
              const float got = out[i * ldo + c];
              if (i >= rows || c >= cols) {
                EXPECT_EQ(got, -9.0f) << isa_str(isa) << " wrote outside rows/cols";
                continue;
              }
              const i64 j = c / 4, x = c % 4;  // tile (lane) j, column x of its 4×4 outputs
              double want = bias, mag = std::fabs(bias);
              for (int a = 0; a < 6; ++a)
                for (int b = 0; b < 6; ++b) {
                  const double t = kAT[i][a] * m[(a * 6 + b) * plane + j] * kAT[x][b];
                  want += t;
                  mag += std::fabs(t);
                }
              if (relu && want < 0) want = 0;
              EXPECT_NEAR(got, want, 1e-6 * mag) << isa_str(isa) << " row " << i << " col " << c;
            }
        }
    // The finite check looks at the first n lanes only, before ReLU.
    std::vector<float> bad = m;
    const int lane = L - 1;
    bad[14 * plane + lane] = std::numeric_limits<float>::infinity();
    std::vector<float> out(static_cast<std::size_t>(4 * ldo));
    EXPECT_FALSE(k.output(bad.data(), plane, 0.0f, true, L, 4, 4 * L, out.data(), ldo))
        << isa_str(isa);
    EXPECT_TRUE(k.output(bad.data(), plane, 0.0f, true, lane, 4, 4 * L, out.data(), ldo))
        << isa_str(isa);
  }
}

// Expected transformed filter element e of filter g (9 taps).
double filter_formula(const float* g, int e, i64 step) {
  const int a = e / 6, b = e % 6;
  double u = 0;
  for (int r = 0; r < 3; ++r)
    for (int s = 0; s < 3; ++s) u += kG[a][r] * g[(r * 3 + s) * step] * kG[b][s];
  return u;
}

TEST(WinogradKernels, FilterTransformsMatchFormula) {
  for (auto isa : ckt::isas_on_this_cpu()) {
    const WinoKernels& k = convkit::detail::wino_kernels(isa);
    const int L = k.lanes, mr = k.mr, groups = L / mr;
    std::mt19937_64 rng(13);
    const i64 plane = L * mr + 3, group = 36 * plane + 5;
    // One channel, lanes filters, taps gathered.
    const auto g = random_floats(static_cast<std::size_t>(9 * L), rng);
    std::vector<float> u(static_cast<std::size_t>(groups * group), -3.0f);
    EXPECT_TRUE(k.filter(g.data(), u.data(), plane, group));
    for (int j = 0; j < L; ++j)
      for (int e = 0; e < 36; ++e)
        EXPECT_NEAR(u[(j / mr) * group + e * plane + j % mr], filter_formula(g.data() + j, e, L),
                    1e-6)
            << isa_str(isa);
    // A block of L channels of `rows` dense filters (filter stride padded).
    for (int rows : {1, mr, L}) {
      const i64 kstride = 9 * L + 4;
      const auto w = random_floats(static_cast<std::size_t>(L * kstride), rng);
      std::vector<float> ub(static_cast<std::size_t>(groups * group), -3.0f);
      EXPECT_TRUE(k.filter_block(w.data(), kstride, rows, ub.data(), plane, group));
      for (int j = 0; j < L; ++j)
        for (int c = 0; c < L; ++c)
          for (int e = 0; e < 36; ++e) {
            const double want =
                j < rows ? filter_formula(w.data() + j * kstride + 9 * c, e, 1) : 0.0;
            EXPECT_NEAR(ub[(j / mr) * group + e * plane + c * mr + j % mr], want, 1e-6)
                << isa_str(isa) << " rows " << rows << " filter " << j << " channel " << c;
          }
      // A NaN weight is reported.
      std::vector<float> wn = w;
      wn[static_cast<std::size_t>((rows - 1) * kstride + 9 * (L - 1) + 8)] =
          std::numeric_limits<float>::quiet_NaN();
      EXPECT_FALSE(k.filter_block(wn.data(), kstride, rows, ub.data(), plane, group))
          << isa_str(isa);
    }
  }
}

TEST(WinogradKernels, FilterRowsMatchFormulaForwardAndReversed) {
  for (auto isa : ckt::isas_on_this_cpu()) {
    const WinoKernels& k = convkit::detail::wino_kernels(isa);
    const int L = k.lanes, mr = k.mr, groups = L / mr;
    std::mt19937_64 rng(15);
    const i64 plane = mr + 3, group = 36 * plane + 5;
    const auto w = random_floats(static_cast<std::size_t>(L * 11), rng);  // filter j at 11·j
    for (bool reversed : {false, true}) {
      const float* taps[16];
      for (int j = 0; j < L; ++j) taps[j] = j % 5 == 4 ? nullptr : w.data() + 11 * j;
      std::vector<float> u(static_cast<std::size_t>(groups * group), -3.0f);
      EXPECT_TRUE(k.filter_rows(taps, reversed, u.data(), plane, group));
      for (int j = 0; j < L; ++j) {
        float g[9] = {};
        for (int t = 0; t < 9 && taps[j]; ++t) g[t] = taps[j][reversed ? 8 - t : t];
        for (int e = 0; e < 36; ++e)
          EXPECT_NEAR(u[(j / mr) * group + e * plane + j % mr], filter_formula(g, e, 1), 1e-6)
              << isa_str(isa) << (reversed ? " reversed" : "") << " filter " << j;
      }
      std::vector<float> wn = w;
      wn[11 * (L - 1) + 4] = std::numeric_limits<float>::infinity();
      for (int j = 0; j < L; ++j) taps[j] = wn.data() + 11 * j;
      EXPECT_FALSE(k.filter_rows(taps, reversed, u.data(), plane, group)) << isa_str(isa);
    }
  }
}

TEST(WinogradKernels, GemmTilesMatchTripleLoop) {
  for (auto isa : ckt::isas_on_this_cpu()) {
    const WinoKernels& k = convkit::detail::wino_kernels(isa);
    const int L = k.lanes, mr = k.mr;
    std::mt19937_64 rng(14);
    for (i64 kc : {1, 5, 17, 64}) {
      const i64 ldb = 2 * L + 3, next = kc * mr + 9, ldc = 2 * L + 1;
      const auto a = random_floats(static_cast<std::size_t>(2 * next), rng);
      const auto b = random_floats(static_cast<std::size_t>(kc * ldb), rng);
      auto check = [&](const char* what, int groups, int nv, auto run) {
        std::vector<float> c(static_cast<std::size_t>(2 * mr * ldc), -5.0f);
        run(c.data());
        for (int i = 0; i < groups * mr; ++i)
          for (i64 col = 0; col < ldc; ++col) {
            if (col >= nv * L) {
              EXPECT_EQ(c[i * ldc + col], -5.0f) << what << " wrote past its columns";
              continue;
            }
            double want = 0;
            for (i64 q = 0; q < kc; ++q)
              want += static_cast<double>(a[(i / mr) * next + q * mr + i % mr]) * b[q * ldb + col];
            EXPECT_NEAR(c[i * ldc + col], want, 1e-5 * static_cast<double>(kc))
                << isa_str(isa) << " " << what << " kc " << kc;
          }
      };
      for (int nv = 1; nv <= k.nv; ++nv)
        check("gemm", 1, nv,
              [&](float* c) { k.gemm[nv - 1](kc, a.data(), 0, b.data(), ldb, c, ldc); });
      check("gemm2", 2, 1, [&](float* c) { k.gemm2(kc, a.data(), next, b.data(), ldb, c, ldc); });
    }
  }
}

}  // namespace
