// convkit/conv.hpp — CNN convolution: problem descriptors, plans and one-shot functions.
//
// The flow is descriptor → plan → execute:
//   ConvDesc      what the user asks for (sizes, stride, padding spec, layout, dtype);
//   ConvProblem   the validated, fully resolved problem (explicit per-dimension pads, output
//                 sizes); constructing one checks every argument and all size arithmetic;
//   ConvPlan      one problem and one direction with an algorithm chosen from an ordered list
//                 (ending in the reference engine), its precomputed state and scratch size;
//                 executing it allocates nothing beyond a reused per-thread arena.
// The one-shot functions at the bottom build plans through a small thread-safe cache.
//
// Semantics are PyTorch's: cross-correlation, weights (K, C/groups, *kernel), transposed
// convolution weights (C_in, C_out/groups, *kernel). Results are bitwise identical for any
// thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convkit/tensor.hpp"

namespace convkit {

enum class Layout {
  channels_first,  // NCW, NCHW, NCDHW
  channels_last,   // NWC, NHWC, NDHWC
};

/// How values outside the input are made up (numpy.pad's 'constant' 0, 'reflect', 'edge', 'wrap').
enum class PaddingMode { zeros, reflect, replicate, circular };

enum class Direction { forward, backward_data, backward_weights, backward_bias };

const char* layout_name(Layout l, int spatial_dims);  // "NCHW", "NDHWC", ...
const char* padding_mode_name(PaddingMode m);
const char* direction_name(Direction d);
/// Parses "NCHW"/"NHWC"/... and checks it names `spatial_dims` spatial dimensions.
Layout parse_layout(const std::string& name, int spatial_dims);
/// Parses "zeros", "reflect", "replicate", "circular".
PaddingMode parse_padding_mode(const std::string& name);

/// A padding request: explicit (before, after) pairs per spatial dimension, or a rule.
struct Padding {
  enum class Kind { explicit_pairs, same, valid };
  Kind kind = Kind::explicit_pairs;
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;  // one per spatial dim (explicit)

  static Padding same() { return Padding{Kind::same, {}}; }
  static Padding valid() { return Padding{Kind::valid, {}}; }
  /// The same pad before and after, per dimension (one value is broadcast to all dims).
  static Padding symmetric(const std::vector<std::int64_t>& pads);
  static Padding explicit_pairs(std::vector<std::pair<std::int64_t, std::int64_t>> pairs);
};

/// What a user asks for. Vectors of per-dimension values may hold one value (broadcast to
/// every spatial dimension) or exactly `spatial_dims` values; empty means the default 1.
struct ConvDesc {
  int spatial_dims = 2;  // 1, 2 or 3
  std::int64_t batch = 1;
  std::int64_t in_channels = 1;
  std::int64_t out_channels = 1;
  std::int64_t groups = 1;
  std::vector<std::int64_t> input_size;   // spatial, spatial_dims values
  std::vector<std::int64_t> kernel_size;  // spatial, spatial_dims values
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> dilation;
  Padding padding;  // default: no padding
  PaddingMode padding_mode = PaddingMode::zeros;
  Layout layout = Layout::channels_first;
  DType dtype = DType::f32;
};

/// A validated problem. All spatial arrays have 3 entries: a problem with fewer spatial
/// dimensions is stored with leading dimensions of size 1 (so 1-D uses only index 2).
class ConvProblem {
 public:
  /// Validates `desc`; throws InvalidArgument/ShapeError/SizeOverflow with a precise message.
  explicit ConvProblem(const ConvDesc& desc);

  int spatial_dims;
  std::int64_t batch, in_channels, out_channels, groups;
  std::int64_t in[3], kernel[3], stride[3], dilation[3], pad_before[3], pad_after[3], out[3];
  PaddingMode padding_mode;
  Layout layout;
  DType dtype;

  std::int64_t in_channels_per_group() const { return in_channels / groups; }
  std::int64_t out_channels_per_group() const { return out_channels / groups; }
  std::int64_t in_spatial() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_spatial() const { return out[0] * out[1] * out[2]; }
  std::int64_t kernel_spatial() const { return kernel[0] * kernel[1] * kernel[2]; }
  /// Multiply-adds of the forward pass (padding taps included), as in benchdnn.
  std::int64_t macs() const;

  /// Physical shapes in the problem's layout.
  std::vector<std::int64_t> input_shape() const;
  std::vector<std::int64_t> output_shape() const;
  std::vector<std::int64_t> weight_shape() const;  // (K, C/groups, *kernel)

