// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param SCHEDULE: static, guided, dynamic
// param ROWS_PER_CHUNK: 8, 2, 32
// param EXP_DEGREE: 7, 6
// Fused row softmax: maximum, exponentials (written once, summed on the fly) and the scaling pass
// all run on a row that stays in L1; exp is an inlined SIMD polynomial (Cody-Waite range reduction).
#include <cstdint>
#include <cstring>

namespace {
constexpr int kLanes = {{VECTOR_BYTES}} / 4;
typedef float Vector __attribute__((vector_size({{VECTOR_BYTES}})));
typedef int32_t IntVector __attribute__((vector_size({{VECTOR_BYTES}})));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}
inline void store(float* target, Vector value) { std::memcpy(target, &value, sizeof(Vector)); }

// e^x for x <= 0 (inputs are shifted by the row maximum); underflows cleanly to 0 below -87.
inline Vector exp_nonpositive(Vector x) {
  x = x < -87.0f ? Vector{} - 87.0f : x;
  const Vector scaled = x * 1.44269504088896341f;
  // scaled <= 0, so truncating scaled - 0.5 toward zero rounds it to the nearest integer
  const Vector rounded = __builtin_convertvector(__builtin_convertvector(scaled - 0.5f, IntVector), Vector);
  const Vector reduced = x - rounded * 0.693145751953125f - rounded * 1.428606765330187045e-06f;
  Vector polynomial;
  if constexpr ({{EXP_DEGREE}} == 7) {
    polynomial = Vector{} + 1.0f / 5040.0f;
    polynomial = polynomial * reduced + 1.0f / 720.0f;
  } else {
    polynomial = Vector{} + 1.0f / 720.0f;
  }
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

inline float exp_scalar(float x) {
  Vector lanes = Vector{} + x;
  return exp_nonpositive(lanes)[0];
}
}  // namespace

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (R * C >= 16384)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * C;
    float* output = y + r * C;
    float maximum = row[0];
    int64_t c = 0;
    if (C >= kLanes) {
      Vector best = load(row);
      for (c = kLanes; c + kLanes <= C; c += kLanes) {
        const Vector value = load(row + c);
        best = value > best ? value : best;
      }
      for (int lane = 0; lane < kLanes; ++lane) maximum = best[lane] > maximum ? best[lane] : maximum;
    }
    for (; c < C; ++c) maximum = row[c] > maximum ? row[c] : maximum;

    Vector sums = Vector{};
    c = 0;
    for (; c + kLanes <= C; c += kLanes) {
      const Vector e = exp_nonpositive(load(row + c) - maximum);
      store(output + c, e);
      sums += e;
    }
    float sum = 0.0f;
    for (int lane = 0; lane < kLanes; ++lane) sum += sums[lane];
    for (; c < C; ++c) {
      output[c] = exp_scalar(row[c] - maximum);
      sum += output[c];
    }
    const float inverse = 1.0f / sum;
    c = 0;
    for (; c + kLanes <= C; c += kLanes) store(output + c, load(output + c) * inverse);
    for (; c < C; ++c) output[c] *= inverse;
  }
}
