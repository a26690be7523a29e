// DLRM pairwise interaction: one thread per (sample, pair i > j), a dot product over D read from global memory.
#include <cstdint>

__global__ void interaction(const float* features, float* out, int64_t B, int64_t F, int64_t D, int64_t pairs) {
  int64_t index = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (index >= B * pairs) return;
  int64_t sample = index / pairs, pair = index % pairs;
  // Invert pair = i * (i - 1) / 2 + j (the order of tril_indices with offset -1).
  int64_t i = 1;
  while ((i + 1) * i / 2 <= pair) ++i;
  int64_t j = pair - i * (i - 1) / 2;
  const float* a = features + (sample * F + i) * D;
  const float* b = features + (sample * F + j) * D;
  float total = 0.f;
  for (int64_t d = 0; d < D; ++d) total += a[d] * b[d];
  out[index] = total;
}

extern "C" void kernel(const float* features, float* out, int64_t B, int64_t F, int64_t D) {
  int64_t pairs = F * (F - 1) / 2;
  if (B * pairs == 0) return;
  interaction<<<(unsigned)((B * pairs + 255) / 256), 256>>>(features, out, B, F, D, pairs);
}
