// tests/cpp/errors_test.cpp — every bad input raises the right convkit exception type (exactly,
// and derived from convkit::Error) with a message that names the argument and the bad value.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <typeinfo>
#include <vector>

#include "convkit/convkit.hpp"
#include "test_util.hpp"

namespace {

using convkit::ConvDesc;
using convkit::ConvPlan;
using convkit::ConvProblem;
using convkit::Direction;
using convkit::DType;
using convkit::Padding;
using convkit::TensorView;
using i64 = std::int64_t;

static_assert(std::is_base_of_v<convkit::Error, convkit::InvalidArgument>);
static_assert(std::is_base_of_v<convkit::Error, convkit::ShapeError>);
static_assert(std::is_base_of_v<convkit::Error, convkit::SizeOverflow>);
static_assert(std::is_base_of_v<convkit::Error, convkit::UnsupportedError>);
static_assert(std::is_base_of_v<convkit::Error, convkit::OutOfMemory>);

// Runs f; expects an exception of exactly type E whose message contains every needle.
template <class E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles,
                  const char* what) {
  SCOPED_TRACE(what);
  try {
    f();
    ADD_FAILURE() << "no exception; expected " << typeid(E).name();
  } catch (const convkit::Error& e) {
    EXPECT_EQ(typeid(e), typeid(E)) << "got " << typeid(e).name() << " (" << e.what()
                                    << "), expected " << typeid(E).name();
    const std::string msg = e.what();
    for (const auto& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "message '" << msg << "' lacks '" << n << "'";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "exception not derived from convkit::Error: " << typeid(e).name() << ": "
                  << e.what();
  }
}

#define EXPECT_CK_ERROR(E, stmt, ...) expect_error<E>([&] { stmt; }, {__VA_ARGS__}, #stmt)

ConvDesc good2d() {
  ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 2;
  d.in_channels = 4;
  d.out_channels = 6;
  d.groups = 2;
  d.input_size = {5, 5};
  d.kernel_size = {3, 3};
  return d;
}

TEST(Errors, SpatialDims) {
  for (int nd : {0, 4, -1}) {
    ConvDesc d = good2d();
    d.spatial_dims = nd;
    EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "spatial_dims",
                    "got " + std::to_string(nd));
  }
}

TEST(Errors, StrideAndDilation) {
  for (i64 v : {0, -1, -3}) {
    ConvDesc d = good2d();
    d.stride = {1, v};
    EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "stride",
                    "got " + std::to_string(v), "spatial dimension 1");
    d = good2d();
    d.stride = {v};
    EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "stride", "got " + std::to_string(v));
    d = good2d();
    d.dilation = {v, 1};
    EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "dilation",
                    "got " + std::to_string(v), "spatial dimension 0");
  }
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::conv_output_size(5, 3, 0), "stride", "got 0");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::conv_output_size(5, 3, 1, 0, 0, 0),
                  "dilation", "got 0");
}

TEST(Errors, NegativePadding) {
  ConvDesc d = good2d();
  d.padding = Padding::explicit_pairs({{0, 0}, {1, -2}});
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "padding", "-2");
  d.padding = Padding::symmetric({-1});
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "padding", "-1");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::conv_output_size(5, 3, 1, -1, 0), "padding",
                  "-1");
}

TEST(Errors, ChannelsAndGroups) {
  ConvDesc d = good2d();
  d.in_channels = 5;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "in_channels", "5", "groups", "2");
  d = good2d();
  d.out_channels = 7;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "out_channels", "7", "groups");
  d = good2d();
  d.in_channels = 0;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "in_channels", "got 0");
  d = good2d();
  d.out_channels = -2;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "out_channels", "got -2");
  d = good2d();
  d.groups = 0;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "groups", "got 0");
  d = good2d();
  d.batch = -1;
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "batch", "got -1");
}

