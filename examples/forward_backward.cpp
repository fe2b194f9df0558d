// examples/forward_backward.cpp — the notebook's conv layer in C++: forward, then backward.
#include <convkit/convkit.hpp>

#include <cstdio>
#include <vector>

int main() {
  // x (2, 3, 4, 4), w (3, 3, 4, 4), b (3,): linspace values as in the notebook.
  std::vector<double> x(96), w(144), b(3);
  for (int i = 0; i < 96; ++i) x[i] = -0.1 + 0.6 * i / 95;
  for (int i = 0; i < 144; ++i) w[i] = -0.2 + 0.5 * i / 143;
  for (int i = 0; i < 3; ++i) b[i] = -0.1 + 0.3 * i / 2;

  convkit::ConvDesc d;
  d.spatial_dims = 2;
  d.batch = 2;
  d.in_channels = 3;
  d.out_channels = 3;
  d.input_size = {4, 4};
  d.kernel_size = {4, 4};
  d.stride = {2};
  d.padding = convkit::Padding::symmetric({1});
  d.dtype = convkit::DType::f64;

  const convkit::ConvProblem problem(d);
  const convkit::ConvPlan plan(problem, convkit::Direction::forward);
  std::vector<double> y(2 * 3 * 2 * 2);
  auto xv = convkit::TensorView::contiguous(x.data(), problem.input_shape());
  auto wv = convkit::TensorView::contiguous(w.data(), problem.weight_shape());
  auto bv = convkit::TensorView::contiguous(b.data(), {3});
  auto yv = convkit::TensorView::contiguous(y.data(), problem.output_shape());
  plan.forward(xv, wv, &bv, yv);
  std::printf("%s\n", plan.explain().c_str());
  std::printf("y[0,0] = [[%.8f, %.8f], [%.8f, %.8f]]\n", y[0], y[1], y[2], y[3]);

  // Backward: gradients for an upstream gradient of ones.
  std::vector<double> dy(y.size(), 1.0), dx(x.size()), dw(w.size()), db(3);
  auto dyv = convkit::TensorView::contiguous(dy.data(), problem.output_shape());
  convkit::conv_backward_data(d, dyv, wv, convkit::TensorView::contiguous(dx.data(), problem.input_shape()));
  convkit::conv_backward_weights(d, dyv, xv, convkit::TensorView::contiguous(dw.data(), problem.weight_shape()));
  convkit::conv_backward_bias(d, dyv, convkit::TensorView::contiguous(db.data(), {3}));
  std::printf("db = [%g, %g, %g]\n", db[0], db[1], db[2]);
  return 0;
}
