// tests/cpp/problem_test.cpp — problem resolution: output sizes (conv_output_size and
// ConvProblem::out), 'same' (TensorFlow's rule) and 'valid' padding, per-dimension broadcasting,
// physical shapes per layout, and transposed_to_forward against PyTorch's output-size formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "convkit/convkit.hpp"

namespace {

using convkit::ConvDesc;
using convkit::ConvProblem;
using convkit::ConvTransposeDesc;
using convkit::Padding;
using i64 = std::int64_t;

// floor((in + pb + pa − d·(k − 1) − 1) / s) + 1, written independently.
i64 expected_out(i64 in, i64 k, i64 s, i64 pb, i64 pa, i64 d) {
  const i64 span = in + pb + pa - d * (k - 1) - 1;
  return span / s + 1;  // span >= 0 where used
}

ConvDesc desc2d(std::vector<i64> in, std::vector<i64> k) {
  ConvDesc d;
  d.spatial_dims = static_cast<int>(in.size());
  d.input_size = std::move(in);
  d.kernel_size = std::move(k);
  return d;
}

TEST(OutputSize, NotebookFormula) {
  // (input + 2p − k) / s + 1 from the notebook: (4 + 2 − 4) / 2 + 1 = 2.
  EXPECT_EQ(convkit::conv_output_size(4, 4, 2, 1, 1), 2);
  EXPECT_EQ(convkit::conv_output_size(5, 3, 1, 1, 1), 5);
  EXPECT_EQ(convkit::conv_output_size(7, 3, 2, 0, 0), 3);
  EXPECT_EQ(convkit::conv_output_size(32, 5, 1, 2, 2), 32);
  EXPECT_EQ(convkit::conv_output_size(224, 7, 2, 3, 3), 112);
  // Strides that do not divide: the remainder is dropped.
  EXPECT_EQ(convkit::conv_output_size(8, 3, 3, 0, 0), 2);
  // Dilation: extent d·(k − 1) + 1.
  EXPECT_EQ(convkit::conv_output_size(10, 3, 1, 0, 0, 2), 6);
  EXPECT_EQ(convkit::conv_output_size(10, 3, 1, 0, 0, 4), 2);
  // Asymmetric padding.
  EXPECT_EQ(convkit::conv_output_size(4, 2, 2, 0, 1), 2);
  EXPECT_EQ(convkit::conv_output_size(1, 1), 1);
  // Kernel exactly as large as the padded input: one output.
  EXPECT_EQ(convkit::conv_output_size(3, 5, 1, 1, 1), 1);
}

// conv_output_size is a size formula: it must work for any sizes whose arithmetic fits in int64,
// not only for sizes a float32 tensor (or the reference engine's scratch) could have.
TEST(OutputSize, LargeSizesDoNotOverflow) {
  const i64 p59 = i64(1) << 59, p62 = i64(1) << 62;
  auto call = [](i64 in, i64 k, i64 s, i64 pb, i64 pa) -> i64 {
    try {
      return convkit::conv_output_size(in, k, s, pb, pa);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "conv_output_size(" << in << ", " << k << ", " << s << ", " << pb << ", "
                    << pa << ") threw: " << e.what();
      return -1;
    }
  };
  EXPECT_EQ(call(i64(1) << 58, 1, 1, 0, 0), i64(1) << 58);
  EXPECT_EQ(call(p59, 1, 1, 0, 0), p59);
  EXPECT_EQ(call(p62, 3, 2, 1, 1), i64(1) << 61);
  EXPECT_EQ(call(std::numeric_limits<i64>::max() - 10, 1, 1, 5, 5),
            std::numeric_limits<i64>::max());
}

TEST(OutputSize, SweepMatchesFormula) {
  for (i64 in = 1; in <= 9; ++in)
    for (i64 k = 1; k <= 5; ++k)
      for (i64 s = 1; s <= 4; ++s)
        for (i64 d = 1; d <= 3; ++d)
          for (i64 pb = 0; pb <= 2; ++pb)
            for (i64 pa = 0; pa <= 3; ++pa) {
              if (d * (k - 1) + 1 > in + pb + pa) {
                EXPECT_THROW(convkit::conv_output_size(in, k, s, pb, pa, d), convkit::ShapeError);
                continue;
              }
              const i64 want = expected_out(in, k, s, pb, pa, d);
              EXPECT_EQ(convkit::conv_output_size(in, k, s, pb, pa, d), want)
                  << "in " << in << " k " << k << " s " << s << " d " << d << " p " << pb << ","
                  << pa;
            }
}

TEST(ConvProblemSizes, OutPerDimension) {
  ConvDesc d = desc2d({9, 7, 5}, {3, 2, 1});
  d.batch = 2;
  d.in_channels = 4;
  d.out_channels = 6;
  d.groups = 2;
  d.stride = {2, 1, 3};
  d.dilation = {1, 3, 1};
  d.padding = Padding::explicit_pairs({{1, 0}, {0, 2}, {2, 2}});
  const ConvProblem p(d);
  EXPECT_EQ(p.spatial_dims, 3);
  EXPECT_EQ(p.out[0], expected_out(9, 3, 2, 1, 0, 1));
  EXPECT_EQ(p.out[1], expected_out(7, 2, 1, 0, 2, 3));
  EXPECT_EQ(p.out[2], expected_out(5, 1, 3, 2, 2, 1));
  EXPECT_EQ(p.pad_before[0], 1);
  EXPECT_EQ(p.pad_after[1], 2);
  EXPECT_EQ(p.in_channels_per_group(), 2);
  EXPECT_EQ(p.out_channels_per_group(), 3);
  EXPECT_EQ(p.input_shape(), (std::vector<i64>{2, 4, 9, 7, 5}));
  EXPECT_EQ(p.output_shape(), (std::vector<i64>{2, 6, p.out[0], p.out[1], p.out[2]}));
  EXPECT_EQ(p.weight_shape(), (std::vector<i64>{6, 2, 3, 2, 1}));
  EXPECT_EQ(p.macs(), 2 * 6 * p.out_spatial() * 2 * 6);
}

TEST(ConvProblemSizes, FewerDimsUseTrailingEntries) {
  ConvDesc d = desc2d({10}, {3});
  d.spatial_dims = 1;
  d.stride = {2};
  d.padding = Padding::symmetric({1});
  const ConvProblem p(d);
  EXPECT_EQ(p.in[0], 1);
  EXPECT_EQ(p.in[1], 1);
  EXPECT_EQ(p.in[2], 10);
  EXPECT_EQ(p.kernel[2], 3);
  EXPECT_EQ(p.out[0], 1);
  EXPECT_EQ(p.out[1], 1);
  EXPECT_EQ(p.out[2], 5);
  EXPECT_EQ(p.pad_before[1], 0);
  EXPECT_EQ(p.pad_after[2], 1);

  ConvDesc d2 = desc2d({6, 8}, {3, 3});
  const ConvProblem p2(d2);
  EXPECT_EQ(p2.in[0], 1);
  EXPECT_EQ(p2.in[1], 6);
  EXPECT_EQ(p2.in[2], 8);
  EXPECT_EQ(p2.out[1], 4);
  EXPECT_EQ(p2.out[2], 6);
}

TEST(ConvProblemSizes, NotebookProblem) {
  ConvDesc d = desc2d({4, 4}, {4, 4});
  d.batch = 2;
  d.in_channels = 3;
  d.out_channels = 3;
  d.stride = {2};
  d.padding = Padding::symmetric({1});
  const ConvProblem p(d);
  EXPECT_EQ(p.out[1], 2);
  EXPECT_EQ(p.out[2], 2);
  EXPECT_EQ(p.output_shape(), (std::vector<i64>{2, 3, 2, 2}));
}

TEST(ConvProblemSizes, ShapesPerLayout) {
  for (int nd = 1; nd <= 3; ++nd) {
    ConvDesc d;
    d.spatial_dims = nd;
    d.batch = 2;
    d.in_channels = 3;
    d.out_channels = 5;
    d.input_size = std::vector<i64>(nd, 4);
    d.kernel_size = std::vector<i64>(nd, 3);
    d.layout = convkit::Layout::channels_last;
    const ConvProblem p(d);
    std::vector<i64> in{2}, out{2}, w{5, 3};
    for (int i = 0; i < nd; ++i) {
      in.push_back(4);
      out.push_back(2);
      w.push_back(3);
    }
    in.push_back(3);
    out.push_back(5);
    EXPECT_EQ(p.input_shape(), in) << nd;
    EXPECT_EQ(p.output_shape(), out) << nd;
    EXPECT_EQ(p.weight_shape(), w) << nd;  // weights do not depend on the layout
    EXPECT_STREQ(convkit::layout_name(convkit::Layout::channels_last, nd),
                 nd == 1 ? "NWC" : nd == 2 ? "NHWC" : "NDHWC");
    EXPECT_EQ(convkit::parse_layout(convkit::layout_name(convkit::Layout::channels_first, nd), nd),
              convkit::Layout::channels_first);
    EXPECT_EQ(convkit::parse_layout(convkit::layout_name(convkit::Layout::channels_last, nd), nd),
              convkit::Layout::channels_last);
  }
  for (auto m : {convkit::PaddingMode::zeros, convkit::PaddingMode::reflect,
                 convkit::PaddingMode::replicate, convkit::PaddingMode::circular})
    EXPECT_EQ(convkit::parse_padding_mode(convkit::padding_mode_name(m)), m);
}

// ---- 'same' and 'valid' ------------------------------------------------------------------------

struct SamePads {
  i64 before, after, out;
};

// TensorFlow: out = ceil(in / s); total = max((out − 1)·s + (k − 1)·d + 1 − in, 0); the odd
// one goes at the end.
SamePads tf_same(i64 in, i64 k, i64 s, i64 d) {
  const i64 out = (in + s - 1) / s;
  const i64 total = std::max<i64>((out - 1) * s + (k - 1) * d + 1 - in, 0);
  return {total / 2, total - total / 2, out};
}

TEST(SamePadding, KnownCases) {
  struct Case {
    i64 in, k, s, d, before, after, out;
  };
  const Case cases[] = {
      {5, 3, 1, 1, 1, 1, 5},  {4, 4, 1, 1, 1, 2, 4},  {5, 3, 2, 1, 1, 1, 3},
      {6, 3, 2, 1, 0, 1, 3},  {7, 1, 3, 1, 0, 0, 3},  {10, 3, 1, 2, 2, 2, 10},
      {2, 5, 1, 1, 2, 2, 2},  {9, 4, 4, 1, 1, 2, 3},  {1, 3, 2, 1, 1, 1, 1},
      {8, 2, 3, 1, 0, 0, 3},  // (3−1)·3 + 2 − 8 = 0
      {14, 3, 5, 1, 0, 0, 3},  // need < 0: no padding
  };
  for (const auto& c : cases) {
    ConvDesc d = desc2d({c.in}, {c.k});
    d.spatial_dims = 1;
    d.stride = {c.s};
    d.dilation = {c.d};
    d.padding = Padding::same();
    const ConvProblem p(d);
    EXPECT_EQ(p.pad_before[2], c.before) << c.in << " " << c.k << " " << c.s << " " << c.d;
    EXPECT_EQ(p.pad_after[2], c.after) << c.in << " " << c.k << " " << c.s << " " << c.d;
    EXPECT_EQ(p.out[2], c.out) << c.in << " " << c.k << " " << c.s << " " << c.d;
  }
}

TEST(SamePadding, SweepMatchesTensorFlowRule) {
  for (i64 in = 1; in <= 12; ++in)
    for (i64 k = 1; k <= 5; ++k)
      for (i64 s = 1; s <= 4; ++s)
        for (i64 dil = 1; dil <= 3; ++dil) {
          ConvDesc d = desc2d({in, 3}, {k, 1});
          d.stride = {s, 1};
          d.dilation = {dil, 1};
          d.padding = Padding::same();
          const ConvProblem p(d);
          const SamePads want = tf_same(in, k, s, dil);
          EXPECT_EQ(p.pad_before[1], want.before) << in << " " << k << " " << s << " " << dil;
          EXPECT_EQ(p.pad_after[1], want.after) << in << " " << k << " " << s << " " << dil;
          EXPECT_EQ(p.out[1], want.out) << in << " " << k << " " << s << " " << dil;
          EXPECT_EQ(p.out[1], (in + s - 1) / s);
          // The second dimension (k 1, s 1) needs no padding.
          EXPECT_EQ(p.pad_before[2], 0);
          EXPECT_EQ(p.pad_after[2], 0);
          EXPECT_EQ(p.out[2], 3);
        }
}

TEST(SamePadding, PerDimension3D) {
  ConvDesc d = desc2d({5, 6, 7}, {3, 4, 2});
  d.stride = {1, 2, 3};
  d.dilation = {2, 1, 1};
  d.padding = Padding::same();
  const ConvProblem p(d);
  const SamePads a = tf_same(5, 3, 1, 2), b = tf_same(6, 4, 2, 1), c = tf_same(7, 2, 3, 1);
  EXPECT_EQ(p.pad_before[0], a.before);
  EXPECT_EQ(p.pad_after[0], a.after);
  EXPECT_EQ(p.pad_before[1], b.before);
  EXPECT_EQ(p.pad_after[1], b.after);
  EXPECT_EQ(p.pad_before[2], c.before);
  EXPECT_EQ(p.pad_after[2], c.after);
  EXPECT_EQ(p.out[0], 5);
  EXPECT_EQ(p.out[1], 3);
  EXPECT_EQ(p.out[2], 3);
}

TEST(ValidPadding, NoPadding) {
  for (i64 in = 1; in <= 9; ++in)
    for (i64 k = 1; k <= 4; ++k)
      for (i64 s = 1; s <= 3; ++s)
        for (i64 dil = 1; dil <= 2; ++dil) {
          ConvDesc d = desc2d({in}, {k});
          d.spatial_dims = 1;
          d.stride = {s};
          d.dilation = {dil};
          d.padding = Padding::valid();
          if (dil * (k - 1) + 1 > in) {
            EXPECT_THROW(ConvProblem{d}, convkit::ShapeError);
            continue;
          }
          const ConvProblem p(d);
          EXPECT_EQ(p.pad_before[2], 0);
          EXPECT_EQ(p.pad_after[2], 0);
          EXPECT_EQ(p.out[2], expected_out(in, k, s, 0, 0, dil));
        }
}

// ---- broadcasting -------------------------------------------------------------------------------

TEST(Broadcasting, OneValueMeansEveryDimension) {
  ConvDesc a = desc2d({9, 8, 7}, {3, 3, 3});
  a.stride = {2};
  a.dilation = {2};
  a.padding = Padding::symmetric({1});
  ConvDesc b = a;
  b.stride = {2, 2, 2};
  b.dilation = {2, 2, 2};
  b.padding = Padding::explicit_pairs({{1, 1}, {1, 1}, {1, 1}});
  ConvDesc c = a;
  c.padding = Padding::explicit_pairs({{1, 1}});
  const ConvProblem pa(a), pb(b), pc(c);
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(pa.stride[j], 2);
    EXPECT_EQ(pa.dilation[j], 2);
    EXPECT_EQ(pa.pad_before[j], 1);
    EXPECT_EQ(pa.pad_after[j], 1);
    EXPECT_EQ(pa.out[j], pb.out[j]);
    EXPECT_EQ(pc.pad_after[j], 1);
  }
  EXPECT_EQ(pa.key(), pb.key());
  EXPECT_EQ(pa.key(), pc.key());
}

