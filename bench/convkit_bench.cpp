// bench/convkit_bench.cpp — convkit-bench: a benchdnn-like timing and verification tool.
//
//   convkit-bench mb1ic64ih56oc64oh56kh3ph1 --vs onednn
//   convkit-bench --suite bench/suites/layers.csv --filter resnet50 --threads 1 --csv out.csv
//
// Per problem: buffers are allocated and filled once; a ConvPlan is built once; only plan
// execution is timed (warm-up, then the median of repeated calls). Inputs hold small integers,
// so every partial sum is exact and any correct algorithm must equal the reference engine bit
// for bit. `--help` describes everything.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <convkit/convkit.hpp>

#include "peak.hpp"

#ifdef CONVKIT_BENCH_WITH_ONEDNN
#include <dnnl.hpp>
#ifdef CONVKIT_BENCH_WITH_OPENMP
#include <omp.h>
#endif
#endif

namespace {

using convkit::ConvDesc;
using convkit::ConvPlan;
using convkit::ConvProblem;
using convkit::Direction;
using convkit::DType;
using convkit::Layout;
using convkit::TensorView;

constexpr const char* kHelp = R"(convkit-bench — time and verify convkit convolutions (benchdnn-like).

usage: convkit-bench [options] DESCRIPTOR...
       convkit-bench [options] --suite FILE [--filter SUBSTRING]

DESCRIPTOR (benchdnn's convolution grammar), e.g. mb1ic64ih56oc64oh56kh3ph1:
  mb# g# ic# id# ih# iw# oc# od# oh# ow# kd# kh# kw# sd# sh# sw# dd# dh# dw# pd# ph# pw#
  and optionally n"name"; '_' separators are ignored.
  * 3-D when any d value is given, 2-D when any h value is given, else 1-D (w values).
  * A missing w value takes the h value (and a missing h value the d value), as in benchdnn.
  * Defaults as in benchdnn: mb2, g1, stride 1, no padding; ic, oc, i* and k* are required.
  * DILATION FOLLOWS PYTORCH, NOT BENCHDNN: dh1 (the default) is a dense kernel, dh2 skips
    every other input. benchdnn's dh0 is our dh1; dh0 is rejected here.
  * Output sizes are computed when absent; when given without padding, the padding is derived
    as benchdnn does (ph = ((oh-1)*sh - ih + (kh-1)*dh + 1) / 2, the rest after); when given
    with padding, they must agree.

options:
  --suite FILE        CSV suite: name,n,c,h,w,k,r,s,stride,pad,dilation,groups (# comments),
                      e.g. bench/suites/layers.csv (dilation: PyTorch's, 1 = dense)
  --filter SUBSTRING  only problems whose name contains SUBSTRING
  --dir fwd|bwd_d|bwd_w|fwd_t   direction (default fwd): forward, backward-data (dx from
                      dy, w), backward-weights (dw from dy, x), all through ConvPlan; fwd_t is
                      the transposed convolution whose backward-data pass the descriptor
                      describes (input: the descriptor's output, result: its input; weights
                      (oc, ic/g, k...) as PyTorch's conv_transpose), run through the one-shot
                      convkit::conv_transpose and compared with oneDNN's deconvolution
  --alg auto|reference|NAME   algorithm for the plan (default auto)
  --layout nchw|nhwc  activation layout (channels-first / channels-last; also for 1-D/3-D)
  --dtype f32|f64     (default f32)
  --bias              forward with a bias term (default: no bias, for convkit and oneDNN)
  --packed            forward with weights packed once before timing (ConvPlan::pack_weights:
                      Winograd keeps its transformed filters), as oneDNN's best-format timing
                      excludes its weight reorder
  --threads N         threads for convkit, the peak probe and oneDNN (default: convkit's
                      default, i.e. CONVKIT_NUM_THREADS or all cores)
  --reps N            timed repetitions after warm-up (default adaptive: repeat until at
                      least 5 repetitions AND at least 0.5 s; 3 repetitions when one call
                      takes more than 1 s)
  --no-verify         skip verification
  --verify-big        verify also problems above 2e9 MACs (the reference engine is slow)
  --vs onednn         also time oneDNN (a) with format 'any' for src/weights/dst (reorders
                      not timed) and (b) plain nchw/oihw (goihw for groups) tensors
  --peak GFLOPS       use this peak instead of probing it
  --probe-peak        only run the peak probe (for --dtype, --threads) and print it
  --probe-seconds S   how long the probe measures (default 0.2)
  --csv FILE          also write the rows to FILE as CSV
  -h, --help

output: one row per problem: name, descriptor, the algorithm the plan chose, median ms,
GFLOP/s (2*MACs/time; MACs = ConvProblem::macs(), padding taps included, the same count for
every direction), % of the probed FMA peak for the dtype and thread count, verification; with
--vs onednn the oneDNN times, GFLOP/s and implementations and the speed ratios
convkit/oneDNN (= oneDNN time / convkit time; > 1 means convkit is faster). Geometric means
at the end.

verification: inputs are small integers (in [-2, 2], or [-1, 1] for very long sums) so every
partial sum is exact in the dtype: the result must equal the "reference" algorithm's bit for
bit (mismatches and max |diff| are reported); an approximate algorithm (Winograd) must stay
within the error bound convkit documents (verify column: bound and the tolerance). The output buffer is filled with NaN first, so
unwritten elements count as mismatches. The oneDNN results are checked the same way.

threads: convkit::set_num_threads(N); oneDNN (Debian's build uses OpenMP) through
omp_set_num_threads(N), called before any oneDNN work.

exit status: 0 all good, 1 a verification mismatch, 2 bad usage, 3 a problem failed to run.
)";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "convkit-bench: %s (see --help)\n", msg.c_str());
  std::exit(2);
}

// ---- options --------------------------------------------------------------------------------

struct Options {
  std::vector<std::string> descriptors;
  std::string suite, filter, csv;
  Direction dir = Direction::forward;
  std::string dir_name = "fwd";
  bool transposed = false;  // fwd_t: dir is backward_data, run as conv_transpose
  std::string alg = "auto";
  Layout layout = Layout::channels_first;
  DType dtype = DType::f32;
  int threads = 0;
  int reps = 0;  // 0: adaptive
  bool verify = true, verify_big = false, vs_onednn = false, bias = false, packed = false;
  double peak = 0;  // 0: probe
  bool probe_only = false;
  double probe_seconds = 0.2;
};

long parse_long(const std::string& opt, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno || x < lo || x > hi)
    usage_error(opt + ": got '" + v + "', expected an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return x;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string val;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto value = [&]() -> std::string {
      if (has_inline) return val;
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    } else if (a == "--suite") {
      o.suite = value();
    } else if (a == "--filter") {
      o.filter = value();
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--dir") {
      const std::string v = value();
      if (v == "fwd" || v == "fwd_d" || v == "fwd_i") o.dir = Direction::forward, o.dir_name = "fwd";
      else if (v == "bwd_d") o.dir = Direction::backward_data, o.dir_name = v;
      else if (v == "bwd_w") o.dir = Direction::backward_weights, o.dir_name = v;
      else if (v == "fwd_t") o.dir = Direction::backward_data, o.dir_name = v, o.transposed = true;
      else usage_error("--dir: got '" + v + "', expected fwd, bwd_d, bwd_w or fwd_t");
    } else if (a == "--alg") {
      o.alg = value();
    } else if (a == "--layout") {
      std::string v = value();
      for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (v == "nchw" || v == "ncw" || v == "ncdhw" || v == "channels_first")
        o.layout = Layout::channels_first;
      else if (v == "nhwc" || v == "nwc" || v == "ndhwc" || v == "channels_last")
        o.layout = Layout::channels_last;
      else usage_error("--layout: got '" + v + "', expected nchw or nhwc");
    } else if (a == "--dtype") {
      const std::string v = value();
      if (v == "f32") o.dtype = DType::f32;
      else if (v == "f64") o.dtype = DType::f64;
      else usage_error("--dtype: got '" + v + "', expected f32 or f64");
    } else if (a == "--threads") {
      o.threads = static_cast<int>(parse_long(a, value(), 1, 1024));
    } else if (a == "--reps") {
      o.reps = static_cast<int>(parse_long(a, value(), 1, 1000000));
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--verify-big") {
      o.verify_big = true;
    } else if (a == "--bias") {
      o.bias = true;
    } else if (a == "--packed") {
      o.packed = true;
    } else if (a == "--vs") {
      const std::string v = value();
      if (v != "onednn" && v != "dnnl") usage_error("--vs: got '" + v + "', expected onednn");
      o.vs_onednn = true;
    } else if (a == "--peak") {
      const std::string v = value();
      char* end = nullptr;
      o.peak = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.peak > 0)) usage_error("--peak: got '" + v + "'");
    } else if (a == "--probe-seconds") {
      const std::string v = value();
      char* end = nullptr;
      o.probe_seconds = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.probe_seconds > 0 && o.probe_seconds <= 60))
        usage_error("--probe-seconds: got '" + v + "', expected (0, 60]");
    } else if (a == "--probe-peak") {
      o.probe_only = true;
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a + "'");
    } else {
      o.descriptors.push_back(a);
    }
  }
  if (o.descriptors.empty() && o.suite.empty() && !o.probe_only) usage_error("give a DESCRIPTOR or --suite FILE");
  if (o.bias && o.dir != Direction::forward) usage_error("--bias is for --dir fwd only");
  if (o.packed && o.dir != Direction::forward) usage_error("--packed is for --dir fwd only");
  return o;
}

