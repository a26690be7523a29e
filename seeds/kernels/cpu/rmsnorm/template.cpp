// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param SCHEDULE: static, guided, dynamic
// param ROWS_PER_CHUNK: 16, 4, 64
// param ACCUMULATORS: 2, 4
// Fused RMS norm: the reference makes x^2, its mean, rsqrt, and two products as separate tensors;
// here each row is read once for the sum of squares (in L1 afterwards) and written once.
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
}  // namespace

extern "C" void kernel(const float* x, const float* weight, float* y, int64_t R, int64_t D, double eps) {
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (R * D >= 16384)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * D;
    float* output = y + r * D;
    Vector accumulators[kAccumulators];
    for (int a = 0; a < kAccumulators; ++a) accumulators[a] = Vector{};
    int64_t d = 0;
    for (; d + kLanes * kAccumulators <= D; d += kLanes * kAccumulators)
      for (int a = 0; a < kAccumulators; ++a) {
        const Vector value = load(row + d + a * kLanes);
        accumulators[a] += value * value;
      }
    for (; d + kLanes <= D; d += kLanes) {
      const Vector value = load(row + d);
      accumulators[0] += value * value;
    }
    for (int a = 1; a < kAccumulators; ++a) accumulators[0] += accumulators[a];
    float squares = 0.0f;
    for (int lane = 0; lane < kLanes; ++lane) squares += accumulators[0][lane];
    for (; d < D; ++d) squares += row[d] * row[d];
    const float inverse = 1.0f / std::sqrt(squares / static_cast<float>(D) + static_cast<float>(eps));
    d = 0;
    for (; d + kLanes <= D; d += kLanes) store(output + d, load(row + d) * inverse * load(weight + d));
    for (; d < D; ++d) output[d] = row[d] * inverse * weight[d];
  }
}
