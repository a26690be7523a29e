// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param UNROLL: 2, 4
// param CHUNK: 16384, 65536
// param SCHEDULE: static, dynamic
// param ERFC: short, long
// param RECIPROCAL: estimate, divide
// Exact GELU, 0.5 * x * (1 + erf(x / sqrt(2))), with a SIMD erfc that keeps relative accuracy on
// the negative tail: for x < 0 the result is 0.5 * x * erfc(|x| / sqrt(2)) computed directly (no
// cancellation in 1 + erf). ERFC=long: erfc(z) = t * exp(P9(t) - z^2), t = 1 / (1 + z / 2), a fit
// with a fractional error below 1.2e-7; ERFC=short: erfc(z) = t * P5(t) * exp(-z^2),
// t = 1 / (1 + 0.3275911 z) (Abramowitz-Stegun 7.1.26, absolute error below 1.5e-7, fewer
// operations). exp is an inlined polynomial with Cody-Waite range reduction.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace {
constexpr int kLanes = {{VECTOR_BYTES}} / 4;
constexpr int kUnroll = {{UNROLL}};
typedef float Vector __attribute__((vector_size({{VECTOR_BYTES}})));
typedef int32_t IntVector __attribute__((vector_size({{VECTOR_BYTES}})));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}
inline void store(float* target, Vector value) { std::memcpy(target, &value, sizeof(Vector)); }

// e^x for x <= 0; clamps below -87 (the result is then below float's normal range and irrelevant).
inline Vector exp_nonpositive(Vector x) {
  x = x < -87.0f ? Vector{} - 87.0f : x;
  const Vector scaled = x * 1.44269504088896341f;
  const Vector rounded = __builtin_convertvector(__builtin_convertvector(scaled - 0.5f, IntVector), Vector);
  const Vector reduced = x - rounded * 0.693145751953125f - rounded * 1.428606765330187045e-06f;
  Vector polynomial = Vector{} + 1.0f / 5040.0f;
  polynomial = polynomial * reduced + 1.0f / 720.0f;
  polynomial = polynomial * reduced + 1.0f / 120.0f;
  polynomial = polynomial * reduced + 1.0f / 24.0f;
  polynomial = polynomial * reduced + 1.0f / 6.0f;
  polynomial = polynomial * reduced + 0.5f;
  polynomial = polynomial * reduced + 1.0f;
  polynomial = polynomial * reduced + 1.0f;
  const IntVector exponent = (__builtin_convertvector(rounded, IntVector) + 127) << 23;
  Vector power;
  std::memcpy(&power, &exponent, sizeof(Vector));
  return polynomial * power;
}

constexpr bool same(const char* left, const char* right) {
  return *left == *right && (*left == '\0' || same(left + 1, right + 1));
}

// 1 / d: RECIPROCAL=estimate uses the hardware estimate refined by one Newton step (about 23 bits),
// much cheaper than a full-width division; a template so the branch for the other width is discarded.
template <typename V>
inline V reciprocal(V d) {
  if constexpr (same("{{RECIPROCAL}}", "estimate")) {
#if defined(__AVX512F__)
    if constexpr (sizeof(V) == 64) {
      const V estimate = (V)_mm512_rcp14_ps((__m512)d);
      return estimate * (2.0f - d * estimate);
    }
#endif
#if defined(__AVX__)
    if constexpr (sizeof(V) == 32) {
      const V estimate = (V)_mm256_rcp_ps((__m256)d);
      return estimate * (2.0f - d * estimate);
    }
#endif
  }
  return 1.0f / d;
}

inline Vector gelu(Vector x) {
  const Vector z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
  Vector complement;  // erfc(|x| / sqrt(2))
  if constexpr (same("{{ERFC}}", "short")) {
    const Vector t = reciprocal(1.0f + 0.3275911f * z);
    Vector p = Vector{} + 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    complement = t * p * exp_nonpositive(-(z * z));
  } else {
    const Vector t = reciprocal(1.0f + 0.5f * z);
    Vector p = Vector{} + 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    complement = t * exp_nonpositive(p - z * z);
  }
  const Vector half_x = 0.5f * x;
  return x < 0.0f ? half_x * complement : half_x * (2.0f - complement);
}
}  // namespace

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  const int64_t count = R * C;
  constexpr int64_t kChunk = {{CHUNK}};
  const int64_t chunks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for schedule({{SCHEDULE}}) if (chunks > 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t begin = chunk * kChunk;
    const int64_t end = begin + kChunk < count ? begin + kChunk : count;
    int64_t i = begin;
    for (; i + kLanes * kUnroll <= end; i += kLanes * kUnroll)
      for (int u = 0; u < kUnroll; ++u) store(y + i + u * kLanes, gelu(load(x + i + u * kLanes)));
    for (; i + kLanes <= end; i += kLanes) store(y + i, gelu(load(x + i)));
    if (i < end) {
      // tail: pad into a full vector so the tail uses the same arithmetic as the body
      float padded[kLanes] = {};
      for (int64_t j = i; j < end; ++j) padded[j - i] = x[j];
      const Vector result = gelu(load(padded));
      for (int64_t j = i; j < end; ++j) y[j] = result[j - i];
    }
  }
}
