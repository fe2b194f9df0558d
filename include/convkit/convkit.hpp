// convkit/convkit.hpp — umbrella header: include this to get the whole public C++ API.
#pragma once

#include "convkit/conv.hpp"
#include "convkit/error.hpp"
#include "convkit/signal.hpp"
#include "convkit/tensor.hpp"

#define CONVKIT_VERSION_MAJOR 0
#define CONVKIT_VERSION_MINOR 1
#define CONVKIT_VERSION_PATCH 0
