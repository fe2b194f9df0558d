// src/kernels/filter/lines_avx2.cpp — line conversion loops (line_kernels.hpp) for avx2.
#include "kernels/filter/line_kernels.hpp"

#include "kernels/filter/line_convert.inc"

namespace convkit::signal::detail {

const LineKernels line_kernels_avx2 = make_line_kernels();

}  // namespace convkit::signal::detail
