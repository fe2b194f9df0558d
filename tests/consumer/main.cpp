// tests/consumer/main.cpp — links the installed convkit and checks one exact result.
#include <convkit/convkit.hpp>

#include <cstdio>

int main() {
  // 1x1x3x3 input of 1..9, 2x2 kernel of ones, no padding: sums of each 2x2 window.
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, y[4] = {};
  convkit::ConvDesc d;
  d.input_size = {3, 3};
  d.kernel_size = {2, 2};
  convkit::conv_forward(d, convkit::TensorView::contiguous(x, {1, 1, 3, 3}),
                        convkit::TensorView::contiguous(w, {1, 1, 2, 2}), nullptr,
                        convkit::TensorView::contiguous(y, {1, 1, 2, 2}));
  const float want[4] = {12, 16, 24, 28};
  for (int i = 0; i < 4; ++i)
    if (y[i] != want[i]) {
      std::printf("consumer: y[%d] = %g, expected %g\n", i, y[i], want[i]);
      return 1;
    }
  try {
    d.stride = {0};
    convkit::ConvProblem p(d);
    std::printf("consumer: stride 0 was accepted\n");
    return 1;
  } catch (const convkit::Error&) {
  }
  std::printf("consumer: ok\n");
  return 0;
}
