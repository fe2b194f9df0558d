// tests/cpp/naive_conv.hpp — an independent, deliberately naive convolution oracle for the tests.
//
// Written from the definitions, in a different style from src/ref: arrays are plain row-major
// N-d arrays of doubles (channels first: activations (N, C, *spatial), weights
// (K, C/groups, *kernel)), iterated with a generic odometer over any number of dimensions.
//   * padding first materialises the padded input axis by axis with numpy.pad semantics
//     ('constant' zeros, 'reflect' without repeating the edge, 'edge', 'wrap'; pads longer
//     than the input keep reflecting / wrapping), then forward is the textbook sum over the
//     padded array;
//   * backward-data scatters w·dy into a padded gradient buffer and folds it back through the
//     same padding map (the adjoint of the padding, axis by axis);
//   * backward-weights and backward-bias are the textbook sums;
//   * transposed convolution scatters x·w directly into the (cropped) result, from PyTorch's
//     definition, without going through any forward problem.
// Everything is computed in double. Nothing here includes convkit.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace naive {

using i64 = std::int64_t;
using Shape = std::vector<i64>;

inline i64 element_count(const Shape& s) {
  i64 n = 1;
  for (i64 d : s) n *= d;
  return n;
}

/// A dense row-major N-d array of doubles.
struct Array {
  Shape shape;
  std::vector<double> v;

  Array() = default;
  explicit Array(Shape s, double fill = 0.0)
      : shape(std::move(s)), v(static_cast<std::size_t>(element_count(shape)), fill) {}

  i64 offset(const Shape& idx) const {
    i64 o = 0;
    for (std::size_t i = 0; i < shape.size(); ++i) o = o * shape[i] + idx[i];
    return o;
  }
  double& at(const Shape& idx) { return v[static_cast<std::size_t>(offset(idx))]; }
  double at(const Shape& idx) const { return v[static_cast<std::size_t>(offset(idx))]; }
  i64 size() const { return static_cast<i64>(v.size()); }
};

/// Calls fn(idx) for every multi-index of `shape`, last index fastest.
template <class F>
void for_each_index(const Shape& shape, F&& fn) {
  for (i64 d : shape)
    if (d <= 0) return;
  Shape idx(shape.size(), 0);
  for (;;) {
    fn(static_cast<const Shape&>(idx));
    int i = static_cast<int>(shape.size()) - 1;
    while (i >= 0 && ++idx[i] == shape[i]) idx[i--] = 0;
    if (i < 0) return;
  }
}

/// numpy.pad modes.
enum class Mode { constant, reflect, edge, wrap };

/// Which element of a length-n axis the padded position i (input coordinates) copies, following
/// numpy.pad; -1 for a constant (zero) pad. Written as repeated reflection / wrapping.
inline i64 source_index(i64 i, i64 n, Mode m) {
  switch (m) {
    case Mode::constant:
      return (i >= 0 && i < n) ? i : -1;
    case Mode::edge:
      return i < 0 ? 0 : (i >= n ? n - 1 : i);
    case Mode::wrap:
      while (i < 0) i += n;
      while (i >= n) i -= n;
      return i;
    case Mode::reflect:
      if (n == 1) return 0;  // numpy: reflecting a single element repeats it
      while (i < 0 || i >= n) {
        if (i < 0) i = -i;                 // mirror about element 0
        if (i >= n) i = 2 * (n - 1) - i;   // mirror about element n-1
      }
      return i;
  }
  throw std::logic_error("bad mode");
}

/// Pads axis `axis` of `a` by (before, after) with mode m (numpy.pad on one axis).
inline Array pad_axis(const Array& a, int axis, i64 before, i64 after, Mode m) {
  Shape s = a.shape;
  const i64 n = s[axis];
  s[axis] = n + before + after;
  Array out(s);
  for_each_index(s, [&](const Shape& idx) {
    Shape src = idx;
    src[axis] = source_index(idx[axis] - before, n, m);
    out.at(idx) = src[axis] < 0 ? 0.0 : a.at(src);
  });
  return out;
}