// ---- problems ---------------------------------------------------------------------------------

struct Case {
  std::string name;
  ConvDesc desc;
  std::string error;  // set when the problem could not be built
};

constexpr const char kDimLetters[] = "dhw";

// PyTorch output size; may be < 1 (the caller reports it).
std::int64_t out_size(std::int64_t i, std::int64_t k, std::int64_t s, std::int64_t pl,
                      std::int64_t pr, std::int64_t d) {
  const std::int64_t span = i + pl + pr - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

Case parse_descriptor(const std::string& text) {
  static const char* kKeys[] = {"mb", "g",  "ic", "id", "ih", "iw", "oc", "od", "oh", "ow", "kd",
                                "kh", "kw", "sd", "sh", "sw", "dd", "dh", "dw", "pd", "ph", "pw"};
  std::map<std::string, std::int64_t> v;
  Case c;
  const std::string where = "descriptor '" + text + "': ";
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '_') {
      ++i;
      continue;
    }
    if (text[i] == 'n' && i + 1 < text.size() && text[i + 1] == '"') {
      const auto close = text.find('"', i + 2);
      if (close == std::string::npos) usage_error(where + "unterminated n\"name\"");
      c.name = text.substr(i + 2, close - i - 2);
      i = close + 1;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && std::islower(static_cast<unsigned char>(text[j]))) ++j;
    const std::string key = text.substr(i, j - i);
    std::size_t k = j;
    while (k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]))) ++k;
    if (key.empty() || k == j)
      usage_error(where + "expected <letters><number> at '" + text.substr(i) + "'");
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* s) { return key == s; }) ==
        std::end(kKeys))
      usage_error(where + "unknown key '" + key + "'");
    if (v.count(key)) usage_error(where + "'" + key + "' given twice");
    if (k - j > 15) usage_error(where + "number too large for '" + key + "'");
    v[key] = std::stoll(text.substr(j, k - j));
    i = k;
  }
  auto given = [&](char prefix, int dim) { return v.count(std::string{prefix, kDimLetters[dim]}) > 0; };
  auto any_dim = [&](int dim) {
    for (char p : {'i', 'o', 'k', 's', 'd', 'p'})
      if (given(p, dim)) return true;
    return false;
  };
  const int nd = any_dim(0) ? 3 : any_dim(1) ? 2 : 1;
  const int first = 3 - nd;
  // Value for prefix at dim, falling back to the previous (higher) dims, as benchdnn does.
  auto lookup = [&](char prefix, int dim, std::int64_t* out) {
    for (int d = dim; d >= first; --d)
      if (given(prefix, d)) {
        *out = v[std::string{prefix, kDimLetters[d]}];
        return true;
      }
    return false;
  };
  ConvDesc& d = c.desc;
  d.spatial_dims = nd;
  d.batch = v.count("mb") ? v["mb"] : 2;  // benchdnn's default minibatch
  d.groups = v.count("g") ? v["g"] : 1;
  if (!v.count("ic")) usage_error(where + "ic is required");
  if (!v.count("oc")) usage_error(where + "oc is required");
  d.in_channels = v["ic"];
  d.out_channels = v["oc"];
  std::vector<std::pair<std::int64_t, std::int64_t>> pads;
  for (int dim = first; dim < 3; ++dim) {
    const std::string L(1, kDimLetters[dim]);
    std::int64_t in = 0, k = 0, s = 1, dl = 1, p = 0, o = 0;
    if (!lookup('i', dim, &in)) usage_error(where + "i" + L + " is required");
    if (!lookup('k', dim, &k)) usage_error(where + "k" + L + " is required");
    lookup('s', dim, &s);
    if (lookup('d', dim, &dl) && dl == 0)
      usage_error(where + "d" + L + "0: dilation here is PyTorch's (d" + L +
                  "1 = dense kernel); benchdnn's d" + L + "0 is d" + L + "1");
    const bool has_p = lookup('p', dim, &p), has_o = lookup('o', dim, &o);
    if (s < 1 || k < 1 || in < 1) usage_error(where + "sizes and strides must be >= 1");
    std::int64_t pl = p, pr = p;
    const std::int64_t ext = dl * (k - 1) + 1;
    if (has_o && !has_p) {
      const std::int64_t total = (o - 1) * s - in + ext;
      pl = total / 2;  // benchdnn's rule; the remainder goes after
      pr = total - pl;
      if (total < 0 || pl < 0 || pr < 0)
        usage_error(where + "o" + L + std::to_string(o) + " is impossible without negative padding");
    } else if (has_o && has_p && out_size(in, k, s, p, p, dl) != o) {
      // benchdnn derives the right pad from the output size; accept that if it is >= 0.
      pr = (o - 1) * s - in + ext - pl;
      if (pr < 0 || out_size(in, k, s, pl, pr, dl) != o)
        usage_error(where + "o" + L + std::to_string(o) + " disagrees with the other sizes (they give o" +
                    L + std::to_string(out_size(in, k, s, p, p, dl)) + ")");
    }
    d.input_size.push_back(in);
    d.kernel_size.push_back(k);
    d.stride.push_back(s);
    d.dilation.push_back(dl);
    pads.emplace_back(pl, pr);
  }
  d.padding = convkit::Padding::explicit_pairs(pads);
  return c;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  std::stringstream ss(line);
  while (std::getline(ss, cur, ',')) {
    const auto b = cur.find_first_not_of(" \t\r");
    const auto e = cur.find_last_not_of(" \t\r");
    out.push_back(b == std::string::npos ? std::string() : cur.substr(b, e - b + 1));
  }
  return out;
}

