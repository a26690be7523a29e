// kernelevolve:template
// param THREADS: 256, 128, 512
// param VECTORS: 4, 1, 2, 8
// [B, H, S, D] -> [B, S, H, D]: a pure copy of D-long rows; each thread moves VECTORS 16-byte vectors (loads first, then
// stores), reads and writes both coalesced; scalar path when D is not a multiple of 4.
#include <cstdint>

constexpr int THREADS = {{THREADS}};
constexpr int VECTORS = {{VECTORS}};

__global__ void __launch_bounds__(THREADS) permute_vectors(const float4* __restrict__ x, float4* __restrict__ y, int64_t H, int64_t S,
                                                           int64_t D4, int64_t total) {
  const int64_t base = (int64_t)blockIdx.x * THREADS * VECTORS + threadIdx.x;
  float4 values[VECTORS];
#pragma unroll
  for (int u = 0; u < VECTORS; ++u) {
    int64_t i = base + (int64_t)u * THREADS;
    if (i < total) values[u] = __ldcs(x + i);
  }
#pragma unroll
  for (int u = 0; u < VECTORS; ++u) {
    int64_t i = base + (int64_t)u * THREADS;
    if (i < total) {
      int64_t d = i % D4, row = i / D4;
      int64_t s = row % S, h = (row / S) % H, b = row / (S * H);
      __stcs(y + ((b * S + s) * H + h) * D4 + d, values[u]);
    }
  }
}

__global__ void permute_scalars(const float* __restrict__ x, float* __restrict__ y, int64_t H, int64_t S, int64_t D, int64_t total) {
  int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= total) return;
  int64_t d = i % D, row = i / D;
  int64_t s = row % S, h = (row / S) % H, b = row / (S * H);
  y[((b * S + s) * H + h) * D + d] = x[i];
}

extern "C" void kernel(const float* x, float* y, int64_t B, int64_t H, int64_t S, int64_t D) {
  int64_t count = B * H * S * D;
  if (count == 0) return;
  if (D % 4 == 0) {
    int64_t total = count / 4;
    unsigned blocks = (unsigned)((total + THREADS * VECTORS - 1) / (THREADS * VECTORS));
    permute_vectors<<<blocks, THREADS>>>(reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), H, S, D / 4, total);
  } else {
    permute_scalars<<<(unsigned)((count + 255) / 256), 256>>>(x, y, H, S, D, count);
  }
}