TEST(Errors, SizesAndKernelExtent) {
  ConvDesc d = good2d();
  d.input_size = {5, 0};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "input_size", "got 0");
  d = good2d();
  d.kernel_size = {-1, 3};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "kernel_size", "got -1");
  // Dilated kernel extent 7 > padded input 5 + 1 + 0.
  d = good2d();
  d.kernel_size = {3, 4};
  d.dilation = {1, 2};
  d.padding = Padding::explicit_pairs({{0, 0}, {1, 0}});
  EXPECT_CK_ERROR(convkit::ShapeError, ConvProblem{d}, "kernel_size", "7", "6");
  d = good2d();
  d.kernel_size = {6, 3};
  EXPECT_CK_ERROR(convkit::ShapeError, ConvProblem{d}, "kernel_size", "6", "5");
  d = good2d();
  d.padding = Padding::valid();
  d.kernel_size = {6, 1};
  EXPECT_CK_ERROR(convkit::ShapeError, ConvProblem{d}, "kernel_size", "6");
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_output_size(2, 3), "kernel_size", "3", "2");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::conv_output_size(0, 1), "input_size",
                  "got 0");
}

TEST(Errors, WrongNumberOfPerDimValues) {
  ConvDesc d = good2d();
  d.stride = {1, 2, 3};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "stride", "3 values", "(1, 2, 3)");
  d = good2d();
  d.dilation = {1, 1, 1, 1};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "dilation", "4 values");
  d = good2d();
  d.input_size = {5};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "input_size", "1 values");
  d = good2d();
  d.kernel_size = {3, 3, 3};
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "kernel_size", "3 values");
  d = good2d();
  d.padding = Padding::symmetric({1, 1, 1});
  EXPECT_CK_ERROR(convkit::InvalidArgument, ConvProblem{d}, "padding", "3");
  convkit::ConvTransposeDesc t;
  t.spatial_dims = 2;
  t.input_size = {3, 3};
  t.kernel_size = {2, 2};
  t.stride = {2};
  t.output_padding = {1, 1, 1};
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::transposed_to_forward(t), "output_padding",
                  "3 values");
}

TEST(Errors, ParseNames) {
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_layout("NCWH", 2), "layout", "'NCWH'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_layout("NCHW", 3), "layout", "'NCHW'",
                  "NCDHW");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_layout("nchw", 2), "layout", "'nchw'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_layout("NCHW", 0), "spatial_dims",
                  "got 0");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_padding_mode("mirror"), "padding_mode",
                  "'mirror'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_padding_mode(""), "padding_mode",
                  "''");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::parse_padding_mode("constant"),
                  "padding_mode", "'constant'");
}

TEST(Errors, UnknownAlgorithm) {
  const ConvProblem p(good2d());
  EXPECT_CK_ERROR(convkit::InvalidArgument,
                  ConvPlan(p, Direction::forward, convkit::PlanOptions{"implicit_gemm"}),
                  "algorithm", "'implicit_gemm'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::algorithm_is_approximate("nope"),
                  "algorithm", "'nope'");
  EXPECT_CK_ERROR(convkit::InvalidArgument,
                  convkit::cached_plan(p, Direction::backward_data, convkit::PlanOptions{"fft"}),
                  "algorithm", "'fft'");
  // One-shot functions check the name too (before touching any tensor).
  TensorView none;
  EXPECT_CK_ERROR(convkit::InvalidArgument,
                  convkit::conv_forward(good2d(), none, none, nullptr, none,
                                        convkit::PlanOptions{"nope"}),
                  "algorithm", "'nope'");
  const auto names = convkit::algorithm_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "reference");
}

// Tensors for good2d() in f32.
struct Tensors {
  ConvProblem p{good2d()};
  std::vector<float> x, w, y, b, bx;
  Tensors()
      : x(2 * 4 * 25), w(6 * 2 * 9), y(2 * 6 * 9), b(6), bx(4) {}
  TensorView xv() { return TensorView::contiguous(x.data(), p.input_shape()); }
  TensorView wv() { return TensorView::contiguous(w.data(), p.weight_shape()); }
  TensorView yv() { return TensorView::contiguous(y.data(), p.output_shape()); }
  TensorView bv() { return TensorView::contiguous(b.data(), {6}); }
};

