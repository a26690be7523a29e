// kernelevolve:template
// param SCHEDULE: dynamic, static
// param BAGS_PER_CHUNK: 8, 32, 2
// param PREFETCH: 16, 8, 0
// param UNROLL: 2, 1, 4
// Embedding bag (sum): bags are spread over threads; within a bag, looked-up rows are summed into
// registers (columns in blocks of 64 floats, the remainder column by column), several rows at a time
// (UNROLL) for independent loads, while the rows PREFETCH positions ahead are fetched into cache,
// hiding the latency of the random reads from a table far larger than the caches.
#include <cstdint>
#include <cstring>

namespace {
constexpr int kLanes = 16;
constexpr int kBlock = 64;  // columns per pass: kBlock / kLanes native SIMD registers per row
constexpr int kUnroll = {{UNROLL}};
constexpr int64_t kPrefetch = {{PREFETCH}};
typedef float Lane __attribute__((vector_size(kLanes * 4)));

constexpr int kParts = kBlock / kLanes;

inline Lane load(const float* source) {
  Lane value;
  std::memcpy(&value, source, sizeof(Lane));
  return value;
}
inline void store(float* target, Lane value) { std::memcpy(target, &value, sizeof(Lane)); }

inline void prefetch_row(const float* row, int64_t D) {
  for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(row + d, 0, 1);
}
}  // namespace

extern "C" void kernel(const float* weight, const int64_t* indices, const int64_t* offsets, float* out,
                       int64_t V, int64_t D, int64_t N, int64_t B) {
  (void)V;
#pragma omp parallel for schedule({{SCHEDULE}}, {{BAGS_PER_CHUNK}}) if (N * D >= 32768)
  for (int64_t b = 0; b < B; ++b) {
    const int64_t begin = offsets[b], end = offsets[b + 1];
    float* row = out + b * D;
    if (kPrefetch > 0)
      for (int64_t j = begin; j < end && j < begin + kPrefetch; ++j) prefetch_row(weight + indices[j] * D, D);
    int64_t d = 0;
    for (; d + kBlock <= D; d += kBlock) {
      // all indices below are compile-time after unrolling, so the sums stay in registers
      Lane sums[kUnroll][kParts];
#pragma GCC unroll 8
      for (int u = 0; u < kUnroll; ++u)
#pragma GCC unroll 8
        for (int i = 0; i < kParts; ++i) sums[u][i] = Lane{};
      int64_t j = begin;
      for (; j + kUnroll <= end; j += kUnroll) {
#pragma GCC unroll 8
        for (int u = 0; u < kUnroll; ++u) {
          if (kPrefetch > 0 && d == 0 && j + u + kPrefetch < end)
            prefetch_row(weight + indices[j + u + kPrefetch] * D, D);
          const float* source = weight + indices[j + u] * D + d;
#pragma GCC unroll 8
          for (int i = 0; i < kParts; ++i) sums[u][i] += load(source + i * kLanes);
        }
      }
      for (; j < end; ++j) {
        if (kPrefetch > 0 && d == 0 && j + kPrefetch < end) prefetch_row(weight + indices[j + kPrefetch] * D, D);
        const float* source = weight + indices[j] * D + d;
#pragma GCC unroll 8
        for (int i = 0; i < kParts; ++i) sums[0][i] += load(source + i * kLanes);
      }
#pragma GCC unroll 8
      for (int u = 1; u < kUnroll; ++u)
#pragma GCC unroll 8
        for (int i = 0; i < kParts; ++i) sums[0][i] += sums[u][i];
#pragma GCC unroll 8
      for (int i = 0; i < kParts; ++i) store(row + d + i * kLanes, sums[0][i]);
    }
    for (; d < D; ++d) {
      float sum = 0.0f;
      for (int64_t j = begin; j < end; ++j) sum += weight[indices[j] * D + d];
      row[d] = sum;
    }
  }
}
