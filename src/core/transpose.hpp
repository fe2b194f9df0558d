// src/core/transpose.hpp — small blocked transposes between channel-major and position-major
// layouts (the outer-product and channels-in-vector gradient algorithms build their operands
// with them).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace convkit::detail {

// dst[r·ldd + c] = src[c·lds + r] for c < cn, r < rn: 4×4 (float) or 2×2 (double) blocks
// transposed in 16-byte registers (GCC vector extensions, any target), scalar edges.
template <typename T>
inline void transpose_block(std::int64_t cn, std::int64_t rn, const T* src, std::int64_t lds,
                            T* dst, std::int64_t ldd) {
  constexpr int B = 16 / sizeof(T);
  typedef T V __attribute__((vector_size(16)));
  using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  typedef I M __attribute__((vector_size(16)));
  const std::int64_t cb = cn / B * B, rb = rn / B * B;
  for (std::int64_t c = 0; c < cb; c += B) {
    for (std::int64_t r = 0; r < rb; r += B) {
      V v[B];
      for (int i = 0; i < B; ++i) std::memcpy(&v[i], src + (c + i) * lds + r, sizeof(V));
      V o[B];
      if constexpr (B == 4) {
        const V t0 = __builtin_shuffle(v[0], v[1], M{0, 4, 1, 5});
        const V t1 = __builtin_shuffle(v[0], v[1], M{2, 6, 3, 7});
        const V t2 = __builtin_shuffle(v[2], v[3], M{0, 4, 1, 5});
        const V t3 = __builtin_shuffle(v[2], v[3], M{2, 6, 3, 7});
        o[0] = __builtin_shuffle(t0, t2, M{0, 1, 4, 5});
        o[1] = __builtin_shuffle(t0, t2, M{2, 3, 6, 7});
        o[2] = __builtin_shuffle(t1, t3, M{0, 1, 4, 5});
        o[3] = __builtin_shuffle(t1, t3, M{2, 3, 6, 7});
      } else {
        o[0] = __builtin_shuffle(v[0], v[1], M{0, 2});
        o[1] = __builtin_shuffle(v[0], v[1], M{1, 3});
      }
      for (int i = 0; i < B; ++i) std::memcpy(dst + (r + i) * ldd + c, &o[i], sizeof(V));
    }
    for (std::int64_t r = rb; r < rn; ++r)
      for (int i = 0; i < B; ++i) dst[r * ldd + c + i] = src[(c + i) * lds + r];
  }
  for (std::int64_t c = cb; c < cn; ++c)
    for (std::int64_t r = 0; r < rn; ++r) dst[r * ldd + c] = src[c * lds + r];
}


// The same transpose in tiles of 16 source rows × 64 positions, so that the 16 source runs and
// 64 destination rows of a tile stay in L1 while it is transposed.
template <typename T>
inline void transpose_tiled(std::int64_t cn, std::int64_t rn, const T* src, std::int64_t lds,
                            T* dst, std::int64_t ldd) {
  for (std::int64_t c0 = 0; c0 < cn; c0 += 16)
    for (std::int64_t r0 = 0; r0 < rn; r0 += 64)
      transpose_block<T>(cn - c0 < 16 ? cn - c0 : 16, rn - r0 < 64 ? rn - r0 : 64,
                         src + c0 * lds + r0, lds, dst + r0 * ldd + c0, ldd);
}

}  // namespace convkit::detail
