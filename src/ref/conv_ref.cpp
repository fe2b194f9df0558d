// src/ref/conv_ref.cpp — reference convolution loops (forward, backward-data/weights/bias).
#include "ref/conv_ref.hpp"

#include <algorithm>
#include <cstring>

#include "core/arena.hpp"
#include "core/dtype_dispatch.hpp"
#include "core/padding.hpp"
#include "core/threading.hpp"

namespace convkit::ref {

using detail::pad_source;
using detail::parallel_for;
using detail::View1;
using detail::View5;
using detail::with_dtype;

namespace {

// Value of the padded input at position (pd, ph, pw) given in input coordinates.
template <typename T>
double padded_value(const ConvProblem& p, const View5& x, std::int64_t n, std::int64_t c,
                    std::int64_t id, std::int64_t ih, std::int64_t iw) {
  const std::int64_t sd = pad_source(id, p.in[0], p.padding_mode);
  const std::int64_t sh = pad_source(ih, p.in[1], p.padding_mode);
  const std::int64_t sw = pad_source(iw, p.in[2], p.padding_mode);
  if (sd < 0 || sh < 0 || sw < 0) return 0.0;
  return static_cast<double>(*x.at<const T>(n, c, sd, sh, sw));
}

template <typename T>
void forward_impl(const ConvProblem& p, const View5& x, const View5& w, const View1* bias,
                  const View5& y, bool relu) {
  const std::int64_t K = p.out_channels, Kg = p.out_channels_per_group(),
                     Cg = p.in_channels_per_group();
  parallel_for(p.batch * K, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / K, k = item % K, g = k / Kg;
      const double b = bias ? static_cast<double>(*bias->at<const T>(k)) : 0.0;
      for (std::int64_t od = 0; od < p.out[0]; ++od)
        for (std::int64_t oh = 0; oh < p.out[1]; ++oh)
          for (std::int64_t ow = 0; ow < p.out[2]; ++ow) {
            double acc = 0.0;
            for (std::int64_t c = 0; c < Cg; ++c)
              for (std::int64_t kd = 0; kd < p.kernel[0]; ++kd)
                for (std::int64_t kh = 0; kh < p.kernel[1]; ++kh)
                  for (std::int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const double xv = padded_value<T>(
                        p, x, n, g * Cg + c, od * p.stride[0] - p.pad_before[0] + kd * p.dilation[0],
                        oh * p.stride[1] - p.pad_before[1] + kh * p.dilation[1],
                        ow * p.stride[2] - p.pad_before[2] + kw * p.dilation[2]);
                    acc += static_cast<double>(*w.at<const T>(k, c, kd, kh, kw)) * xv;
                  }
            const T v = static_cast<T>(acc + b);
            *y.at<T>(n, k, od, oh, ow) = relu && v < T(0) ? T(0) : v;
          }
    }
  });
}

// Padded extent of dimension j (the positions a window can touch lie inside it).
std::int64_t padded_size(const ConvProblem& p, int j) {
  return p.in[j] + p.pad_before[j] + p.pad_after[j];
}

template <typename T>
void backward_data_impl(const ConvProblem& p, const View5& dy, const View5& w, const View1* bias,
                        const View5& dx) {
  const std::int64_t C = p.in_channels, Kg = p.out_channels_per_group(),
                     Cg = p.in_channels_per_group();
  const std::int64_t P[3] = {padded_size(p, 0), padded_size(p, 1), padded_size(p, 2)};
  const std::int64_t pvol = P[0] * P[1] * P[2];
  const std::int64_t ivol = p.in_spatial();
  parallel_for(p.batch * C, [&](std::int64_t begin, std::int64_t end, int) {
    double* gp = static_cast<double*>(detail::thread_scratch(backward_data_scratch_bytes(p)));
    double* acc = gp + pvol;
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t n = item / C, c = item % C, g = c / Cg, cg = c % Cg;
      // 1. Gradient with respect to every position of the padded input.
      for (std::int64_t pd = 0; pd < P[0]; ++pd)
        for (std::int64_t ph = 0; ph < P[1]; ++ph)
          for (std::int64_t pw = 0; pw < P[2]; ++pw) {
            double s = 0.0;
            for (std::int64_t kk = 0; kk < Kg; ++kk) {
              const std::int64_t k = g * Kg + kk;
              for (std::int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                const std::int64_t qd = pd - kd * p.dilation[0];
                if (qd < 0) break;
                if (qd % p.stride[0] || qd / p.stride[0] >= p.out[0]) continue;
                for (std::int64_t kh = 0; kh < p.kernel[1]; ++kh) {
                  const std::int64_t qh = ph - kh * p.dilation[1];
                  if (qh < 0) break;
                  if (qh % p.stride[1] || qh / p.stride[1] >= p.out[1]) continue;
                  for (std::int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const std::int64_t qw = pw - kw * p.dilation[2];
                    if (qw < 0) break;
                    if (qw % p.stride[2] || qw / p.stride[2] >= p.out[2]) continue;
                    s += static_cast<double>(*w.at<const T>(k, cg, kd, kh, kw)) *
                         static_cast<double>(*dy.at<const T>(n, k, qd / p.stride[0],
                                                             qh / p.stride[1], qw / p.stride[2]));
                  }
                }
              }
            }
            gp[(pd * P[1] + ph) * P[2] + pw] = s;
          }
      // 2. Fold the padded positions back onto the input positions they read, in order.
      std::fill(acc, acc + ivol, 0.0);
      for (std::int64_t pd = 0; pd < P[0]; ++pd) {
        const std::int64_t sd = pad_source(pd - p.pad_before[0], p.in[0], p.padding_mode);
        if (sd < 0) continue;
        for (std::int64_t ph = 0; ph < P[1]; ++ph) {
          const std::int64_t sh = pad_source(ph - p.pad_before[1], p.in[1], p.padding_mode);
          if (sh < 0) continue;
          for (std::int64_t pw = 0; pw < P[2]; ++pw) {
            const std::int64_t sw = pad_source(pw - p.pad_before[2], p.in[2], p.padding_mode);
            if (sw < 0) continue;
            acc[(sd * p.in[1] + sh) * p.in[2] + sw] += gp[(pd * P[1] + ph) * P[2] + pw];
          }
        }
      }
      const double b = bias ? static_cast<double>(*bias->at<const T>(c)) : 0.0;
      for (std::int64_t id = 0; id < p.in[0]; ++id)
        for (std::int64_t ih = 0; ih < p.in[1]; ++ih)
          for (std::int64_t iw = 0; iw < p.in[2]; ++iw)
            *dx.at<T>(n, c, id, ih, iw) =
                static_cast<T>(acc[(id * p.in[1] + ih) * p.in[2] + iw] + b);
    }
  });
}

