// Kiln runtime: the kernels generated code calls. Header-only C++17, no heap,
// no exceptions, no RTTI, no global mutable state; the same source serves the
// C++ backend (included by generated code) and the LLVM backend.
#pragma once

#include "kiln/kernels/common.h"
#include "kiln/kernels/conv.h"
#include "kiln/kernels/conv_transpose.h"
#include "kiln/kernels/elementwise.h"
#include "kiln/kernels/linear.h"
#include "kiln/kernels/pool.h"