TEST(Errors, TensorChecksForward) {
  Tensors t;
  const ConvPlan plan(t.p, Direction::forward);
  auto bv = t.bv();
  // Sanity: the good call works.
  plan.forward(t.xv(), t.wv(), &bv, t.yv());

  auto x_bad = t.xv();
  x_bad.shape[0] = 1;
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(x_bad, t.wv(), nullptr, t.yv()), "x",
                  "(1, 4, 5, 5)", "(2, 4, 5, 5)");
  auto x_rank = TensorView::contiguous(t.x.data(), {2, 4, 25});
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(x_rank, t.wv(), nullptr, t.yv()), "x",
                  "(2, 4, 25)");
  auto w_bad = TensorView::contiguous(t.w.data(), {6, 4, 3, 3});
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(t.xv(), w_bad, nullptr, t.yv()), "weight",
                  "(6, 4, 3, 3)", "(6, 2, 3, 3)");
  auto y_bad = TensorView::contiguous(t.y.data(), {2, 6, 3, 2});
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(t.xv(), t.wv(), nullptr, y_bad), "output",
                  "(2, 6, 3, 2)");
  auto b_bad = TensorView::contiguous(t.b.data(), {4});
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(t.xv(), t.wv(), &b_bad, t.yv()), "bias",
                  "(4,)", "(6,)");
  auto b_rank = TensorView::contiguous(t.b.data(), {2, 3});
  EXPECT_CK_ERROR(convkit::ShapeError, plan.forward(t.xv(), t.wv(), &b_rank, t.yv()), "bias",
                  "(2, 3)");

  std::vector<double> xd(t.x.size());
  auto x_f64 = TensorView::contiguous(xd.data(), t.p.input_shape());
  EXPECT_CK_ERROR(convkit::UnsupportedError, plan.forward(x_f64, t.wv(), nullptr, t.yv()), "x",
                  "float64", "float32");
  std::vector<double> bd(6);
  auto b_f64 = TensorView::contiguous(bd.data(), {6});
  EXPECT_CK_ERROR(convkit::UnsupportedError, plan.forward(t.xv(), t.wv(), &b_f64, t.yv()), "bias",
                  "float64");

  auto x_null = t.xv();
  x_null.data = nullptr;
  EXPECT_CK_ERROR(convkit::InvalidArgument, plan.forward(x_null, t.wv(), nullptr, t.yv()), "x",
                  "null");
  auto w_null = t.wv();
  w_null.data = nullptr;
  EXPECT_CK_ERROR(convkit::InvalidArgument, plan.forward(t.xv(), w_null, nullptr, t.yv()),
                  "weight", "null");

  auto y_overlap = t.yv();
  y_overlap.strides[2] = 0;
  EXPECT_CK_ERROR(convkit::InvalidArgument, plan.forward(t.xv(), t.wv(), nullptr, y_overlap),
                  "output", "stride 0", "dimension 2");
  // A zero stride on an input is fine (broadcast), and on an output dimension of size 1 too.
  auto x_bcast = t.xv();
  x_bcast.strides[0] = 0;
  EXPECT_NO_THROW(plan.forward(x_bcast, t.wv(), nullptr, t.yv()));

  auto x_strides = t.xv();
  x_strides.strides.pop_back();
  EXPECT_CK_ERROR(convkit::InvalidArgument, plan.forward(x_strides, t.wv(), nullptr, t.yv()), "x",
                  "strides");
}

