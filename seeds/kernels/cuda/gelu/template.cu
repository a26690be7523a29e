// kernelevolve:template
// param THREADS: 256, 128, 512
// param VECTORS: 2, 1, 4
// param BLOCKS_PER_SM: 8, 4, 16
// Exact GELU: 16-byte (float4) loads and stores, VECTORS of them in flight per thread, a grid-stride loop over a
// grid sized to the SM count; a scalar tail covers counts that are not a multiple of 4.
#include <cstdint>
#include <cuda_runtime.h>

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

__global__ void __launch_bounds__({{THREADS}}) gelu_kernel(const float4* __restrict__ x, float4* __restrict__ y, int64_t vectors) {
  const int64_t stride = (int64_t)gridDim.x * {{THREADS}} * {{VECTORS}};
  for (int64_t base = (int64_t)blockIdx.x * {{THREADS}} * {{VECTORS}} + threadIdx.x; base < vectors; base += stride) {
    float4 values[{{VECTORS}}];
#pragma unroll
    for (int u = 0; u < {{VECTORS}}; ++u) {
      int64_t i = base + (int64_t)u * {{THREADS}};
      if (i < vectors) values[u] = __ldcs(x + i);
    }
#pragma unroll
    for (int u = 0; u < {{VECTORS}}; ++u) {
      int64_t i = base + (int64_t)u * {{THREADS}};
      if (i < vectors) {
        float4 v = values[u];
        __stcs(y + i, make_float4(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w)));
      }
    }
  }
}

__global__ void gelu_tail(const float* x, float* y, int64_t start, int64_t count) {
  int64_t i = start + threadIdx.x;
  if (i < count) y[i] = gelu(x[i]);
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  int64_t count = R * C;
  if (count == 0) return;
  // float4 access needs 16-byte alignment; torch's allocations are 256-byte aligned, offsets here are 0.
  int64_t vectors = count / 4;
  if (vectors > 0) {
    int device = 0, sms = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    int64_t needed = (vectors + {{THREADS}} * {{VECTORS}} - 1) / ({{THREADS}} * {{VECTORS}});
    int64_t blocks = needed < (int64_t)sms * {{BLOCKS_PER_SM}} ? needed : (int64_t)sms * {{BLOCKS_PER_SM}};
    gelu_kernel<<<(unsigned)blocks, {{THREADS}}>>>(reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), vectors);
  }
  if (count % 4) gelu_tail<<<1, 4>>>(x, y, vectors * 4, count);
}