  /// A one-line description, e.g.
  /// "NCHW f32 mb2ic3oc3ih4iw4oh2ow2kh4kw4sh2sw2dh1dw1ph1_1pw1_1" (pads as before_after).
  std::string to_string() const;
  /// A key equal for equal problems (used by the plan cache).
  std::string key() const;
};

/// Transposed convolution (PyTorch's conv_transpose semantics).
struct ConvTransposeDesc {
  int spatial_dims = 2;
  std::int64_t batch = 1;
  std::int64_t in_channels = 1;   // channels of x
  std::int64_t out_channels = 1;  // channels of the result
  std::int64_t groups = 1;
  std::vector<std::int64_t> input_size;
  std::vector<std::int64_t> kernel_size;
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> dilation;
  Padding padding;  // explicit pairs only: the padding of the matching forward convolution
  std::vector<std::int64_t> output_padding;
  Layout layout = Layout::channels_first;
  DType dtype = DType::f32;
};

/// The forward convolution whose backward-data pass is the transposed convolution `t`:
/// its input size is the transposed result size, its output size is t's input size.
/// Throws when output_padding is impossible, saying why.
ConvProblem transposed_to_forward(const ConvTransposeDesc& t);

/// Options for planning.
/// An element-wise function fused into the forward pass's write-back (after the bias):
/// relu(v) = v < 0 ? 0 : v (NaN stays NaN, as torch.relu).
enum class Activation { none, relu };
const char* activation_name(Activation a);
/// "none" / "relu" (InvalidArgument naming the accepted values otherwise).
Activation parse_activation(const std::string& s);

struct PlanOptions {
  /// "auto" walks the ordered algorithm list; any algorithm name forces that algorithm
  /// (UnsupportedError with its reason if it declines the problem).
  std::string algorithm = "auto";
  /// Most extra memory (bytes, all threads together) the algorithm may use; -1 means the
  /// process-wide limit (set_workspace_limit, else CONVKIT_WORKSPACE_LIMIT, else none). `auto`
  /// skips algorithms that need more; a forced algorithm that needs more throws OutOfMemory
  /// naming both sizes. Checked when planning, before anything is allocated.
  std::int64_t workspace_limit = -1;
  /// When true, "auto" considers only algorithms that sum products directly (every output is
  /// Σ x·w rounded as direct summation rounds it; integer-valued data gives exact results),
  /// so it never picks "winograd". A forced algorithm is run whatever this says.
  bool direct_summation_only = false;
};

namespace detail {
class Algorithm;
}

/// Weights prepared once by ConvPlan::pack_weights for many forward calls of equal plans: a
/// copy of the weights plus what the plan's algorithm precomputes from them (Winograd: the
/// transformed filters, 4× the weights, which otherwise cost ~3.5 ns per channel pair on
/// every call). Immutable, cheap to copy (shared), usable from any thread.
class PackedWeights {
 public:
  PackedWeights() = default;
  /// Bytes held (the copy of the weights and the algorithm's packed form).
  std::size_t bytes() const;
  bool empty() const { return impl_ == nullptr; }

 private:
  friend class ConvPlan;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// A problem, a direction and the algorithm chosen for them. Immutable and safe to share
/// between threads; execution is const.
class ConvPlan {
 public:
  ConvPlan(const ConvProblem& problem, Direction direction, const PlanOptions& options = {});
  ~ConvPlan();
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;

  const ConvProblem& problem() const { return problem_; }
  Direction direction() const { return direction_; }
  /// The printable name of the chosen algorithm, e.g. "reference".
  std::string algorithm_name() const;
  /// Which algorithm was chosen and why the ones before it in the list declined.
  std::string explain() const;
  /// Scratch bytes one execution needs per worker thread (taken from a reused per-thread arena).
  std::size_t workspace_bytes_per_thread() const;

  /// y = act(conv(x, w) + bias). `bias` may be null. Shapes in the problem's layout. The
  /// activation is applied as each output is written (no second pass over y).
  void forward(const TensorView& x, const TensorView& w, const TensorView* bias,
               const TensorView& y, Activation act = Activation::none) const;
  /// Prepares w for many forward calls (a forward plan only): the result is a snapshot (later
  /// changes to w's memory do not reach it) that any plan for the same problem, direction and
  /// algorithm accepts.
  PackedWeights pack_weights(const TensorView& w) const;
  /// The same as forward(x, w, ...) for the weights `w` was packed from, bitwise.
  /// InvalidArgument when w was packed by a plan for another problem or algorithm.
  void forward(const TensorView& x, const PackedWeights& w, const TensorView* bias,
               const TensorView& y, Activation act = Activation::none) const;
  /// dx = gradient of the forward result with respect to x, given dy. A non-null `bias`
  /// (length C) is added to every element of channel c: that is the transposed convolution.
  void backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,
                     const TensorView* bias = nullptr) const;
  /// dw = gradient with respect to the weights, given dy and x.
  void backward_weights(const TensorView& dy, const TensorView& x, const TensorView& dw) const;
  /// db = gradient with respect to the bias (dy summed over batch and space).
  void backward_bias(const TensorView& dy, const TensorView& db) const;