TEST(Broadcasting, EmptyMeansDefault) {
  ConvDesc a = desc2d({6, 5}, {2, 3});
  const ConvProblem p(a);
  for (int j = 1; j < 3; ++j) {
    EXPECT_EQ(p.stride[j], 1);
    EXPECT_EQ(p.dilation[j], 1);
    EXPECT_EQ(p.pad_before[j], 0);
    EXPECT_EQ(p.pad_after[j], 0);
  }
  EXPECT_EQ(p.out[1], 5);
  EXPECT_EQ(p.out[2], 3);
}

TEST(Broadcasting, PerDimensionValuesStayPerDimension) {
  ConvDesc a = desc2d({9, 8}, {3, 2});
  a.stride = {1, 3};
  a.dilation = {2, 1};
  a.padding = Padding::symmetric({0, 2});
  const ConvProblem p(a);
  EXPECT_EQ(p.stride[1], 1);
  EXPECT_EQ(p.stride[2], 3);
  EXPECT_EQ(p.dilation[1], 2);
  EXPECT_EQ(p.dilation[2], 1);
  EXPECT_EQ(p.pad_before[1], 0);
  EXPECT_EQ(p.pad_after[2], 2);
  EXPECT_EQ(p.out[1], expected_out(9, 3, 1, 0, 0, 2));
  EXPECT_EQ(p.out[2], expected_out(8, 2, 3, 2, 2, 1));
}

