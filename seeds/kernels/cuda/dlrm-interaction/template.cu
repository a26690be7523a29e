// kernelevolve:template
// param THREADS: 128, 64, 256
// param SAMPLES: 2, 1, 4
// DLRM pairwise interaction: a block stages SAMPLES samples' F x D features in shared memory (rows padded by one word
// against bank conflicts), then its threads compute the strict-lower-triangle dot products and store them contiguously.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = {{THREADS}};
constexpr int SAMPLES = {{SAMPLES}};

__global__ void __launch_bounds__(THREADS) interaction(const float* __restrict__ features, float* __restrict__ out, int64_t B, int64_t F,
                                                       int64_t D, int64_t pairs) {
  extern __shared__ float staged[];
  const int64_t stride = D + 1;
  const int64_t first = (int64_t)blockIdx.x * SAMPLES;
  const int64_t count = (B - first) < SAMPLES ? (B - first) : SAMPLES;
  for (int64_t i = threadIdx.x; i < count * F * D; i += THREADS) {
    const int64_t row = i / D, column = i % D;
    staged[row * stride + column] = __ldcs(features + first * F * D + i);
  }
  __syncthreads();
  for (int64_t index = threadIdx.x; index < count * pairs; index += THREADS) {
    const int64_t sample = index / pairs, pair = index % pairs;
    // Invert pair = i * (i - 1) / 2 + j (the order of tril_indices with offset -1).
    int64_t i = (int64_t)((1.0 + sqrt(1.0 + 8.0 * (double)pair)) / 2.0);
    while (i * (i - 1) / 2 > pair) --i;
    while ((i + 1) * i / 2 <= pair) ++i;
    const int64_t j = pair - i * (i - 1) / 2;
    const float* a = staged + (sample * F + i) * stride;
    const float* b = staged + (sample * F + j) * stride;
    float total = 0.f;
    for (int64_t d = 0; d < D; ++d) total = fmaf(a[d], b[d], total);
    out[(first + sample) * pairs + pair] = total;
  }
}

extern "C" void kernel(const float* features, float* out, int64_t B, int64_t F, int64_t D) {
  const int64_t pairs = F * (F - 1) / 2;
  if (B == 0 || pairs == 0) return;
  const size_t shared = (size_t)SAMPLES * F * (D + 1) * sizeof(float);
  if (shared > 48 * 1024) cudaFuncSetAttribute(interaction, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);
  interaction<<<(unsigned)((B + SAMPLES - 1) / SAMPLES), THREADS, shared>>>(features, out, B, F, D, pairs);
}
