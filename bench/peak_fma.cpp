// The core's measured floating-point peak for the latency bench
// (bench/latency.py compiles it with -O2 -march=native and runs it pinned to
// the bench's core): independent fused multiply-add chains on the widest
// float32 vector the compiler may use (AVX-512, else AVX2+FMA, else NEON,
// else SSE multiply + add), with enough accumulators to keep every FMA pipe
// busy (latency x pipes; 24 of 32 registers on AVX-512, 12 of 16 on AVX2).
// Prints one line:  ISA LANES ACCUMULATORS GFLOPS   (best of several trials;
// an FMA counts 2 flops per lane).
// usage: peak_fma [SECONDS_PER_TRIAL=0.2]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vec;
static const char *kIsa = "avx512f";
static const int kLanes = 16;
#define ACCS 24
static inline vec vset(float x) { return _mm512_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vsum(vec a) { return _mm512_reduce_add_ps(a); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vec;
static const char *kIsa = "avx2+fma";
static const int kLanes = 8;
#define ACCS 12
static inline vec vset(float x) { return _mm256_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vsum(vec a) {
  float t[8];
  _mm256_storeu_ps(t, a);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#elif defined(__ARM_NEON)
#include <arm_neon.h>
typedef float32x4_t vec;
static const char *kIsa = "neon";
static const int kLanes = 4;
#define ACCS 16
static inline vec vset(float x) { return vdupq_n_f32(x); }
static inline vec vfma(vec a, vec b, vec c) { return vfmaq_f32(c, a, b); }
static inline float vsum(vec a) { return vaddvq_f32(a); }
#elif defined(__SSE2__)
#include <immintrin.h>
typedef __m128 vec;
static const char *kIsa = "sse (mul+add)";
static const int kLanes = 4;
#define ACCS 12
static inline vec vset(float x) { return _mm_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) {
  return _mm_add_ps(_mm_mul_ps(a, b), c);
}
static inline float vsum(vec a) {
  float t[4];
  _mm_storeu_ps(t, a);
  return t[0] + t[1] + t[2] + t[3];
}
#else
#error "peak_fma: no known vector ISA"
#endif

// ITERS rounds of ACCS independent acc = acc * a + b chains.
__attribute__((noinline)) static float chains(long iters, float a, float b) {
  vec va = vset(a), vb = vset(b), acc[ACCS];
  for (int i = 0; i < ACCS; ++i)
    acc[i] = vset(1.0f + 0.01f * float(i));
  for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 32
    for (int i = 0; i < ACCS; ++i)
      acc[i] = vfma(acc[i], va, vb);
  }
  float s = 0;
  for (int i = 0; i < ACCS; ++i)
    s += vsum(acc[i]);
  return s;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 0.2;
  // Values from the command line count, so the chains cannot be folded;
  // a < 1 and b small keep them finite and away from denormals.
  volatile float a = 0.9999f, b = 1e-4f;
  using clock = std::chrono::steady_clock;
  long iters = 1 << 16;
  float sink = 0;
  for (;;) { // grow ITERS until one trial takes about SECONDS
    auto t0 = clock::now();
    sink += chains(iters, a, b);
    double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (s > seconds / 4 || iters > (1L << 40))
      break;
    iters *= 2;
  }
  double best = 0;
  for (int trial = 0; trial < 7; ++trial) {
    auto t0 = clock::now();
    sink += chains(iters, a, b);
    double s = std::chrono::duration<double>(clock::now() - t0).count();
    double gflops = 2.0 * kLanes * ACCS * double(iters) / s / 1e9;
    if (gflops > best)
      best = gflops;
  }
  std::printf("%s %d %d %.2f\n", kIsa, kLanes, ACCS, best);
  return sink == 12345.0f ? 1 : 0; // keep the results alive
}