TEST(ProblemKey, DistinguishesProblems) {
  ConvDesc a = desc2d({6, 6}, {3, 3});
  ConvDesc b = a;
  b.padding_mode = convkit::PaddingMode::reflect;
  ConvDesc c = a;
  c.layout = convkit::Layout::channels_last;
  ConvDesc e = a;
  e.dtype = convkit::DType::f64;
  ConvDesc f = a;
  f.padding = Padding::explicit_pairs({{0, 1}});
  ConvDesc g = a;
  g.padding = Padding::explicit_pairs({{1, 0}});
  const std::string ka = ConvProblem(a).key();
  for (const auto* d : {&b, &c, &e, &f, &g}) EXPECT_NE(ConvProblem(*d).key(), ka);
  EXPECT_NE(ConvProblem(f).key(), ConvProblem(g).key());
  EXPECT_EQ(ConvProblem(a).key(), ConvProblem(a).key());
}

// ---- transposed convolution sizes -----------------------------------------------------------

// PyTorch: (in − 1)·s − pad_before − pad_after + d·(k − 1) + output_padding + 1.
i64 torch_transposed(i64 in, i64 k, i64 s, i64 d, i64 pb, i64 pa, i64 op) {
  return (in - 1) * s - pb - pa + d * (k - 1) + op + 1;
}