 private:
  void require(Direction d, const char* fn) const;
  void forward_impl(const TensorView& x, const TensorView& w, const TensorView* bias,
                    const TensorView& y, Activation act, const void* packed) const;
  ConvProblem problem_;
  Direction direction_;
  const detail::Algorithm* algorithm_;
  std::string explanation_;
  std::shared_ptr<void> state_;  // algorithm-specific precomputed state
};

// ---- one-shot functions (cached plans) ---------------------------------------------------

void conv_forward(const ConvDesc& desc, const TensorView& x, const TensorView& w,
                  const TensorView* bias, const TensorView& y, const PlanOptions& options = {},
                  Activation act = Activation::none);
void conv_backward_data(const ConvDesc& desc, const TensorView& dy, const TensorView& w,
                        const TensorView& dx, const PlanOptions& options = {});
void conv_backward_weights(const ConvDesc& desc, const TensorView& dy, const TensorView& x,
                           const TensorView& dw, const PlanOptions& options = {});
void conv_backward_bias(const ConvDesc& desc, const TensorView& dy, const TensorView& db);
/// y = conv_transpose(x, w) + bias; w is (C_in, C_out/groups, *kernel).
void conv_transpose(const ConvTransposeDesc& desc, const TensorView& x, const TensorView& w,
                    const TensorView* bias, const TensorView& y, const PlanOptions& options = {});
/// The shape of conv_transpose's result for `desc`, in its layout.
std::vector<std::int64_t> conv_transpose_output_shape(const ConvTransposeDesc& desc);

/// A shared plan from the process-wide cache (at most 64 plans, least recently used dropped).
std::shared_ptr<const ConvPlan> cached_plan(const ConvProblem& problem, Direction direction,
                                            const PlanOptions& options = {});

/// floor((input + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride) + 1;
/// throws InvalidArgument if an argument is out of range or the result would be < 1.
std::int64_t conv_output_size(std::int64_t input, std::int64_t kernel, std::int64_t stride = 1,
                              std::int64_t pad_before = 0, std::int64_t pad_after = 0,
                              std::int64_t dilation = 1);

/// Names of all algorithms in dispatch order (the last is "reference").
std::vector<std::string> algorithm_names();

/// Whether the named algorithm's results may differ from direct summation by more than its
/// rounding (InvalidArgument for an unknown name). Only "winograd" is: Winograd F(4×4, 3×3)
/// for float32 3×3 stride-1 convolutions, which "auto" may choose unless
/// PlanOptions::direct_summation_only is set. Its error bound, checked by the tests: every
/// output y (before the bias) of a problem with C input channels per group satisfies
///   |y − y_exact| ≤ 2⁻²⁴ · 2304 · (C + 32) · max|x| · max|w_k|
/// (2304 is the worst-case growth of the 6×6 transforms, Σ|Aᵀ|·|G|·|Bᵀ| products; w_k the
/// output channel's filter). Measured on random data the error is far smaller, about
/// 2⁻²⁴ · 25 · max|x| · Σ|w_k| (5–20× direct summation's). Backward-data is the forward
/// convolution of dy with the flipped filters: the same bound with K output channels per group
/// summed instead of C. Weight gradients (F(3×3, 4×4): the same transforms, the output
/// gradient in the filter's place) satisfy, for every dw element,
///   |dw − dw_exact| ≤ 2⁻²⁴ · 2845 · (T + 32) · max|x| · max|dy|,
/// T = N · (⌈OH/4⌉ + 2·dh) · (⌈OW/4⌉ + 2·dw) (at least the number of 4×4 output tiles summed;
/// 2845 = (Σ_ξ |G_ξ2|·|A_ξ|₁·|Bᵀ_ξ|₁)²); measured on random data up to about
/// 2⁻²⁴ · 40 · (T + 16) · max|x| · max|dy|. NaN and ±Inf give exactly the
/// direct algorithms' results: the call then runs a direct algorithm, as it does when an
/// intermediate value overflows.
bool algorithm_is_approximate(const std::string& name);

// ---- threads ------------------------------------------------------------------------------

// ---- resource limits ------------------------------------------------------------------------

/// Process-wide cap on the extra memory one convolution or filter may use (bytes, all threads
/// together; -1 = no limit). The initial value comes from the environment variable
/// CONVKIT_WORKSPACE_LIMIT (bytes) when set. Applies to plans made afterwards.
void set_workspace_limit(std::int64_t bytes);
std::int64_t get_workspace_limit();

/// Opt-in: convkit's parallel loops (every thread, including the caller's chunk) run with
/// denormal inputs and results flushed to zero (x86 FTZ/DAZ), like torch.set_flush_denormal.
/// Denormal arithmetic can be 10-100x slower; with this on it costs as much as normal numbers,
/// at the price of values below ~1.2e-38 (float) / 2.2e-308 (double) becoming 0. The caller's
/// own floating-point mode is restored after each call. Returns true (supported).
bool set_flush_denormal(bool on);
bool get_flush_denormal();

/// Sets the number of threads convkit uses (>= 1). The default is CONVKIT_NUM_THREADS or,
/// when unset, the number of cores.
void set_num_threads(int n);
int get_num_threads();

}  // namespace convkit
