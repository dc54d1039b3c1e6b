// Kiln runtime: <immintrin.h> for the x86 micro-kernels, also where there
// is no C library (the LLVM backend's bitcode is built freestanding):
// immintrin.h would pull in mm_malloc.h and <stdlib.h>, which the kernels
// never use, so their include guards are set first (clang's and GCC's).
#pragma once

#if defined(KILN_FREESTANDING)
#ifndef __MM_MALLOC_H
#define __MM_MALLOC_H
#endif
#ifndef _MM_MALLOC_H_INCLUDED
#define _MM_MALLOC_H_INCLUDED
#endif
#endif
#include <immintrin.h>