ConvTransposeDesc tdesc1d(i64 in, i64 k, i64 s, i64 d, i64 pb, i64 pa, i64 op) {
  ConvTransposeDesc t;
  t.spatial_dims = 1;
  t.batch = 2;
  t.in_channels = 4;
  t.out_channels = 6;
  t.groups = 2;
  t.input_size = {in};
  t.kernel_size = {k};
  t.stride = {s};
  t.dilation = {d};
  t.padding = Padding::explicit_pairs({{pb, pa}});
  t.output_padding = {op};
  return t;
}

TEST(TransposedToForward, SweepMatchesPyTorchFormula) {
  int accepted_op_ge_stride = 0;
  for (i64 in = 1; in <= 5; ++in)
    for (i64 k = 1; k <= 4; ++k)
      for (i64 s = 1; s <= 3; ++s)
        for (i64 d = 1; d <= 4; ++d)
          for (i64 pb = 0; pb <= 2; ++pb)
            for (i64 pa = 0; pa <= 2; ++pa)
              for (i64 op = 0; op < std::max(s, d); ++op) {
                const ConvTransposeDesc t = tdesc1d(in, k, s, d, pb, pa, op);
                const i64 want = torch_transposed(in, k, s, d, pb, pa, op);
                if (want < 1) {
                  EXPECT_THROW(convkit::transposed_to_forward(t), convkit::ShapeError)
                      << in << " " << k << " " << s << " " << d << " " << pb << " " << pa << " "
                      << op;
                  continue;
                }
                ConvProblem p = [&] {
                  try {
                    return convkit::transposed_to_forward(t);
                  } catch (const std::exception& e) {
                    ADD_FAILURE() << "in " << in << " k " << k << " s " << s << " d " << d
                                  << " pads " << pb << "," << pa << " op " << op << ": "
                                  << e.what();
                    throw;
                  }
                }();
                EXPECT_EQ(p.in[2], want) << in << " " << k << " " << s << " " << d << " " << pb
                                         << " " << pa << " " << op;
                EXPECT_EQ(p.out[2], in) << in << " " << k << " " << s << " " << d << " " << pb
                                        << " " << pa << " " << op;
                EXPECT_EQ(p.kernel[2], k);
                EXPECT_EQ(p.stride[2], s);
                EXPECT_EQ(p.dilation[2], d);
                EXPECT_EQ(p.in_channels, 6);   // forward input = transposed result
                EXPECT_EQ(p.out_channels, 4);  // forward output = transposed input
                EXPECT_EQ(p.groups, 2);
                EXPECT_EQ(p.batch, 2);
                EXPECT_EQ(convkit::conv_transpose_output_shape(t),
                          (std::vector<i64>{2, 6, want}));
                if (op >= s) ++accepted_op_ge_stride;
              }
  EXPECT_GT(accepted_op_ge_stride, 0);
}