template <typename T>
void backward_weights_impl(const ConvProblem& p, const View5& dy, const View5& x,
                           const View5& dw) {
  const std::int64_t Kg = p.out_channels_per_group(), Cg = p.in_channels_per_group();
  parallel_for(p.out_channels * Cg, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t k = item / Cg, c = item % Cg, g = k / Kg;
      for (std::int64_t kd = 0; kd < p.kernel[0]; ++kd)
        for (std::int64_t kh = 0; kh < p.kernel[1]; ++kh)
          for (std::int64_t kw = 0; kw < p.kernel[2]; ++kw) {
            double acc = 0.0;
            for (std::int64_t n = 0; n < p.batch; ++n)
              for (std::int64_t od = 0; od < p.out[0]; ++od)
                for (std::int64_t oh = 0; oh < p.out[1]; ++oh)
                  for (std::int64_t ow = 0; ow < p.out[2]; ++ow) {
                    const double xv = padded_value<T>(
                        p, x, n, g * Cg + c, od * p.stride[0] - p.pad_before[0] + kd * p.dilation[0],
                        oh * p.stride[1] - p.pad_before[1] + kh * p.dilation[1],
                        ow * p.stride[2] - p.pad_before[2] + kw * p.dilation[2]);
                    acc += static_cast<double>(*dy.at<const T>(n, k, od, oh, ow)) * xv;
                  }
            *dw.at<T>(k, c, kd, kh, kw) = static_cast<T>(acc);
          }
    }
  });
}

template <typename T>
void backward_bias_impl(const ConvProblem& p, const View5& dy, const View1& db) {
  parallel_for(p.out_channels, [&](std::int64_t begin, std::int64_t end, int) {
    for (std::int64_t k = begin; k < end; ++k) {
      double acc = 0.0;
      for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t od = 0; od < p.out[0]; ++od)
          for (std::int64_t oh = 0; oh < p.out[1]; ++oh)
            for (std::int64_t ow = 0; ow < p.out[2]; ++ow)
              acc += static_cast<double>(*dy.at<const T>(n, k, od, oh, ow));
      *db.at<T>(k) = static_cast<T>(acc);
    }
  });
}

}  // namespace

std::size_t backward_data_scratch_bytes(const ConvProblem& p) {
  std::int64_t pvol = 1;
  for (int j = 0; j < 3; ++j) pvol *= padded_size(p, j);  // checked when the problem was built
  return static_cast<std::size_t>(pvol + p.in_spatial()) * sizeof(double);
}

void conv_forward(const ConvProblem& p, const View5& x, const View5& w, const View1* bias,
                  const View5& y, bool relu) {
  with_dtype(p.dtype, [&](auto tag) { forward_impl<decltype(tag)>(p, x, w, bias, y, relu); });
}

void conv_backward_data(const ConvProblem& p, const View5& dy, const View5& w, const View1* bias,
                        const View5& dx) {
  with_dtype(p.dtype, [&](auto tag) { backward_data_impl<decltype(tag)>(p, dy, w, bias, dx); });
}

void conv_backward_weights(const ConvProblem& p, const View5& dy, const View5& x,
                           const View5& dw) {
  with_dtype(p.dtype, [&](auto tag) { backward_weights_impl<decltype(tag)>(p, dy, x, dw); });
}

void conv_backward_bias(const ConvProblem& p, const View5& dy, const View1& db) {
  with_dtype(p.dtype, [&](auto tag) { backward_bias_impl<decltype(tag)>(p, dy, db); });
}

}  // namespace convkit::ref