TEST(Errors, TensorChecksBackward) {
  Tensors t;
  const ConvPlan bd(t.p, Direction::backward_data);
  const ConvPlan bw(t.p, Direction::backward_weights);
  const ConvPlan bb(t.p, Direction::backward_bias);
  auto dy_bad = TensorView::contiguous(t.y.data(), {2, 6, 3, 4});
  EXPECT_CK_ERROR(convkit::ShapeError, bd.backward_data(dy_bad, t.wv(), t.xv()), "grad_output",
                  "(2, 6, 3, 4)", "(2, 6, 3, 3)");
  auto dx_bad = TensorView::contiguous(t.x.data(), {2, 4, 5, 4});
  EXPECT_CK_ERROR(convkit::ShapeError, bd.backward_data(t.yv(), t.wv(), dx_bad), "grad_input",
                  "(2, 4, 5, 4)");
  auto dx_overlap = t.xv();
  dx_overlap.strides[1] = 0;
  EXPECT_CK_ERROR(convkit::InvalidArgument, bd.backward_data(t.yv(), t.wv(), dx_overlap),
                  "grad_input", "stride 0", "dimension 1");
  auto bx_bad = TensorView::contiguous(t.b.data(), {6});  // needs in_channels = 4
  EXPECT_CK_ERROR(convkit::ShapeError, bd.backward_data(t.yv(), t.wv(), t.xv(), &bx_bad), "bias",
                  "(6,)", "(4,)");
  auto dw_bad = TensorView::contiguous(t.w.data(), {6, 2, 3, 2});
  EXPECT_CK_ERROR(convkit::ShapeError, bw.backward_weights(t.yv(), t.xv(), dw_bad), "grad_weight",
                  "(6, 2, 3, 2)");
  auto dw_null = t.wv();
  dw_null.data = nullptr;
  EXPECT_CK_ERROR(convkit::InvalidArgument, bw.backward_weights(t.yv(), t.xv(), dw_null),
                  "grad_weight", "null");
  auto db_bad = TensorView::contiguous(t.b.data(), {5});
  EXPECT_CK_ERROR(convkit::ShapeError, bb.backward_bias(t.yv(), db_bad), "grad_bias", "(5,)",
                  "(6,)");
  auto db_overlap = t.bv();
  db_overlap.strides[0] = 0;
  EXPECT_CK_ERROR(convkit::InvalidArgument, bb.backward_bias(t.yv(), db_overlap), "grad_bias",
                  "stride 0");
  std::vector<double> yd(t.y.size());
  EXPECT_CK_ERROR(convkit::UnsupportedError,
                  bb.backward_bias(TensorView::contiguous(yd.data(), t.p.output_shape()), t.bv()),
                  "grad_output", "float64");
}

// An output whose memory overlaps an input would be written while the input is still read:
// refused by name, for every direction (address ranges; an output next to an input is fine).
TEST(Errors, OutputOverlapsInput) {
  Tensors t;
  const ConvPlan fw(t.p, Direction::forward);
  const ConvPlan bd(t.p, Direction::backward_data);
  const ConvPlan bw(t.p, Direction::backward_weights);
  const ConvPlan bb(t.p, Direction::backward_bias);
  // One buffer holding x, then y starting inside x's last elements / right after x.
  std::vector<float> buf(t.x.size() + t.y.size());
  const auto xin = TensorView::contiguous(buf.data(), t.p.input_shape());
  const auto y_inside = TensorView::contiguous(buf.data() + t.x.size() - 1, t.p.output_shape());
  const auto y_after = TensorView::contiguous(buf.data() + t.x.size(), t.p.output_shape());
  EXPECT_CK_ERROR(convkit::InvalidArgument, fw.forward(xin, t.wv(), nullptr, y_inside), "output",
                  "overlaps", "x");
  fw.forward(xin, t.wv(), nullptr, y_after);  // adjacent, not overlapping: fine
  std::vector<float> big(t.y.size() + 8);
  const auto bias_in_y = TensorView::contiguous(big.data() + 3, {6});
  EXPECT_CK_ERROR(convkit::InvalidArgument,
                  fw.forward(t.xv(), t.wv(), &bias_in_y, TensorView::contiguous(big.data(), t.p.output_shape())),
                  "output", "bias");
  // y on top of the weights
  const auto y_on_w = TensorView::contiguous(t.w.data(), t.p.output_shape());
  EXPECT_CK_ERROR(convkit::InvalidArgument, fw.forward(t.xv(), t.wv(), nullptr, y_on_w), "output",
                  "weight");
  // backward-data: dx on top of dy
  std::vector<float> dbuf(t.x.size() + t.y.size());
  const auto dy_in = TensorView::contiguous(dbuf.data(), t.p.output_shape());
  const auto dx_on_dy = TensorView::contiguous(dbuf.data() + 2, t.p.input_shape());
  EXPECT_CK_ERROR(convkit::InvalidArgument, bd.backward_data(dy_in, t.wv(), dx_on_dy), "grad_input",
                  "grad_output");
  // backward-weights: dw on top of x
  const auto dw_on_x = TensorView::contiguous(t.x.data(), t.p.weight_shape());
  EXPECT_CK_ERROR(convkit::InvalidArgument, bw.backward_weights(t.yv(), t.xv(), dw_on_x),
                  "grad_weight", "x");
  // backward-bias: db inside dy
  const auto db_in_dy = TensorView::contiguous(t.y.data() + 5, {6});
  EXPECT_CK_ERROR(convkit::InvalidArgument, bb.backward_bias(t.yv(), db_in_dy), "grad_bias",
                  "grad_output");
}