TEST(TransposedToForward, OutputPaddingLimits) {
  // output_padding >= max(stride, dilation) is rejected, naming the argument and the value.
  for (i64 s = 1; s <= 3; ++s)
    for (i64 d = 1; d <= 3; ++d) {
      const i64 op = std::max(s, d);
      const ConvTransposeDesc t = tdesc1d(4, 3, s, d, 0, 0, op);
      try {
        convkit::transposed_to_forward(t);
        ADD_FAILURE() << "output_padding " << op << " with stride " << s << " dilation " << d
                      << " was accepted";
      } catch (const convkit::InvalidArgument& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("output_padding"), std::string::npos) << m;
        EXPECT_NE(m.find("got " + std::to_string(op)), std::string::npos) << m;
      }
    }
  // output_padding in [stride, dilation) is accepted when dilation > stride (PyTorch allows it).
  for (i64 s = 1; s <= 2; ++s)
    for (i64 d = s + 1; d <= 4; ++d)
      for (i64 op = s; op < d; ++op) {
        const ConvTransposeDesc t = tdesc1d(3, 2, s, d, 1, 0, op);
        ConvProblem p = convkit::transposed_to_forward(t);
        EXPECT_EQ(p.in[2], torch_transposed(3, 2, s, d, 1, 0, op)) << s << " " << d << " " << op;
        EXPECT_EQ(p.out[2], 3);
      }
  // Negative output_padding is rejected.
  EXPECT_THROW(convkit::transposed_to_forward(tdesc1d(4, 3, 2, 1, 0, 0, -1)),
               convkit::InvalidArgument);
}