/// The adjoint of pad_axis: adds every padded position onto the element it copied.
inline Array fold_axis(const Array& g, int axis, i64 before, i64 n, Mode m) {
  Shape s = g.shape;
  s[axis] = n;
  Array out(s);
  for_each_index(g.shape, [&](const Shape& idx) {
    Shape dst = idx;
    dst[axis] = source_index(idx[axis] - before, n, m);
    if (dst[axis] >= 0) out.at(dst) += g.at(idx);
  });
  return out;
}

/// The parameters of a convolution, one entry per spatial dimension.
struct Conv {
  i64 groups = 1;
  Shape stride, dilation, pad_before, pad_after;
  Mode mode = Mode::constant;
  int nd() const { return static_cast<int>(stride.size()); }
};

/// Pads the spatial axes (2, 3, ...) of an activation array.
inline Array pad(const Array& x, const Conv& p) {
  Array r = x;
  for (int i = 0; i < p.nd(); ++i) r = pad_axis(r, 2 + i, p.pad_before[i], p.pad_after[i], p.mode);
  return r;
}

/// Folds a padded-gradient array back to the unpadded spatial sizes `in`.
inline Array fold(const Array& g, const Shape& in, const Conv& p) {
  Array r = g;
  for (int i = p.nd() - 1; i >= 0; --i) r = fold_axis(r, 2 + i, p.pad_before[i], in[i], p.mode);
  return r;
}

/// floor((in + pads − dilation·(k − 1) − 1) / stride) + 1, or 0 when the kernel does not fit.
inline i64 out_size(i64 in, i64 k, i64 s, i64 d, i64 pb, i64 pa) {
  const i64 padded = in + pb + pa, extent = d * (k - 1) + 1;
  if (extent > padded) return 0;
  return (padded - extent) / s + 1;
}

