// Kiln runtime: the kernels generated code calls. Header-only C++17, no heap,
// no exceptions, no RTTI, no global mutable state; the same source serves the
// C++ backend (included by generated code) and the LLVM backend.
#pragma once

#include "kernels/adaptive_pool.h"
#include "kernels/broadcast.h"
#include "kernels/common.h"
#include "kernels/conv.h"
#include "kernels/conv_gemm.h"
#include "kernels/conv_transpose.h"
#include "kernels/conv_transpose_gemm.h"
#include "kernels/conv_transpose_phases.h"
#include "kernels/conv_winograd.h"
#include "kernels/depthwise.h"
#include "kernels/elementwise.h"
#include "kernels/fp_mode.h"
#include "kernels/linear.h"
#include "kernels/matmul.h"
#include "kernels/normalize.h"
#include "kernels/pad.h"
#include "kernels/pool.h"
#include "kernels/row_norm.h"
#include "kernels/slice.h"
#include "kernels/transpose.h"
#include "kernels/unpool.h"
#include "kernels/upsample.h"
