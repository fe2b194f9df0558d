// src/kernels/filter/lines_avx512.cpp — line conversion loops (line_kernels.hpp) for avx512.
#include "kernels/filter/line_kernels.hpp"

#include "kernels/filter/line_convert.inc"

namespace convkit::signal::detail {

const LineKernels line_kernels_avx512 = make_line_kernels();

}  // namespace convkit::signal::detail