std::vector<Case> load_suite(const std::string& path) {
  std::ifstream f(path);
  if (!f) usage_error("--suite: cannot open '" + path + "'");
  std::vector<Case> cases;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const auto cols = split_csv(line);
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    if (cols.size() != 12)
      usage_error(where + "expected 12 columns name,n,c,h,w,k,r,s,stride,pad,dilation,groups, got " +
                  std::to_string(cols.size()));
    std::int64_t n[11];
    for (int j = 0; j < 11; ++j) n[j] = parse_long(where + "column " + std::to_string(j + 2),
                                                    cols[static_cast<std::size_t>(j) + 1], 0,
                                                    std::numeric_limits<int>::max());
    Case c;
    c.name = cols[0];
    ConvDesc& d = c.desc;
    d.spatial_dims = 2;
    d.batch = n[0];
    d.in_channels = n[1];
    d.input_size = {n[2], n[3]};
    d.out_channels = n[4];
    d.kernel_size = {n[5], n[6]};
    d.stride = {n[7]};
    d.padding = convkit::Padding::symmetric({n[8]});
    d.dilation = {n[9]};
    d.groups = n[10];
    cases.push_back(std::move(c));
  }
  return cases;
}

// benchdnn-style canonical descriptor (PyTorch dilation): mb1ic64ih56oc64oh56kh3ph1.
std::string descriptor_of(const ConvProblem& p) {
  std::ostringstream o;
  o << "mb" << p.batch;
  if (p.groups != 1) o << "g" << p.groups;
  const int first = 3 - p.spatial_dims;
  auto dims = [&](const char* prefix, const std::int64_t* a, std::int64_t dflt, bool always) {
    bool all_default = true;
    for (int j = first; j < 3; ++j) all_default = all_default && a[j] == dflt;
    if (all_default && !always) return;
    for (int j = first; j < 3; ++j)
      if (j == first || a[j] != a[j - 1]) o << prefix << kDimLetters[j] << a[j];
  };
  o << "ic" << p.in_channels;
  dims("i", p.in, 0, true);
  o << "oc" << p.out_channels;
  dims("o", p.out, 0, true);
  dims("k", p.kernel, 0, true);
  dims("s", p.stride, 1, false);
  dims("d", p.dilation, 1, false);
  dims("p", p.pad_before, 0, false);
  return o.str();
}

// ---- buffers, fill, compare ---------------------------------------------------------------------

struct Buffer {
  std::unique_ptr<void, decltype(&std::free)> mem{nullptr, &std::free};
  std::int64_t numel = 0;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;

  Buffer() = default;
  Buffer(DType t, std::vector<std::int64_t> s) : dtype(t), shape(std::move(s)) {
    numel = 1;
    for (auto e : shape) numel *= e;
    void* p = nullptr;
    const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(numel, 1)) *
                              convkit::dtype_size(t);
    if (posix_memalign(&p, 64, (bytes + 63) / 64 * 64) != 0) throw std::bad_alloc();
    mem.reset(p);
  }
  void* data() const { return mem.get(); }
  TensorView view() const { return TensorView::contiguous(data(), dtype, shape); }
};

// Deterministic integers in [-range, range] (splitmix64).
void fill_ints(Buffer& b, int range, std::uint64_t seed) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::int64_t i = 0; i < b.numel; ++i) {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double v = static_cast<double>(static_cast<int>(z % static_cast<std::uint64_t>(2 * range + 1)) - range);
    if (b.dtype == DType::f32) static_cast<float*>(b.data())[i] = static_cast<float>(v);
    else static_cast<double*>(b.data())[i] = v;
  }
}

void fill_nan(Buffer& b) {
  for (std::int64_t i = 0; i < b.numel; ++i) {
    if (b.dtype == DType::f32) static_cast<float*>(b.data())[i] = std::numeric_limits<float>::quiet_NaN();
    else static_cast<double*>(b.data())[i] = std::numeric_limits<double>::quiet_NaN();
  }
}

struct Compare {
  std::int64_t mismatches = 0;
  double max_abs_diff = 0;  // NaN when an element is NaN on one side
};

Compare compare(const void* a, const void* b, std::int64_t n, DType t, double tol) {
  Compare c;
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = t == DType::f32 ? static_cast<const float*>(a)[i] : static_cast<const double*>(a)[i];
    const double y = t == DType::f32 ? static_cast<const float*>(b)[i] : static_cast<const double*>(b)[i];
    const double d = std::fabs(x - y);
    if (!(d <= tol)) ++c.mismatches;
    if (std::isnan(d)) c.max_abs_diff = std::numeric_limits<double>::quiet_NaN();
    else if (!std::isnan(c.max_abs_diff)) c.max_abs_diff = std::max(c.max_abs_diff, d);
  }
  return c;
}

// Fill range and tolerance for exact checking: every partial sum of products of the inputs
// must be an integer representable in the dtype (2^24 for f32, 2^53 for f64).
struct Exactness {
  int range = 2;
  double tol = 0;
  bool exact = true;
};

Exactness exactness(const ConvProblem& p, Direction dir, bool bias) {
  double len = 0;  // terms in one output's sum
  if (dir == Direction::forward) len = static_cast<double>(p.in_channels_per_group() * p.kernel_spatial()) + (bias ? 1 : 0);
  else if (dir == Direction::backward_data) len = static_cast<double>(p.out_channels_per_group() * p.kernel_spatial());
  else len = static_cast<double>(p.batch) * static_cast<double>(p.out_spatial());
  const double limit = p.dtype == DType::f32 ? 16777216.0 : 9007199254740992.0;
  Exactness e;
  if (4 * len <= limit) return e;
  e.range = 1;
  if (len <= limit) return e;
  e.exact = false;
  e.tol = len * (p.dtype == DType::f32 ? 1e-6 : 1e-15) * 4;
  return e;
}

