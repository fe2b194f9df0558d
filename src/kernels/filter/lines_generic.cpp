// src/kernels/filter/lines_generic.cpp — line conversion loops (line_kernels.hpp) for generic.
#include "kernels/filter/line_kernels.hpp"

#include "kernels/filter/line_convert.inc"

namespace convkit::signal::detail {

const LineKernels line_kernels_generic = make_line_kernels();

const LineKernels& line_kernels(convkit::detail::Isa isa) {
  switch (isa) {
    case convkit::detail::Isa::avx512: return line_kernels_avx512;
    case convkit::detail::Isa::avx2: return line_kernels_avx2;
    case convkit::detail::Isa::generic: break;
  }
  return line_kernels_generic;
}

}  // namespace convkit::signal::detail