TEST(Errors, OneShotNamesArguments) {
  Tensors t;
  auto y_bad = TensorView::contiguous(t.y.data(), {2, 6, 9});
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_forward(good2d(), t.xv(), t.wv(), nullptr, y_bad),
                  "output", "(2, 6, 9)");
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_backward_data(good2d(), y_bad, t.wv(), t.xv()),
                  "grad_output");
  EXPECT_CK_ERROR(convkit::ShapeError,
                  convkit::conv_backward_weights(good2d(), y_bad, t.xv(), t.wv()), "grad_output");
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_backward_bias(good2d(), y_bad, t.bv()),
                  "grad_output");
  // conv_transpose names its own arguments (x, weight, output), not the backward pass's.
  convkit::ConvTransposeDesc td;
  td.batch = 2;
  td.in_channels = 6;
  td.out_channels = 4;
  td.groups = 2;
  td.input_size = {3, 3};
  td.kernel_size = {3, 3};
  const auto out_shape = convkit::conv_transpose_output_shape(td);
  ASSERT_EQ(out_shape, (std::vector<i64>{2, 4, 5, 5}));
  auto tx = TensorView::contiguous(t.y.data(), {2, 6, 3, 3});
  auto tw = TensorView::contiguous(t.w.data(), {6, 2, 3, 3});
  auto ty = TensorView::contiguous(t.x.data(), out_shape);
  EXPECT_NO_THROW(convkit::conv_transpose(td, tx, tw, nullptr, ty));
  auto tx_bad = TensorView::contiguous(t.y.data(), {2, 6, 3, 2});
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_transpose(td, tx_bad, tw, nullptr, ty), "x",
                  "(2, 6, 3, 2)", "(2, 6, 3, 3)");
  auto tw_bad = TensorView::contiguous(t.w.data(), {6, 4, 3, 3});
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_transpose(td, tx, tw_bad, nullptr, ty),
                  "weight", "(6, 4, 3, 3)", "(6, 2, 3, 3)");
  auto ty_bad = TensorView::contiguous(t.x.data(), {2, 4, 5, 4});
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_transpose(td, tx, tw, nullptr, ty_bad),
                  "output", "(2, 4, 5, 4)");
  auto tb_bad = TensorView::contiguous(t.b.data(), {6});  // result has 4 channels
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::conv_transpose(td, tx, tw, &tb_bad, ty), "bias",
                  "(6,)", "(4,)");
  // Transposed-size errors.
  convkit::ConvTransposeDesc te = td;
  te.padding = Padding::symmetric({3});  // (3−1)·1 − 6 + 2 + 1 = −1
  EXPECT_CK_ERROR(convkit::ShapeError, convkit::transposed_to_forward(te), "empty", "-1");
  te = td;
  te.output_padding = {2};
  te.stride = {2};
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::transposed_to_forward(te), "output_padding",
                  "got 2");
  te = td;
  te.in_channels = 5;
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::transposed_to_forward(te), "in_channels", "5",
                  "groups");
}