// ---- timing -------------------------------------------------------------------------------------

struct Timing {
  double median_ms = 0, min_ms = 0;
  int reps = 0;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Timing time_it(const std::function<void()>& f, int fixed_reps) {
  auto once = [&] {
    const double t0 = now_s();
    f();
    return now_s() - t0;
  };
  const double warm = once();
  if (warm < 0.05) once();  // a second warm-up for short calls
  std::vector<double> ts;
  if (fixed_reps > 0) {
    for (int r = 0; r < fixed_reps; ++r) ts.push_back(once());
  } else {
    const std::size_t min_reps = warm > 1.0 ? 3 : 5;
    double total = 0;
    while (ts.size() < min_reps || (total < 0.5 && ts.size() < 100000)) {
      ts.push_back(once());
      total += ts.back();
    }
  }
  std::sort(ts.begin(), ts.end());
  Timing t;
  t.reps = static_cast<int>(ts.size());
  const std::size_t m = ts.size() / 2;
  t.median_ms = 1e3 * (ts.size() % 2 ? ts[m] : 0.5 * (ts[m - 1] + ts[m]));
  t.min_ms = 1e3 * ts.front();
  return t;
}

// ---- the operands of one direction ------------------------------------------------------------

struct Operands {
  Buffer in0, in1, bias, out;  // fwd: x, w, b -> y; bwd_d: dy, w -> dx; bwd_w: dy, x -> dw
  bool has_bias = false;
};

Operands make_operands(const ConvProblem& p, Direction dir, bool bias, int range) {
  Operands o;
  const DType t = p.dtype;
  if (dir == Direction::forward) {
    o.in0 = Buffer(t, p.input_shape());
    o.in1 = Buffer(t, p.weight_shape());
    o.out = Buffer(t, p.output_shape());
    if (bias) {
      o.bias = Buffer(t, {p.out_channels});
      o.has_bias = true;
    }
  } else if (dir == Direction::backward_data) {
    o.in0 = Buffer(t, p.output_shape());
    o.in1 = Buffer(t, p.weight_shape());
    o.out = Buffer(t, p.input_shape());
  } else {
    o.in0 = Buffer(t, p.output_shape());
    o.in1 = Buffer(t, p.input_shape());
    o.out = Buffer(t, p.weight_shape());
  }
  fill_ints(o.in0, range, 1);
  fill_ints(o.in1, range, 2);
  if (o.has_bias) fill_ints(o.bias, range, 3);
  fill_nan(o.out);
  return o;
}

// The transposed convolution whose result is p's input and whose input is p's output (same
// weights): convkit::conv_transpose(desc) runs p's backward-data pass.
convkit::ConvTransposeDesc transposed_desc(const ConvProblem& p) {
  convkit::ConvTransposeDesc t;
  const int nd = p.spatial_dims;
  t.spatial_dims = nd;
  t.batch = p.batch;
  t.in_channels = p.out_channels;
  t.out_channels = p.in_channels;
  t.groups = p.groups;
  t.layout = p.layout;
  t.dtype = p.dtype;
  std::vector<std::pair<std::int64_t, std::int64_t>> pads;
  for (int j = 3 - nd; j < 3; ++j) {
    t.input_size.push_back(p.out[j]);
    t.kernel_size.push_back(p.kernel[j]);
    t.stride.push_back(p.stride[j]);
    t.dilation.push_back(p.dilation[j]);
    pads.emplace_back(p.pad_before[j], p.pad_after[j]);
    // the rows the forward pass leaves unread at the end come back as output_padding
    t.output_padding.push_back(p.in[j] - ((p.out[j] - 1) * p.stride[j] +
                                          p.dilation[j] * (p.kernel[j] - 1) + 1 -
                                          p.pad_before[j] - p.pad_after[j]));
  }
  t.padding = convkit::Padding::explicit_pairs(pads);
  return t;
}

void execute(const ConvPlan& plan, Direction dir, const Operands& o, const Buffer& out) {
  const TensorView a = o.in0.view(), b = o.in1.view(), y = out.view();
  if (dir == Direction::forward) {
    const TensorView bias = o.has_bias ? o.bias.view() : TensorView();
    plan.forward(a, b, o.has_bias ? &bias : nullptr, y);
  } else if (dir == Direction::backward_data) {
    plan.backward_data(a, b, y);
  } else {
    plan.backward_weights(a, b, y);
  }
}

// ---- oneDNN -------------------------------------------------------------------------------------

struct DnnlResult {
  bool ran = false;
  std::string error;  // why it did not run
  Timing t;
  std::string impl;
  bool checked = false;
  Compare cmp;
};

#ifdef CONVKIT_BENCH_WITH_ONEDNN
namespace dn {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::dims data_dims(const ConvProblem& p, std::int64_t ch, const std::int64_t* sp) {
  memory::dims d{p.batch, ch};
  for (int j = 3 - p.spatial_dims; j < 3; ++j) d.push_back(sp[j]);
  return d;
}
memory::dims weight_dims(const ConvProblem& p) {
  memory::dims d;
  if (p.groups > 1) d = {p.groups, p.out_channels_per_group(), p.in_channels_per_group()};
  else d = {p.out_channels, p.in_channels_per_group()};
  for (int j = 3 - p.spatial_dims; j < 3; ++j) d.push_back(p.kernel[j]);
  return d;
}
tag data_tag(int nd, bool last) {
  if (nd == 1) return last ? tag::nwc : tag::ncw;
  if (nd == 2) return last ? tag::nhwc : tag::nchw;
  return last ? tag::ndhwc : tag::ncdhw;
}
tag weight_tag(int nd, bool grouped) {
  if (nd == 1) return grouped ? tag::goiw : tag::oiw;
  if (nd == 2) return grouped ? tag::goihw : tag::oihw;
  return grouped ? tag::goidhw : tag::oidhw;
}

// Times one oneDNN convolution on the same data as convkit. `any`: format 'any' for the
// tensors (oneDNN picks, usually blocked); else plain nc*/oi* (goi* with groups).
// `expected` (in convkit's layout) checks the result when non-null.
DnnlResult run(const ConvProblem& p, Direction dir, bool transposed, bool any,
               const Operands& ops, const void* expected, double tol, int fixed_reps) {
  DnnlResult r;
  if (p.dtype != DType::f32) {
    r.error = "oneDNN 2.x has no f64 convolution";
    return r;
  }
  try {
    using namespace dnnl;
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const int nd = p.spatial_dims;
    const bool grouped = p.groups > 1;
    const dt type = dt::f32;
    const memory::dims src_d = data_dims(p, p.in_channels, p.in),
                       dst_d = data_dims(p, p.out_channels, p.out), wei_d = weight_dims(p),
                       bias_d{p.out_channels};
    memory::dims strides, dilates, pad_l, pad_r;
    for (int j = 3 - nd; j < 3; ++j) {
      strides.push_back(p.stride[j]);
      dilates.push_back(p.dilation[j] - 1);  // oneDNN: 0 = dense
      pad_l.push_back(p.pad_before[j]);
      pad_r.push_back(p.pad_after[j]);
    }
    const bool last = p.layout == Layout::channels_last;
    const tag user_data = data_tag(nd, last), user_wei = weight_tag(nd, grouped);
    const tag conv_data = any ? tag::any : data_tag(nd, false);
    const tag conv_wei = any ? tag::any : weight_tag(nd, grouped);
    const memory::desc src_md(src_d, type, conv_data), dst_md(dst_d, type, conv_data),
        wei_md(wei_d, type, conv_wei), bias_md(bias_d, type, tag::x);
    const memory::desc u_src(src_d, type, user_data), u_dst(dst_d, type, user_data),
        u_wei(wei_d, type, user_wei), u_bias(bias_d, type, tag::x);

    // Inputs: wrap convkit's buffers, reorder into the primitive's format (not timed).
    auto input = [&](const memory::desc& user, const Buffer& b, const memory::desc& want) {
      memory um(user, eng, b.data());
      memory m(want, eng);
      reorder(um, m).execute(s, um, m);
      s.wait();
      return m;
    };
    std::unordered_map<int, memory> args;
    primitive prim;
    memory out;
    memory::desc u_out;
    const auto fwd_desc = [&](prop_kind pk, bool with_bias) {
      return with_bias ? convolution_forward::desc(pk, algorithm::convolution_direct, src_md, wei_md,
                                                   bias_md, dst_md, strides, dilates, pad_l, pad_r)
                       : convolution_forward::desc(pk, algorithm::convolution_direct, src_md, wei_md,
                                                   dst_md, strides, dilates, pad_l, pad_r);
    };
    if (transposed) {
      // Deconvolution from p's output back to p's input. Its weights are (OC, IC) = (p.ic,
      // p.oc) per group over convkit's (p.oc, p.ic/g) memory: described by strides.
      const std::int64_t ks = p.kernel_spatial(), G = p.groups;
      const std::int64_t icg = p.in_channels_per_group(), ocg = p.out_channels_per_group();
      memory::dims td, ts;
      if (grouped) td = {G, icg, ocg}, ts = {ocg * icg * ks, ks, icg * ks};
      else td = {p.in_channels, p.out_channels}, ts = {ks, icg * ks};
      std::int64_t sp = 1;
      std::vector<std::int64_t> kdims;
      for (int j = 3 - nd; j < 3; ++j) kdims.push_back(p.kernel[j]);
      std::vector<std::int64_t> kstr(kdims.size());
      for (int j = static_cast<int>(kdims.size()) - 1; j >= 0; --j) {
        kstr[static_cast<std::size_t>(j)] = sp;
        sp *= kdims[static_cast<std::size_t>(j)];
      }
      for (std::size_t j = 0; j < kdims.size(); ++j) td.push_back(kdims[j]), ts.push_back(kstr[j]);
      const memory::desc u_twei(td, type, ts);
      const memory::desc twei = any ? memory::desc(td, type, tag::any) : u_twei;
      deconvolution_forward::desc d(prop_kind::forward_inference, algorithm::deconvolution_direct,
                                    dst_md, twei, src_md, strides, dilates, pad_l, pad_r);
      deconvolution_forward::primitive_desc pd(d, eng);
      r.impl = pd.impl_info_str();
      args[DNNL_ARG_SRC] = input(u_dst, ops.in0, pd.src_desc());
      args[DNNL_ARG_WEIGHTS] = input(u_twei, ops.in1, pd.weights_desc());
      out = memory(pd.dst_desc(), eng);
      args[DNNL_ARG_DST] = out;
      u_out = u_src;
      prim = deconvolution_forward(pd);
    } else if (dir == Direction::forward) {
      convolution_forward::primitive_desc pd(fwd_desc(prop_kind::forward_inference, ops.has_bias), eng);
      r.impl = pd.impl_info_str();
      args[DNNL_ARG_SRC] = input(u_src, ops.in0, pd.src_desc());
      args[DNNL_ARG_WEIGHTS] = input(u_wei, ops.in1, pd.weights_desc());
      if (ops.has_bias) args[DNNL_ARG_BIAS] = input(u_bias, ops.bias, pd.bias_desc());
      out = memory(pd.dst_desc(), eng);
      args[DNNL_ARG_DST] = out;
      u_out = u_dst;
      prim = convolution_forward(pd);
    } else if (dir == Direction::backward_data) {
      convolution_forward::primitive_desc hint(fwd_desc(prop_kind::forward_training, false), eng);
      convolution_backward_data::desc d(algorithm::convolution_direct, src_md, wei_md, dst_md,
                                        strides, dilates, pad_l, pad_r);
      convolution_backward_data::primitive_desc pd(d, eng, hint);
      r.impl = pd.impl_info_str();
      args[DNNL_ARG_DIFF_DST] = input(u_dst, ops.in0, pd.diff_dst_desc());
      args[DNNL_ARG_WEIGHTS] = input(u_wei, ops.in1, pd.weights_desc());
      out = memory(pd.diff_src_desc(), eng);
      args[DNNL_ARG_DIFF_SRC] = out;
      u_out = u_src;
      prim = convolution_backward_data(pd);
    } else {
      convolution_forward::primitive_desc hint(fwd_desc(prop_kind::forward_training, false), eng);
      convolution_backward_weights::desc d(algorithm::convolution_direct, src_md, wei_md, dst_md,
                                           strides, dilates, pad_l, pad_r);
      convolution_backward_weights::primitive_desc pd(d, eng, hint);
      r.impl = pd.impl_info_str();
      args[DNNL_ARG_DIFF_DST] = input(u_dst, ops.in0, pd.diff_dst_desc());
      args[DNNL_ARG_SRC] = input(u_src, ops.in1, pd.src_desc());
      out = memory(pd.diff_weights_desc(), eng);
      args[DNNL_ARG_DIFF_WEIGHTS] = out;
      u_out = u_wei;
      prim = convolution_backward_weights(pd);
    }
    r.t = time_it([&] {
      prim.execute(s, args);
      s.wait();
    }, fixed_reps);
    r.ran = true;
    if (expected) {
      Buffer plain(p.dtype, {static_cast<std::int64_t>(u_out.get_size() / convkit::dtype_size(p.dtype))});
      memory um(u_out, eng, plain.data());
      reorder(out, um).execute(s, out, um);
      s.wait();
      r.cmp = compare(plain.data(), expected, plain.numel, p.dtype, tol);
      r.checked = true;
    }
  } catch (const dnnl::error& e) {
    r.ran = false;
    r.error = std::string("oneDNN: ") + e.what();
  }
  return r;
}
}  // namespace dn
#endif

// ---- other processes' CPU use (the machine is small and shared) ----------------------------------

// CPU time the rest of the machine used while we measured: busy time of all CPUs from
// /proc/stat minus this process's own user+system time. Linux only; returns -1 elsewhere.
class ForeignLoad {
 public:
  ForeignLoad() { start(); }
  void start() {
    busy0_ = machine_busy_s();
    self0_ = self_s();
    wall0_ = now();
  }
  // Fraction of all CPUs' capacity used by other processes since start() (-1: unknown).
  double fraction() const {
    const double busy = machine_busy_s();
    if (busy < 0 || busy0_ < 0) return -1;
    const double wall = now() - wall0_;
    const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (wall <= 0 || ncpu <= 0) return -1;
    const double foreign = (busy - busy0_) - (self_s() - self0_);
    return std::max(0.0, foreign / (wall * static_cast<double>(ncpu)));
  }
  double seconds() const { return now() - wall0_; }

