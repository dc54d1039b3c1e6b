// Kiln runtime: which micro-kernel primitives this build uses, chosen at
// compile time from the compiler's target macros (-march / the LLVM
// backend's CPU): AVX-512, AVX2 + FMA, AArch64 NEON, or the portable path.
// Defining KILN_UK_PORTABLE forces the portable path (KILN_UK_SCALAR: its
// one-float form). A new ISA is a new
// folder with a vec.h defining kiln_rt::uk::Vec and kIsa, and a line here.
// Everything that depends on the choice lives in the inline namespace
// KILN_UK_NS (one name per ISA), so that objects built for different ISAs
// link together without two definitions of one symbol.
#pragma once

#if defined(KILN_UK_PORTABLE) || defined(KILN_UK_SCALAR)
#define KILN_UK_NS isa_portable
#include "portable/vec.h"
#elif defined(__AVX512F__)
#define KILN_UK_NS isa_avx512
#include "avx512/vec.h"
#elif defined(__AVX2__) && defined(__FMA__)
#define KILN_UK_NS isa_avx2
#include "avx2/vec.h"
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define KILN_UK_NS isa_neon
#include "neon/vec.h"
#else
#define KILN_UK_NS isa_portable
#include "portable/vec.h"
#endif
