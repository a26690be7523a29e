// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param SCHEDULE: static, guided, dynamic
// param ROWS_PER_CHUNK: 16, 4, 64
// param ACCUMULATORS: 2, 4
// Fused layer norm: mean and variance in two SIMD passes over the row while it sits in L1
// (two-pass variance: no cancellation for rows with a large mean), then one normalising pass.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace {
constexpr int kLanes = {{VECTOR_BYTES}} / 4;
constexpr int kAccumulators = {{ACCUMULATORS}};
typedef float Vector __attribute__((vector_size({{VECTOR_BYTES}})));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}
inline void store(float* target, Vector value) { std::memcpy(target, &value, sizeof(Vector)); }

inline float reduce(Vector* accumulators) {
  for (int a = 1; a < kAccumulators; ++a) accumulators[0] += accumulators[a];
  float sum = 0.0f;
  for (int lane = 0; lane < kLanes; ++lane) sum += accumulators[0][lane];
  return sum;
}
}  // namespace

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y,
                       int64_t R, int64_t D, double eps) {
  constexpr int64_t kStep = kLanes * kAccumulators;
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (R * D >= 16384)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * D;
    float* output = y + r * D;
    Vector accumulators[kAccumulators];
    for (int a = 0; a < kAccumulators; ++a) accumulators[a] = Vector{};
    int64_t d = 0;
    for (; d + kStep <= D; d += kStep)
      for (int a = 0; a < kAccumulators; ++a) accumulators[a] += load(row + d + a * kLanes);
    for (; d + kLanes <= D; d += kLanes) accumulators[0] += load(row + d);
    float sum = reduce(accumulators);
    for (; d < D; ++d) sum += row[d];
    const float mean = sum / static_cast<float>(D);

    for (int a = 0; a < kAccumulators; ++a) accumulators[a] = Vector{};
    d = 0;
    for (; d + kStep <= D; d += kStep)
      for (int a = 0; a < kAccumulators; ++a) {
        const Vector centred = load(row + d + a * kLanes) - mean;
        accumulators[a] += centred * centred;
      }
    for (; d + kLanes <= D; d += kLanes) {
      const Vector centred = load(row + d) - mean;
      accumulators[0] += centred * centred;
    }
    float squares = reduce(accumulators);
    for (; d < D; ++d) squares += (row[d] - mean) * (row[d] - mean);
    const float inverse = 1.0f / std::sqrt(squares / static_cast<float>(D) + static_cast<float>(eps));

    d = 0;
    for (; d + kLanes <= D; d += kLanes)
      store(output + d, (load(row + d) - mean) * inverse * load(weight + d) + load(bias + d));
    for (; d < D; ++d) output[d] = (row[d] - mean) * inverse * weight[d] + bias[d];
  }
}
