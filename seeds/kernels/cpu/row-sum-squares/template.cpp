// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param ACCUMULATORS: 4, 2, 8
// param SCHEDULE: static, guided, dynamic
// param ROWS_PER_CHUNK: 64, 16, 1
// Row-wise sum of squares in one pass: each row is read once, squared and accumulated in several
// independent SIMD accumulators (hides the FMA latency); rows are spread over the OpenMP threads.
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

inline float horizontal_sum(Vector value) {
  float sum = 0.0f;
  for (int lane = 0; lane < kLanes; ++lane) sum += value[lane];
  return sum;
}
}  // namespace

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (R * C >= 16384)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * C;
    Vector accumulators[kAccumulators];
    for (int a = 0; a < kAccumulators; ++a) accumulators[a] = Vector{} ;
    int64_t c = 0;
    for (; c + kLanes * kAccumulators <= C; c += kLanes * kAccumulators) {
      for (int a = 0; a < kAccumulators; ++a) {
        const Vector value = load(row + c + a * kLanes);
        accumulators[a] += value * value;
      }
    }
    for (; c + kLanes <= C; c += kLanes) {
      const Vector value = load(row + c);
      accumulators[0] += value * value;
    }
    for (int a = 1; a < kAccumulators; ++a) accumulators[0] += accumulators[a];
    float sum = horizontal_sum(accumulators[0]);
    for (; c < C; ++c) sum += row[c] * row[c];
    y[r] = sum;
  }
}