 private:
  static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static double machine_busy_s() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(f >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu")
      return -1;
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    return static_cast<double>(user + nice + sys + irq + softirq + steal) / (hz > 0 ? hz : 100.0);
  }
  static double self_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  }
  double busy0_ = 0, self0_ = 0, wall0_ = 0;
};

// ---- output ---------------------------------------------------------------------------------------

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string diff_str(double d) { return std::isnan(d) ? "nan" : fmt("%.3g", d); }

struct Geo {
  double sum = 0;
  int n = 0;
  void add(double v) {
    if (v > 0 && std::isfinite(v)) sum += std::log(v), ++n;
  }
  double value() const { return n ? std::exp(sum / n) : 0; }
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  if (opt.threads == 0) opt.threads = convkit::get_num_threads();
  convkit::set_num_threads(opt.threads);

  if (opt.probe_only) {
    const auto pk = convkit_bench::probe_peak(opt.dtype == DType::f64, opt.threads, opt.probe_seconds);
    std::printf("peak %s: %.1f GFLOP/s on %d thread(s) (%.1f per thread) [probe: %s, %d independent "
                "FMA chains/thread, best of %d chunks of %.1f ms; = %.2f GHz at 2 FMA/cycle]\n",
                opt.dtype == DType::f64 ? "f64" : "f32", pk.gflops, pk.threads, pk.gflops / pk.threads,
                pk.isa.c_str(), pk.accumulators, pk.chunks, pk.seconds * 1e3, pk.implied_ghz());
    return 0;
  }

#ifdef CONVKIT_BENCH_WITH_ONEDNN
#ifdef CONVKIT_BENCH_WITH_OPENMP
  if (opt.vs_onednn) omp_set_num_threads(opt.threads);
#else
  if (opt.vs_onednn) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    if (!env || std::atoi(env) != opt.threads)
      std::fprintf(stderr, "convkit-bench: warning: built without OpenMP headers; oneDNN uses "
                           "OMP_NUM_THREADS=%s, not --threads %d\n", env ? env : "(unset)", opt.threads);
  }