TEST(TransposedToForward, MultiDimensionalAndLayout) {
  ConvTransposeDesc t;
  t.spatial_dims = 3;
  t.batch = 1;
  t.in_channels = 2;
  t.out_channels = 3;
  t.input_size = {3, 4, 2};
  t.kernel_size = {2, 3, 3};
  t.stride = {2, 1, 3};
  t.dilation = {1, 2, 1};
  t.padding = Padding::explicit_pairs({{0, 1}, {1, 1}, {2, 0}});
  t.output_padding = {1, 1, 2};
  t.layout = convkit::Layout::channels_last;
  const ConvProblem p = convkit::transposed_to_forward(t);
  const i64 o0 = torch_transposed(3, 2, 2, 1, 0, 1, 1), o1 = torch_transposed(4, 3, 1, 2, 1, 1, 1),
            o2 = torch_transposed(2, 3, 3, 1, 2, 0, 2);
  EXPECT_EQ(p.in[0], o0);
  EXPECT_EQ(p.in[1], o1);
  EXPECT_EQ(p.in[2], o2);
  EXPECT_EQ(p.out[0], 3);
  EXPECT_EQ(p.out[1], 4);
  EXPECT_EQ(p.out[2], 2);
  EXPECT_EQ(convkit::conv_transpose_output_shape(t), (std::vector<i64>{1, o0, o1, o2, 3}));
  // One output_padding value is broadcast.
  t.output_padding = {1};
  t.stride = {2};
  t.dilation = {1};
  const ConvProblem q = convkit::transposed_to_forward(t);
  EXPECT_EQ(q.in[1], torch_transposed(4, 3, 2, 1, 1, 1, 1));
}

TEST(TransposedToForward, SameAndValidRejected) {
  ConvTransposeDesc t = tdesc1d(4, 3, 1, 1, 0, 0, 0);
  t.padding = Padding::same();
  EXPECT_THROW(convkit::transposed_to_forward(t), convkit::InvalidArgument);
  t.padding = Padding::valid();
  EXPECT_THROW(convkit::transposed_to_forward(t), convkit::InvalidArgument);
}

}  // namespace