TEST(Errors, SizeOverflow) {
  ConvDesc d;
  d.spatial_dims = 2;
  d.in_channels = 1 << 20;
  d.out_channels = 1;
  d.input_size = {i64(1) << 31, i64(1) << 31};
  d.kernel_size = {1, 1};
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{d}, "input", "overflow");

  ConvDesc b;
  b.spatial_dims = 2;
  b.batch = i64(1) << 62;
  b.input_size = {1, 1};
  b.kernel_size = {1, 1};
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{b}, "input", "4611686018427387904",
                  "overflow");

  const i64 big = std::numeric_limits<i64>::max();
  ConvDesc p;
  p.spatial_dims = 1;
  p.input_size = {10};
  p.kernel_size = {3};
  p.padding = Padding::explicit_pairs({{big - 5, 10}});
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{p}, "padded input size", "overflow");

  ConvDesc e;
  e.spatial_dims = 1;
  e.input_size = {10};
  e.kernel_size = {3};
  e.dilation = {i64(1) << 62};
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{e}, "dilated kernel extent", "overflow");

  ConvDesc s = e;
  s.dilation = {1};
  s.padding = Padding::same();
  s.stride = {1};
  s.kernel_size = {i64(1) << 62};
  s.dilation = {4};
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{s}, "overflow");

  // Weights: out_channels · in_channels · kernel volume.
  ConvDesc w;
  w.spatial_dims = 3;
  w.in_channels = i64(1) << 21;
  w.out_channels = i64(1) << 21;
  w.input_size = {1 << 21, 1, 1};
  w.kernel_size = {1 << 21, 1, 1};
  EXPECT_CK_ERROR(convkit::SizeOverflow, ConvProblem{w}, "overflow");

  convkit::ConvTransposeDesc t;
  t.spatial_dims = 1;
  t.input_size = {i64(1) << 40};
  t.kernel_size = {2};
  t.stride = {i64(1) << 40};
  EXPECT_CK_ERROR(convkit::SizeOverflow, convkit::transposed_to_forward(t), "transposed output size",
                  "overflow");

  // Tensor element counts overflow too.
  TensorView v(nullptr, DType::f32, {i64(1) << 40, i64(1) << 40}, {1, 1});
  EXPECT_CK_ERROR(convkit::SizeOverflow, v.numel(), "overflow");
}

TEST(Errors, TransposedPaddingOverflow) {
  // Transposed padding so large that pad_before + pad_after overflows: the transposed output
  // would be hugely negative. The error must name the padding and its value (ShapeError "empty"
  // or SizeOverflow), not a wrapped-around output size.
  for (const auto& pads : std::vector<std::pair<i64, i64>>{
           {i64(1) << 62, i64(1) << 62}, {std::numeric_limits<i64>::max(), 5},
           {std::numeric_limits<i64>::max(), std::numeric_limits<i64>::max()}}) {
    convkit::ConvTransposeDesc tp;
    tp.spatial_dims = 1;
    tp.input_size = {1};
    tp.kernel_size = {1};
    tp.padding = Padding::explicit_pairs({pads});
    SCOPED_TRACE("transposed padding (" + std::to_string(pads.first) + ", " +
                 std::to_string(pads.second) + ")");
    try {
      convkit::transposed_to_forward(tp);
      ADD_FAILURE() << "accepted";
    } catch (const convkit::InvalidArgument& err) {
      const std::string m = err.what();
      EXPECT_TRUE(typeid(err) == typeid(convkit::ShapeError) ||
                  typeid(err) == typeid(convkit::SizeOverflow))
          << typeid(err).name();
      EXPECT_NE(m.find("padding"), std::string::npos) << m;
      EXPECT_NE(m.find(std::to_string(pads.first)), std::string::npos) << m;
    }
  }

}

TEST(Errors, PlanDirectionMismatch) {
  Tensors t;
  const ConvPlan bd(t.p, Direction::backward_data);
  EXPECT_CK_ERROR(convkit::InvalidArgument, bd.forward(t.xv(), t.wv(), nullptr, t.yv()),
                  "ConvPlan::forward", "backward_data", "forward");
  const ConvPlan fw(t.p, Direction::forward);
  EXPECT_CK_ERROR(convkit::InvalidArgument, fw.backward_data(t.yv(), t.wv(), t.xv()),
                  "ConvPlan::backward_data", "'forward'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, fw.backward_weights(t.yv(), t.xv(), t.wv()),
                  "ConvPlan::backward_weights", "'forward'");
  EXPECT_CK_ERROR(convkit::InvalidArgument, fw.backward_bias(t.yv(), t.bv()),
                  "ConvPlan::backward_bias", "'forward'");
}

TEST(Errors, NumThreads) {
  ckt::ThreadCountGuard guard;
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::set_num_threads(0), "num_threads", "got 0");
  EXPECT_CK_ERROR(convkit::InvalidArgument, convkit::set_num_threads(-4), "num_threads", "got -4");
  EXPECT_EQ(convkit::get_num_threads(), guard.saved);  // unchanged by a rejected value
  convkit::set_num_threads(3);
  EXPECT_EQ(convkit::get_num_threads(), 3);
}

}  // namespace