#endif
#else
  if (opt.vs_onednn) {
    std::fprintf(stderr,
                 "convkit-bench: --vs onednn: this convkit-bench was built without oneDNN.\n"
                 "  Install it (Debian: apt-get install -y libdnnl-dev) and re-run cmake; the\n"
                 "  configure log says 'convkit-bench: oneDNN found' when it is picked up.\n");
    return 2;
  }
#endif

  // Problems.
  std::vector<Case> cases;
  for (const auto& d : opt.descriptors) {
    Case c = parse_descriptor(d);
    if (c.name.empty()) c.name = d;
    cases.push_back(std::move(c));
  }
  if (!opt.suite.empty())
    for (auto& c : load_suite(opt.suite)) cases.push_back(std::move(c));
  if (!opt.filter.empty())
    cases.erase(std::remove_if(cases.begin(), cases.end(),
                               [&](const Case& c) { return c.name.find(opt.filter) == std::string::npos; }),
                cases.end());
  if (cases.empty()) usage_error("no problem matches --filter '" + opt.filter + "'");

  struct Prepared {
    Case c;
    std::unique_ptr<ConvProblem> p;
    std::string descriptor;
  };
  std::vector<Prepared> probs;
  std::size_t wname = 4, wdesc = 10;
  for (auto& c : cases) {
    c.desc.layout = opt.layout;
    c.desc.dtype = opt.dtype;
    Prepared pr;
    try {
      pr.p = std::make_unique<ConvProblem>(c.desc);
      pr.descriptor = descriptor_of(*pr.p);
    } catch (const convkit::Error& e) {
      c.error = e.what();
      pr.descriptor = "?";
    }
    pr.c = c;
    wname = std::max(wname, pr.c.name.size());
    wdesc = std::max(wdesc, pr.descriptor.size());
    probs.push_back(std::move(pr));
  }

  // Peak.
  const bool f64 = opt.dtype == DType::f64;
  double peak = opt.peak;
  std::string peak_note = "given with --peak";
  if (peak <= 0) {
    const auto pk = convkit_bench::probe_peak(f64, opt.threads, opt.probe_seconds);
    peak = pk.gflops;
    peak_note = "probe: " + pk.isa + ", " + std::to_string(pk.accumulators) +
                " independent FMA chains/thread, best of " + std::to_string(pk.chunks) + " chunks of " +
                fmt("%.1f", pk.seconds * 1e3) + " ms; = " + fmt("%.2f", pk.implied_ghz()) +
                " GHz at 2 FMA/cycle";
  }

  const int nd0 = probs.front().p ? probs.front().p->spatial_dims : 2;
  std::printf("# convkit-bench: dir=%s layout=%s dtype=%s threads=%d alg=%s reps=%s verify=%s%s%s\n",
              opt.dir_name.c_str(), convkit::layout_name(opt.layout, nd0), f64 ? "f64" : "f32",
              opt.threads, opt.alg.c_str(),
              opt.reps ? std::to_string(opt.reps).c_str() : "adaptive(>=5 and >=0.5 s)",
              opt.verify ? "exact vs 'reference'" : "off", opt.bias ? " bias=on" : "",
              opt.packed ? " packed_weights=on" : "");
  std::printf("# peak %s: %.1f GFLOP/s on %d thread(s) (%.1f per thread) [%s]\n", f64 ? "f64" : "f32",
              peak, opt.threads, peak / opt.threads, peak_note.c_str());
#ifdef CONVKIT_BENCH_WITH_ONEDNN
  if (opt.vs_onednn) {
    const auto* v = dnnl::version();
    std::printf("# oneDNN %d.%d.%d (cpu runtime %s; threads: %s)\n", v->major, v->minor, v->patch,
                v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : "other",
#ifdef CONVKIT_BENCH_WITH_OPENMP
                ("omp_set_num_threads(" + std::to_string(opt.threads) + ")").c_str()
#else
                "OMP_NUM_THREADS"
#endif
    );
    std::printf("# oneDNN 'any' = format any for src/weights/dst (reorders not timed); 'nchw' = plain "
                "nchw/oihw; x = speed convkit/oneDNN (oneDNN ms / convkit ms; > 1: convkit faster)\n");
  }