inline Shape spatial(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

inline Shape out_spatial(const Shape& in, const Shape& k, const Conv& p) {
  Shape o(in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    o[i] = out_size(in[i], k[i], p.stride[i], p.dilation[i], p.pad_before[i], p.pad_after[i]);
  return o;
}

inline Shape cat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// y[n,k,o] = Σ_{c,t} w[k,c,t] · xpad[n, g·Cg + c, o·s + t·d]  (+ b[k])
inline Array forward(const Array& x, const Array& w, const Array* b, const Conv& p) {
  const i64 N = x.shape[0], K = w.shape[0], Cg = w.shape[1];
  const i64 Kg = K / p.groups;
  const Shape ks = spatial(w.shape);
  const Array xp = pad(x, p);
  Array y(cat({N, K}, out_spatial(spatial(x.shape), ks, p)));
  const Shape wtaps = cat({Cg}, ks);
  for_each_index(y.shape, [&](const Shape& yi) {
    const i64 n = yi[0], k = yi[1], g = k / Kg;
    double sum = 0.0;
    for_each_index(wtaps, [&](const Shape& ct) {
      Shape xi{n, g * Cg + ct[0]};
      for (int i = 0; i < p.nd(); ++i) xi.push_back(yi[2 + i] * p.stride[i] + ct[1 + i] * p.dilation[i]);
      sum += w.at(cat({k}, ct)) * xp.at(xi);
    });
    y.at(yi) = b ? sum + b->v[k] : sum;
  });
  return y;
}

/// dx = fold(scatter of w·dy into the padded input); `in` is the input's spatial size.
inline Array backward_data(const Array& dy, const Array& w, const Shape& in, const Conv& p) {
  const i64 N = dy.shape[0], K = w.shape[0], Cg = w.shape[1];
  const i64 Kg = K / p.groups, C = Cg * p.groups;
  Shape padded(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) padded[i] = in[i] + p.pad_before[i] + p.pad_after[i];
  Array gp(cat({N, C}, padded));
  const Shape wtaps = cat({Cg}, spatial(w.shape));
  for_each_index(dy.shape, [&](const Shape& yi) {
    const i64 n = yi[0], k = yi[1], g = k / Kg;
    const double gy = dy.at(yi);
    for_each_index(wtaps, [&](const Shape& ct) {
      Shape xi{n, g * Cg + ct[0]};
      for (int i = 0; i < p.nd(); ++i) xi.push_back(yi[2 + i] * p.stride[i] + ct[1 + i] * p.dilation[i]);
      gp.at(xi) += w.at(cat({k}, ct)) * gy;
    });
  });
  return fold(gp, in, p);
}

/// dw[k,c,t] = Σ_{n,o} dy[n,k,o] · xpad[n, g·Cg + c, o·s + t·d]; `ks` is the kernel's spatial size.
inline Array backward_weights(const Array& dy, const Array& x, const Shape& ks, const Conv& p) {
  const i64 K = dy.shape[1], C = x.shape[1];
  const i64 Cg = C / p.groups, Kg = K / p.groups;
  const Array xp = pad(x, p);
  Array dw(cat({K, Cg}, ks));
  const Shape wtaps = cat({Cg}, ks);
  for_each_index(dy.shape, [&](const Shape& yi) {
    const i64 n = yi[0], k = yi[1], g = k / Kg;
    const double gy = dy.at(yi);
    for_each_index(wtaps, [&](const Shape& ct) {
      Shape xi{n, g * Cg + ct[0]};
      for (int i = 0; i < p.nd(); ++i) xi.push_back(yi[2 + i] * p.stride[i] + ct[1 + i] * p.dilation[i]);
      dw.at(cat({k}, ct)) += gy * xp.at(xi);
    });
  });
  return dw;
}

/// db[k] = Σ_{n,o} dy[n,k,o]
inline Array backward_bias(const Array& dy) {
  Array db(Shape{dy.shape[1]});
  for_each_index(dy.shape, [&](const Shape& yi) { db.v[yi[1]] += dy.at(yi); });
  return db;
}

/// PyTorch's transposed-convolution output size.
inline i64 transposed_out_size(i64 in, i64 k, i64 s, i64 d, i64 pb, i64 pa, i64 op) {
  return (in - 1) * s - pb - pa + d * (k - 1) + op + 1;
}

/// y = conv_transpose(x, w) + b, x (N, Cin, *in), w (Cin, Cout/groups, *k): every x element
/// scatters x·w onto positions i·s − pad_before + t·d; positions outside the result are dropped.
inline Array conv_transpose(const Array& x, const Array& w, const Array* b, i64 groups,
                            const Shape& s, const Shape& d, const Shape& pb, const Shape& pa,
                            const Shape& op) {
  const i64 N = x.shape[0], Cin = x.shape[1], Coutg = w.shape[1];
  const i64 Cing = Cin / groups;
  const Shape in = spatial(x.shape), ks = spatial(w.shape);
  const int nd = static_cast<int>(in.size());
  Shape out(nd);
  for (int i = 0; i < nd; ++i) out[i] = transposed_out_size(in[i], ks[i], s[i], d[i], pb[i], pa[i], op[i]);
  Array y(cat({N, Coutg * groups}, out));
  const Shape taps = cat({Coutg}, ks);
  for_each_index(x.shape, [&](const Shape& xi) {
    const i64 n = xi[0], ci = xi[1], g = ci / Cing;
    const double xv = x.at(xi);
    for_each_index(taps, [&](const Shape& ct) {
      Shape yi{n, g * Coutg + ct[0]};
      for (int i = 0; i < nd; ++i) {
        const i64 pos = xi[2 + i] * s[i] - pb[i] + ct[1 + i] * d[i];
        if (pos < 0 || pos >= out[i]) return;
        yi.push_back(pos);
      }
      y.at(yi) += xv * w.at(cat({ci}, ct));
    });
  });
  if (b)
    for_each_index(y.shape, [&](const Shape& yi) { y.at(yi) += b->v[yi[1]]; });
  return y;
}

}  // namespace naive
