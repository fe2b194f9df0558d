// src/core/problem.cpp — validation and resolution of convolution descriptors.
//
// Turns a user's ConvDesc (or ConvTransposeDesc) into a ConvProblem with explicit pads and
// output sizes. This is the one place where arguments are checked: every later stage may
// assume a ConvProblem is consistent and that all its sizes fit in 64-bit arithmetic.
#include <algorithm>
#include <sstream>

#include "convkit/conv.hpp"
#include "convkit/error.hpp"
#include "core/checked.hpp"

namespace convkit {

using detail::checked_add;
using detail::checked_mul;

namespace {

const char* const kDimNames[3][3] = {{"", "", "w"}, {"", "h", "w"}, {"d", "h", "w"}};

std::string dim_label(int spatial_dims, int i) {
  // i indexes the spatial_dims user-facing dimensions.
  static const char* names1[] = {"W"};
  static const char* names2[] = {"H", "W"};
  static const char* names3[] = {"D", "H", "W"};
  const char* n = spatial_dims == 1 ? names1[i] : spatial_dims == 2 ? names2[i] : names3[i];
  return std::string("spatial dimension ") + std::to_string(i) + " (" + n + ")";
}

std::string vec_to_string(const std::vector<std::int64_t>& v) { return shape_to_string(v); }

// Expands a per-dimension vector: empty → default, one value → broadcast, else exactly nd.
std::vector<std::int64_t> per_dim(const std::vector<std::int64_t>& v, int nd, std::int64_t dflt,
                                  const char* name) {
  if (v.empty()) return std::vector<std::int64_t>(nd, dflt);
  if (v.size() == 1) return std::vector<std::int64_t>(nd, v[0]);
  if (static_cast<int>(v.size()) != nd)
    throw InvalidArgument(std::string(name) + ": got " + std::to_string(v.size()) + " values " +
                          vec_to_string(v) + ", expected 1 or " + std::to_string(nd) +
                          " (one per spatial dimension)");
  return v;
}

void check_spatial_dims(int nd) {
  if (nd < 1 || nd > 3)
    throw InvalidArgument("spatial_dims: got " + std::to_string(nd) + ", expected 1, 2 or 3");
}

void check_positive(std::int64_t v, const char* name) {
  if (v < 1)
    throw InvalidArgument(std::string(name) + ": got " + std::to_string(v) + ", expected >= 1");
}

void check_channels_and_groups(std::int64_t cin, std::int64_t cout, std::int64_t groups,
                               const char* cin_name, const char* cout_name) {
  check_positive(cin, cin_name);
  check_positive(cout, cout_name);
  check_positive(groups, "groups");
  if (cin % groups != 0)
    throw InvalidArgument(std::string(cin_name) + " (" + std::to_string(cin) +
                          ") must be divisible by groups (" + std::to_string(groups) + ")");
  if (cout % groups != 0)
    throw InvalidArgument(std::string(cout_name) + " (" + std::to_string(cout) +
                          ") must be divisible by groups (" + std::to_string(groups) + ")");
}

// per_dim with default 1, every value >= 1 (stride, dilation).
std::vector<std::int64_t> positive_per_dim(const std::vector<std::int64_t>& v, int nd,
                                           const char* name);

std::vector<std::int64_t> checked_sizes(const std::vector<std::int64_t>& v, int nd,
                                        const char* name) {
  if (static_cast<int>(v.size()) != nd)
    throw InvalidArgument(std::string(name) + ": got " + std::to_string(v.size()) + " values " +
                          vec_to_string(v) + ", expected " + std::to_string(nd) +
                          " (one per spatial dimension)");
  for (int i = 0; i < nd; ++i)
    if (v[i] < 1)
      throw InvalidArgument(std::string(name) + ": got " + std::to_string(v[i]) + " in " +
                            dim_label(nd, i) + ", expected >= 1");
  return v;
}

// Explicit pad pairs for a padding request; `same` uses TensorFlow's rule.
std::vector<std::pair<std::int64_t, std::int64_t>> resolve_padding(
    const Padding& p, int nd, const std::vector<std::int64_t>& in,
    const std::vector<std::int64_t>& k, const std::vector<std::int64_t>& s,
    const std::vector<std::int64_t>& d) {
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs(nd, {0, 0});
  switch (p.kind) {
    case Padding::Kind::valid:
      return pairs;
    case Padding::Kind::same:
      for (int i = 0; i < nd; ++i) {
        const std::int64_t out = in[i] / s[i] + (in[i] % s[i] != 0);  // ceil(in / stride)
        const std::int64_t extent = checked_add(
            checked_mul(d[i], k[i] - 1, "dilated kernel extent"), 1, "dilated kernel extent");
        const std::int64_t need = checked_add(checked_mul(out - 1, s[i], "'same' padding"),
                                              extent - in[i], "'same' padding");
        const std::int64_t total = std::max<std::int64_t>(need, 0);
        pairs[i] = {total / 2, total - total / 2};
      }
      return pairs;
    case Padding::Kind::explicit_pairs:
      break;
  }
  if (p.pairs.empty()) return pairs;
  if (p.pairs.size() == 1) {
    pairs.assign(nd, p.pairs[0]);
  } else if (static_cast<int>(p.pairs.size()) == nd) {
    pairs = p.pairs;
  } else {
    throw InvalidArgument("padding: got " + std::to_string(p.pairs.size()) +
                          " (before, after) pairs, expected 1 or " + std::to_string(nd) +
                          " (one per spatial dimension)");
  }
  for (int i = 0; i < nd; ++i)
    if (pairs[i].first < 0 || pairs[i].second < 0)
      throw InvalidArgument("padding: got (" + std::to_string(pairs[i].first) + ", " +
                            std::to_string(pairs[i].second) + ") in " + dim_label(nd, i) +
                            ", expected values >= 0");
  return pairs;
}

// floor((in + pb + pa − extent) / stride) + 1 with extent = dilation·(kernel − 1) + 1, for
// validated positive sizes and non-negative pads; ShapeError when the output would be empty.
std::int64_t output_size_1d(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d,
                            std::int64_t pb, std::int64_t pa, const std::string& where) {
  const std::int64_t padded =
      checked_add(checked_add(in, pb, "padded input size"), pa, "padded input size");
  const std::int64_t extent =
      checked_add(checked_mul(d, k - 1, "dilated kernel extent"), 1, "dilated kernel extent");
  if (extent > padded)
    throw ShapeError("kernel_size: the dilated kernel extent " + std::to_string(extent) +
                     " (kernel " + std::to_string(k) + ", dilation " + std::to_string(d) +
                     ") is larger than the padded input " + std::to_string(padded) + " (input " +
                     std::to_string(in) + " + padding " + std::to_string(pb) + " + " +
                     std::to_string(pa) + ") in " + where + "; the output would be empty");
  return (padded - extent) / s + 1;
}

std::vector<std::int64_t> positive_per_dim(const std::vector<std::int64_t>& v, int nd,
                                           const char* name) {
  auto r = per_dim(v, nd, 1, name);
  for (int i = 0; i < nd; ++i)
    if (r[i] < 1)
      throw InvalidArgument(std::string(name) + ": got " + std::to_string(r[i]) + " in " +
                            dim_label(nd, i) + ", expected >= 1");
  return r;
}

void check_bytes(std::int64_t elements, DType t, const char* what) {
  checked_mul(elements, static_cast<std::int64_t>(dtype_size(t)), what);
}

}  // namespace

Padding Padding::symmetric(const std::vector<std::int64_t>& pads) {
  Padding p;
  for (auto v : pads) p.pairs.emplace_back(v, v);
  return p;
}

Padding Padding::explicit_pairs(std::vector<std::pair<std::int64_t, std::int64_t>> pairs) {
  Padding p;
  p.pairs = std::move(pairs);
  return p;
}

const char* layout_name(Layout l, int nd) {
  static const char* first[] = {"NCW", "NCHW", "NCDHW"};
  static const char* last[] = {"NWC", "NHWC", "NDHWC"};
  if (nd < 1 || nd > 3) return "?";
  return l == Layout::channels_first ? first[nd - 1] : last[nd - 1];
}

Layout parse_layout(const std::string& name, int nd) {
  check_spatial_dims(nd);
  if (name == layout_name(Layout::channels_first, nd)) return Layout::channels_first;
  if (name == layout_name(Layout::channels_last, nd)) return Layout::channels_last;
  throw InvalidArgument("layout: got '" + name + "', expected '" +
                        layout_name(Layout::channels_first, nd) + "' or '" +
                        layout_name(Layout::channels_last, nd) + "' for " + std::to_string(nd) +
                        " spatial dimension" + (nd > 1 ? "s" : ""));
}

const char* padding_mode_name(PaddingMode m) {
  switch (m) {
    case PaddingMode::zeros: return "zeros";
    case PaddingMode::reflect: return "reflect";
    case PaddingMode::replicate: return "replicate";
    case PaddingMode::circular: return "circular";
  }
  return "?";
}

PaddingMode parse_padding_mode(const std::string& name) {
  for (auto m : {PaddingMode::zeros, PaddingMode::reflect, PaddingMode::replicate,
                 PaddingMode::circular})
    if (name == padding_mode_name(m)) return m;
  throw InvalidArgument("padding_mode: got '" + name +
                        "', expected 'zeros', 'reflect', 'replicate' or 'circular'");
}

const char* direction_name(Direction d) {
  switch (d) {
    case Direction::forward: return "forward";
    case Direction::backward_data: return "backward_data";
    case Direction::backward_weights: return "backward_weights";
    case Direction::backward_bias: return "backward_bias";
  }
  return "?";
}

ConvProblem::ConvProblem(const ConvDesc& desc) {
  const int nd = desc.spatial_dims;
  check_spatial_dims(nd);
  if (desc.batch < 0)
    throw InvalidArgument("batch: got " + std::to_string(desc.batch) + ", expected >= 0");
  check_channels_and_groups(desc.in_channels, desc.out_channels, desc.groups, "in_channels",
                            "out_channels");
  const auto in_v = checked_sizes(desc.input_size, nd, "input_size");
  const auto k_v = checked_sizes(desc.kernel_size, nd, "kernel_size");
  const auto s_v = positive_per_dim(desc.stride, nd, "stride");
  const auto d_v = positive_per_dim(desc.dilation, nd, "dilation");
  const auto pads = resolve_padding(desc.padding, nd, in_v, k_v, s_v, d_v);

  spatial_dims = nd;
  batch = desc.batch;
  in_channels = desc.in_channels;
  out_channels = desc.out_channels;
  groups = desc.groups;
  padding_mode = desc.padding_mode;
  layout = desc.layout;
  dtype = desc.dtype;
  const int off = 3 - nd;
  for (int i = 0; i < 3; ++i) {
    in[i] = kernel[i] = stride[i] = dilation[i] = out[i] = 1;
    pad_before[i] = pad_after[i] = 0;
  }
  for (int i = 0; i < nd; ++i) {
    const int j = off + i;
    in[j] = in_v[i];
    kernel[j] = k_v[i];
    stride[j] = s_v[i];
    dilation[j] = d_v[i];
    pad_before[j] = pads[i].first;
    pad_after[j] = pads[i].second;
    out[j] = output_size_1d(in[j], kernel[j], stride[j], dilation[j], pad_before[j],
                            pad_after[j], dim_label(nd, i));
  }
  // Every tensor's byte size and the work must fit in 64 bits.
  const std::int64_t in_sp = checked_mul(checked_mul(in[0], in[1], "input size"), in[2], "input size");
  const std::int64_t out_sp =
      checked_mul(checked_mul(out[0], out[1], "output size"), out[2], "output size");
  const std::int64_t k_sp =
      checked_mul(checked_mul(kernel[0], kernel[1], "kernel size"), kernel[2], "kernel size");
  check_bytes(checked_mul(checked_mul(batch, in_channels, "input size"), in_sp, "input size"),
              dtype, "input bytes");
  check_bytes(checked_mul(checked_mul(batch, out_channels, "output size"), out_sp, "output size"),
              dtype, "output bytes");
  check_bytes(checked_mul(checked_mul(out_channels, in_channels_per_group(), "weight size"), k_sp,
                          "weight size"),
              dtype, "weight bytes");
  // Padded input volume is the reference engine's backward-data scratch.
  std::int64_t padded_vol = 1;
  for (int j = 0; j < 3; ++j)
    padded_vol = checked_mul(padded_vol, in[j] + pad_before[j] + pad_after[j], "padded input size");
  checked_mul(padded_vol, 16, "padded input bytes");
  (void)macs();
}

std::int64_t ConvProblem::macs() const {
  std::int64_t m = checked_mul(batch, out_channels, "multiply-add count");
  m = checked_mul(m, out_spatial(), "multiply-add count");
  m = checked_mul(m, in_channels_per_group(), "multiply-add count");
  return checked_mul(m, kernel_spatial(), "multiply-add count");
}

std::vector<std::int64_t> ConvProblem::input_shape() const {
  std::vector<std::int64_t> s{batch};
  if (layout == Layout::channels_first) s.push_back(in_channels);
  for (int j = 3 - spatial_dims; j < 3; ++j) s.push_back(in[j]);
  if (layout == Layout::channels_last) s.push_back(in_channels);
  return s;
}

std::vector<std::int64_t> ConvProblem::output_shape() const {
  std::vector<std::int64_t> s{batch};
  if (layout == Layout::channels_first) s.push_back(out_channels);
  for (int j = 3 - spatial_dims; j < 3; ++j) s.push_back(out[j]);
  if (layout == Layout::channels_last) s.push_back(out_channels);
  return s;
}

std::vector<std::int64_t> ConvProblem::weight_shape() const {
  std::vector<std::int64_t> s{out_channels, in_channels_per_group()};
  for (int j = 3 - spatial_dims; j < 3; ++j) s.push_back(kernel[j]);
  return s;
}

std::string ConvProblem::to_string() const {
  std::ostringstream o;
  o << layout_name(layout, spatial_dims) << ' ' << (dtype == DType::f32 ? "f32" : "f64") << ' '
    << "mb" << batch << "ic" << in_channels << "oc" << out_channels;
  if (groups != 1) o << 'g' << groups;
  const int off = 3 - spatial_dims;
  for (int j = off; j < 3; ++j) o << 'i' << kDimNames[spatial_dims - 1][j] << in[j];
  for (int j = off; j < 3; ++j) o << 'o' << kDimNames[spatial_dims - 1][j] << out[j];
  for (int j = off; j < 3; ++j) o << 'k' << kDimNames[spatial_dims - 1][j] << kernel[j];
  for (int j = off; j < 3; ++j) o << 's' << kDimNames[spatial_dims - 1][j] << stride[j];
  for (int j = off; j < 3; ++j) o << 'd' << kDimNames[spatial_dims - 1][j] << dilation[j];
  for (int j = off; j < 3; ++j)
    o << 'p' << kDimNames[spatial_dims - 1][j] << pad_before[j] << '_' << pad_after[j];
  if (padding_mode != PaddingMode::zeros) o << " pad=" << padding_mode_name(padding_mode);
  return o.str();
}

std::string ConvProblem::key() const { return to_string(); }

std::int64_t conv_output_size(std::int64_t input, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad_before, std::int64_t pad_after,
                              std::int64_t dilation) {
  const std::vector<std::int64_t> in_v = checked_sizes({input}, 1, "input_size");
  const std::vector<std::int64_t> k_v = checked_sizes({kernel}, 1, "kernel_size");
  const std::vector<std::int64_t> s_v = {stride}, d_v = {dilation};
  const auto pads = resolve_padding(Padding::explicit_pairs({{pad_before, pad_after}}), 1, in_v,
                                    k_v, s_v, d_v);
  if (stride < 1)
    throw InvalidArgument("stride: got " + std::to_string(stride) + ", expected >= 1");
  if (dilation < 1)
    throw InvalidArgument("dilation: got " + std::to_string(dilation) + ", expected >= 1");
  return output_size_1d(input, kernel, stride, dilation, pads[0].first, pads[0].second,
                        "the dimension");
}

ConvProblem transposed_to_forward(const ConvTransposeDesc& t) {
  const int nd = t.spatial_dims;
  check_spatial_dims(nd);
  check_channels_and_groups(t.in_channels, t.out_channels, t.groups, "in_channels",
                            "out_channels");
  if (t.batch < 0)
    throw InvalidArgument("batch: got " + std::to_string(t.batch) + ", expected >= 0");
  const auto in_v = checked_sizes(t.input_size, nd, "input_size");
  const auto k_v = checked_sizes(t.kernel_size, nd, "kernel_size");
  const auto s_v = positive_per_dim(t.stride, nd, "stride");
  const auto d_v = positive_per_dim(t.dilation, nd, "dilation");
  const auto op_v = per_dim(t.output_padding, nd, 0, "output_padding");
  if (t.padding.kind != Padding::Kind::explicit_pairs)
    throw InvalidArgument(
        "padding: 'same' and 'valid' are not defined for transposed convolution; give explicit "
        "padding");
  const auto pads = resolve_padding(t.padding, nd, in_v, k_v, s_v, d_v);
  std::vector<std::int64_t> fwd_in(nd);
  for (int i = 0; i < nd; ++i) {
    const std::int64_t op = op_v[i];
    if (op < 0 || (op >= s_v[i] && op >= d_v[i]))
      throw InvalidArgument(
          "output_padding: got " + std::to_string(op) + " in " + dim_label(nd, i) +
          ", expected 0 <= output_padding < max(stride, dilation) = " +
          std::to_string(std::max(s_v[i], d_v[i])) +
          " (it only selects among the output sizes that map to the same input size)");
    // (in − 1)·stride − pads + dilation·(k − 1) + output_padding + 1
    std::int64_t full = checked_mul(in_v[i] - 1, s_v[i], "transposed output size");
    full = checked_add(full, checked_mul(d_v[i], k_v[i] - 1, "dilated kernel extent"),
                       "transposed output size");
    full = checked_add(full, op + 1, "transposed output size");
    // Both pads are >= 0 here, so comparing them one at a time cannot overflow.
    const std::int64_t pb = pads[i].first, pa = pads[i].second;
    if (pb >= full || pa >= full - pb) {
      std::int64_t size;
      const bool fits = !__builtin_sub_overflow(full - pb, pa, &size);
      throw ShapeError("padding: got (" + std::to_string(pb) + ", " + std::to_string(pa) +
                       ") in " + dim_label(nd, i) +
                       ", which leaves the transposed convolution's output empty" +
                       (fits ? " (size " + std::to_string(size) + ")" : std::string()) +
                       ": it must total "
                       "less than (input − 1)·stride + dilation·(kernel − 1) + output_padding + "
                       "1 = " + std::to_string(full));
    }
    fwd_in[i] = full - pb - pa;
  }
  ConvDesc f;
  f.spatial_dims = nd;
  f.batch = t.batch;
  f.in_channels = t.out_channels;
  f.out_channels = t.in_channels;
  f.groups = t.groups;
  f.input_size = fwd_in;
  f.kernel_size = k_v;
  f.stride = s_v;
  f.dilation = d_v;
  f.padding = Padding::explicit_pairs(pads);
  f.layout = t.layout;
  f.dtype = t.dtype;
  ConvProblem p(f);
  for (int i = 0; i < nd; ++i) {
    // output_padding may reach stride when dilation > stride (PyTorch allows it): the forward
    // problem then has floor(op / stride) extra output rows that no input of the transposed
    // convolution feeds. Cropping the forward problem's trailing padding (possibly below zero,
    // which the engines treat as input rows no window reads) restores out == input_size.
    const int j = 3 - nd + i;
    const std::int64_t extra = op_v[i] / s_v[i];
    p.pad_after[j] -= extra * s_v[i];
    p.out[j] -= extra;
    if (p.out[j] != in_v[i])  // cannot happen for a valid output_padding
      throw InvalidArgument("output_padding: inconsistent with input_size in " + dim_label(nd, i));
  }
  return p;
}

}  // namespace convkit