#endif

  std::FILE* csv = nullptr;
  if (!opt.csv.empty()) {
    csv = std::fopen(opt.csv.c_str(), "w");
    if (!csv) usage_error("--csv: cannot write '" + opt.csv + "'");
    std::fprintf(csv, "# convkit-bench dir=%s layout=%s dtype=%s threads=%d peak_gflops=%.1f\n",
                 opt.dir_name.c_str(), convkit::layout_name(opt.layout, nd0), f64 ? "f64" : "f32",
                 opt.threads, peak);
    std::fprintf(csv, "name,descriptor,direction,layout,dtype,threads,algorithm,reps,median_ms,min_ms,"
                      "gflops,pct_peak,verify,mismatches,max_abs_diff");
    if (opt.vs_onednn)
      std::fprintf(csv, ",onednn_any_ms,onednn_any_gflops,onednn_any_impl,onednn_any_verify,"
                        "onednn_nchw_ms,onednn_nchw_gflops,onednn_nchw_impl,onednn_nchw_verify,"
                        "speed_vs_any,speed_vs_nchw");
    std::fprintf(csv, ",foreign_cpu_pct\n");
  }

  // Column header.
  std::printf("%-*s  %-*s  %-12s %10s %8s %6s  %-16s", static_cast<int>(wname), "name",
              static_cast<int>(wdesc), "descriptor", "algorithm", "ms", "GFLOP/s", "%peak", "verify");
  if (opt.vs_onednn)
    std::printf(" | %10s %8s %-24s | %10s %8s %-24s | %6s %6s", "any ms", "GFLOP/s", "any impl",
                "nchw ms", "GFLOP/s", "nchw impl", "x any", "x nchw");
  std::printf("\n");
  std::fflush(stdout);

  Geo g_ck, g_any, g_nchw, g_xany, g_xnchw, g_pct;
  bool any_mismatch = false, any_error = false;
  const ForeignLoad run_load;
  int disturbed = 0;
  for (auto& pr : probs) {
    const ForeignLoad load;
    std::string alg = "-", verify = "-", error = pr.c.error;
    Timing tck;
    double gf = 0, pct = 0;
    Compare cmp;
    DnnlResult dany, dnchw;
    if (!pr.p) {
      any_error = true;
    } else {
      const ConvProblem& p = *pr.p;
      try {
        const Exactness ex = exactness(p, opt.dir, opt.bias);
        Operands ops = make_operands(p, opt.dir, opt.bias, ex.range);
        convkit::PlanOptions po;
        po.algorithm = opt.alg;
        ConvPlan plan(p, opt.dir, po);
        alg = plan.algorithm_name();
        if (opt.transposed) {  // the public transposed-convolution call (plan from its cache)
          const convkit::ConvTransposeDesc td = transposed_desc(p);
          tck = time_it([&] {
            convkit::conv_transpose(td, ops.in0.view(), ops.in1.view(), nullptr, ops.out.view(), po);
          }, opt.reps);
        } else if (opt.packed) {
          const convkit::PackedWeights pw = plan.pack_weights(ops.in1.view());
          const TensorView bias = ops.has_bias ? ops.bias.view() : TensorView();
          tck = time_it([&] {
            plan.forward(ops.in0.view(), pw, ops.has_bias ? &bias : nullptr, ops.out.view());
          }, opt.reps);
        } else {
          tck = time_it([&] { execute(plan, opt.dir, ops, ops.out); }, opt.reps);
        }
        const double flops = 2.0 * static_cast<double>(p.macs());
        gf = flops / (tck.median_ms * 1e-3) * 1e-9;
        pct = 100.0 * gf / peak;
        g_ck.add(gf);
        g_pct.add(pct);

        // Verification against the reference engine.
        std::unique_ptr<Buffer> ref;
        const void* expected = nullptr;  // what oneDNN is checked against
        double tol = ex.tol;
        if (!opt.verify) {
          verify = "off";
        } else if (static_cast<double>(p.macs()) > 2e9 && !opt.verify_big) {
          verify = "skip(>2e9 MACs)";
          // oneDNN is still checked against convkit, when convkit's result is exact
          if (!convkit::algorithm_is_approximate(alg)) expected = ops.out.data();
        } else if (alg == "reference") {
          verify = "n/a(is ref)";
          expected = ops.out.data();
        } else {
          convkit::PlanOptions rpo;
          rpo.algorithm = "reference";
          ConvPlan rplan(p, opt.dir, rpo);
          ref = std::make_unique<Buffer>(p.dtype, ops.out.shape);
          fill_nan(*ref);
          execute(rplan, opt.dir, ops, *ref);
          // An approximate algorithm (Winograd) is held to the error bound conv.hpp documents
          // (inputs in [−range, range]): 2^-24·2304·(S + 32)·max|x|·max|w| with S the
          // channels summed (C/groups; backward-data K/groups), and for weight gradients
          // 2^-24·2845·(T + 32)·max|x|·max|dy|, T = N·(⌈OH/4⌉ + 2·dh)·(⌈OW/4⌉ + 2·dw).
          const bool approximate = convkit::algorithm_is_approximate(alg);
          double bound = 0;
          if (opt.dir == Direction::backward_weights) {
            const double tiles = static_cast<double>(p.batch) *
                                 static_cast<double>((p.out[1] + 3) / 4 + 2 * p.dilation[1]) *
                                 static_cast<double>((p.out[2] + 3) / 4 + 2 * p.dilation[2]);
            bound = std::ldexp(1.0, -24) * 2845.0 * (tiles + 32.0) * ex.range * ex.range;
          } else {
            const std::int64_t summed = opt.dir == Direction::forward ? p.in_channels_per_group()
                                                                      : p.out_channels_per_group();
            bound = std::ldexp(1.0, -24) * 2304.0 * static_cast<double>(summed + 32) * ex.range *
                    ex.range;
          }
          const double ck_tol = approximate ? std::max(tol, bound) : tol;
          cmp = compare(ops.out.data(), ref->data(), ref->numel, p.dtype, ck_tol);
          expected = ref->data();
          if (cmp.mismatches) {
            any_mismatch = true;
            verify = "FAIL " + std::to_string(cmp.mismatches) + " max" + diff_str(cmp.max_abs_diff);
          } else if (approximate) {
            verify = "bound(" + fmt("%.2g", ck_tol) + ")";
          } else {
            verify = ex.exact ? "exact" : "ok(tol " + fmt("%.2g", tol) + ")";
          }
        }
        if (opt.vs_onednn) {
#ifdef CONVKIT_BENCH_WITH_ONEDNN
          dany = dn::run(p, opt.dir, opt.transposed, true, ops, expected, tol, opt.reps);
          dnchw = dn::run(p, opt.dir, opt.transposed, false, ops, expected, tol, opt.reps);
          // OpenMP workers spin for a while after a parallel region; let them settle so they
          // do not steal cycles from the next convkit measurement.
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
#else
          (void)expected;
#endif
        }
      } catch (const std::exception& e) {
        error = e.what();
        any_error = true;
      }
    }
    const double flops = pr.p ? 2.0 * static_cast<double>(pr.p->macs()) : 0;
    auto dgf = [&](const DnnlResult& d) { return d.ran ? flops / (d.t.median_ms * 1e-3) * 1e-9 : 0.0; };
    auto dver = [&](const DnnlResult& d) -> std::string {
      if (!d.ran) return "-";
      if (!d.checked) return "unchecked";
      if (d.cmp.mismatches) return "MISMATCH " + std::to_string(d.cmp.mismatches);
      return "ok";
    };
    const double xany = dany.ran && tck.median_ms > 0 ? dany.t.median_ms / tck.median_ms : 0;
    const double xnchw = dnchw.ran && tck.median_ms > 0 ? dnchw.t.median_ms / tck.median_ms : 0;
    if (dany.ran) g_any.add(dgf(dany)), g_xany.add(xany);
    if (dnchw.ran) g_nchw.add(dgf(dnchw)), g_xnchw.add(xnchw);

    if (!error.empty() && tck.reps == 0) {
      std::printf("%-*s  %-*s  ERROR: %s\n", static_cast<int>(wname), pr.c.name.c_str(),
                  static_cast<int>(wdesc), pr.descriptor.c_str(), error.c_str());
    } else {
      std::printf("%-*s  %-*s  %-12s %10.3f %8.1f %5.1f%%  %-16s", static_cast<int>(wname),
                  pr.c.name.c_str(), static_cast<int>(wdesc), pr.descriptor.c_str(), alg.c_str(),
                  tck.median_ms, gf, pct, verify.c_str());
      if (opt.vs_onednn) {
        auto col = [&](const DnnlResult& d) {
          if (d.ran) {
            std::string impl = d.impl;
            if (d.checked && d.cmp.mismatches) impl += " MISMATCH(" + std::to_string(d.cmp.mismatches) + ")";
            std::printf(" | %10.3f %8.1f %-24s", d.t.median_ms, dgf(d), impl.c_str());
          } else {
            std::printf(" | %10s %8s %-24s", "n/a", "-", "-");
          }
        };
        col(dany);
        col(dnchw);
        std::printf(" | %6s %6s", xany > 0 ? fmt("%.2f", xany).c_str() : "-",
                    xnchw > 0 ? fmt("%.2f", xnchw).c_str() : "-");
      }
      std::printf("\n");
      if (!error.empty()) std::printf("#   %s: error: %s\n", pr.c.name.c_str(), error.c_str());
      if (!dany.error.empty()) std::printf("#   %s: oneDNN any: %s\n", pr.c.name.c_str(), dany.error.c_str());
      if (!dnchw.error.empty()) std::printf("#   %s: oneDNN nchw: %s\n", pr.c.name.c_str(), dnchw.error.c_str());
    }
    const double foreign = load.fraction();
    if (foreign > 0.05 && load.seconds() > 0.2) {
      ++disturbed;
      std::printf("#   %s: DISTURBED: other processes used %.0f%% of the machine's CPUs meanwhile\n",
                  pr.c.name.c_str(), 100 * foreign);
    }
    std::fflush(stdout);

    if (csv) {
      std::fprintf(csv, "%s,%s,%s,%s,%s,%d,%s,%d,%.6f,%.6f,%.3f,%.2f,%s,%lld,%s",
                   csv_quote(pr.c.name).c_str(), pr.descriptor.c_str(), opt.dir_name.c_str(),
                   pr.p ? convkit::layout_name(opt.layout, pr.p->spatial_dims) : "?", f64 ? "f64" : "f32",
                   opt.threads, csv_quote(error.empty() ? alg : "ERROR: " + error).c_str(), tck.reps,
                   tck.median_ms, tck.min_ms, gf, pct, csv_quote(verify).c_str(),
                   static_cast<long long>(cmp.mismatches), diff_str(cmp.max_abs_diff).c_str());
      if (opt.vs_onednn) {
        auto ccol = [&](const DnnlResult& d) {
          if (d.ran)
            std::fprintf(csv, ",%.6f,%.3f,%s,%s", d.t.median_ms, dgf(d), csv_quote(d.impl).c_str(),
                         dver(d).c_str());
          else
            std::fprintf(csv, ",,,%s,", csv_quote(d.error).c_str());
        };
        ccol(dany);
        ccol(dnchw);
        std::fprintf(csv, ",%s,%s", xany > 0 ? fmt("%.4f", xany).c_str() : "",
                     xnchw > 0 ? fmt("%.4f", xnchw).c_str() : "");
      }
      std::fprintf(csv, ",%s\n", foreign >= 0 ? fmt("%.1f", 100 * foreign).c_str() : "");
      std::fflush(csv);
    }
  }

  auto gm = [](const Geo& g, const char* f) { return g.n ? fmt(f, g.value()) : std::string("-"); };
  std::printf("# geomean over %d problem(s): convkit %s GFLOP/s (%s%% of peak)", g_ck.n,
              gm(g_ck, "%.1f").c_str(), gm(g_pct, "%.1f").c_str());
  if (opt.vs_onednn)
    std::printf("; oneDNN any %s GFLOP/s (%d), nchw %s GFLOP/s (%d); speed convkit/oneDNN: "
                "vs any %s, vs nchw %s",
                gm(g_any, "%.1f").c_str(), g_any.n, gm(g_nchw, "%.1f").c_str(), g_nchw.n,
                gm(g_xany, "%.3f").c_str(), gm(g_xnchw, "%.3f").c_str());
  std::printf("\n");
  const double run_foreign = run_load.fraction();
  if (run_foreign >= 0)
    std::printf("# other processes used %.1f%% of the machine's CPUs during the run (%.1f s); %d "
                "problem(s) flagged DISTURBED (> 5%%)%s\n", 100 * run_foreign, run_load.seconds(),
                disturbed, run_foreign > 0.05 ? ": re-run on a quiet machine before trusting the numbers" : "");
  if (csv) {
    std::fprintf(csv, "# geomean n=%d convkit_gflops=%.3f pct_peak=%.2f", g_ck.n, g_ck.value(), g_pct.value());
    if (opt.vs_onednn)
      std::fprintf(csv, " onednn_any_gflops=%.3f onednn_nchw_gflops=%.3f speed_vs_any=%.4f speed_vs_nchw=%.4f",
                   g_any.value(), g_nchw.value(), g_xany.value(), g_xnchw.value());
    std::fprintf(csv, "\n");
    std::fclose(csv);
  }
  if (any_mismatch) {
    std::printf("# VERIFICATION FAILED (see the verify column)\n");
    return 1;
  }
  return any_error ? 3 : 0;
}
