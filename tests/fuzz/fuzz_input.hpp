// tests/fuzz/fuzz_input.hpp — a tiny byte reader shared by the fuzz harnesses.
//
// Every draw consumes bytes from the fuzzer's input; once the input is exhausted every draw
// returns 0 (so short inputs still describe a complete, simple case). Derived pseudo-random
// data (tensor contents) comes from a SplitMix64 stream seeded by the remaining bytes, so the
// harnesses can fill large buffers without needing large inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace convkit_fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}

  std::uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(u8()) << (8 * i);
    return v;
  }
  /// A value in [0, n).
  unsigned pick(unsigned n) { return n ? u8() % n : 0; }
  bool flag() { return u8() & 1; }
  /// True with probability about 1/n.
  bool one_in(unsigned n) { return pick(n) == 0; }
  std::size_t remaining() const { return pos_ < n_ ? n_ - pos_ : 0; }

  /// A seed from everything not consumed yet (FNV-1a).
  std::uint64_t seed_from_rest() const {
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t i = pos_; i < n_; ++i) h = (h ^ p_[i]) * 1099511628211ull;
    return h;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

/// SplitMix64: a small deterministic generator for tensor contents.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// An integer in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
};

/// Known, reported findings can be stepped around so a campaign keeps finding new ones:
/// CONVKIT_FUZZ_AVOID is a comma-separated list of issue names (see tests/fuzz/README.md).
/// The regression inputs under tests/fuzz/regressions/ replay without it.
inline bool avoid(const char* issue) {
  const char* env = std::getenv("CONVKIT_FUZZ_AVOID");
  if (!env) return false;
  const std::string list = std::string(",") + env + ",";
  return list.find(std::string(",") + issue + ",") != std::string::npos;
}

/// Caps the micro-kernels' ISA path (CONVKIT_MAX_ISA, which convkit reads at every call):
/// choice 0 avx512, 1 avx2, 2 generic, anything else no cap. Returns the cap's name.
inline const char* cap_isa(unsigned choice) {
  static const char* const caps[] = {"avx512", "avx2", "generic"};
  if (choice < 3) {
    setenv("CONVKIT_MAX_ISA", caps[choice], 1);
    return caps[choice];
  }
  unsetenv("CONVKIT_MAX_ISA");
  return "native";
}

/// A finding: print what went wrong and abort (libFuzzer then saves the input).
[[noreturn]] inline void fail(const char* harness, const char* what) {
  std::fprintf(stderr, "\n%s: FINDING: %s\n", harness, what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace convkit_fuzz

#include <vector>

namespace convkit_fuzz {

/// Where a strided view of `shape` lives inside a freshly allocated backing buffer: element
/// strides (possibly negative, or 0 along a broadcast axis), the offset of element (0, ..., 0)
/// and the number of backing elements to allocate.
struct Strided {
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;
  std::int64_t backing = 1;
};

/// kind 0: C-contiguous. Otherwise per axis: step 1 or 2 (gaps between elements), negative
/// direction, and (when allow_zero) stride 0 along an axis (a broadcast input view).
inline Strided make_strided(const std::vector<std::int64_t>& shape, FuzzInput& in, bool allow_zero) {
  const int r = static_cast<int>(shape.size());
  const unsigned kind = in.pick(4);  // 0, 1: contiguous (the common case); 2, 3: strided
  std::vector<int> step(r, 1);
  std::vector<bool> neg(r, false);
  std::vector<bool> zero(r, false);
  if (kind >= 2) {
    for (int d = 0; d < r; ++d) {
      const std::uint8_t b = in.u8();
      step[d] = 1 + (b & 1);
      neg[d] = (b >> 1) & 1;
      zero[d] = allow_zero && ((b >> 2) & 7) == 0;
    }
  }
  Strided s;
  s.strides.assign(r, 0);
  std::int64_t running = 1;
  for (int d = r - 1; d >= 0; --d) {
    const std::int64_t e = shape[d] > 0 ? shape[d] : 1;
    if (zero[d]) continue;  // stride 0: every index along d reads the same element
    s.strides[d] = running * step[d] * (neg[d] ? -1 : 1);
    if (neg[d]) s.offset += (e - 1) * running * step[d];
    running *= e * step[d];
  }
  s.backing = running;
  return s;
}

}  // namespace convkit_fuzz
