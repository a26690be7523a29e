// kernelevolve:template
// param THREADS: 256, 512, 1024
// param BLOCKS_PER_SM: 4, 2, 8
// param VECTORS: 2, 1, 4
// Mean BCE with logits: a grid of BLOCKS_PER_SM blocks per SM streams 16-byte loads (VECTORS in flight per thread) into
// per-block sums, which are divided by the count and added atomically to the output (zeroed first, on the same stream).
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = {{THREADS}};
constexpr int VECTORS = {{VECTORS}};
constexpr int MAX_BLOCKS = 8192;

__global__ void zero(float* result) { *result = 0.f; }

__device__ __forceinline__ float loss(float x, float label) { return fmaxf(x, 0.f) - x * label + log1pf(expf(-fabsf(x))); }

__device__ __forceinline__ float block_sum(float value) {
  __shared__ float shared[THREADS / 32];
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = value;
  __syncthreads();
  value = threadIdx.x < THREADS / 32 ? shared[threadIdx.x] : 0.f;
  if (threadIdx.x < 32) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

__global__ void __launch_bounds__(THREADS) partial_losses(const float* __restrict__ logits, const float* __restrict__ labels,
                                                          float* __restrict__ result, int64_t count) {
  float total = 0.f;
  const int64_t vectors = count / 4;
  const float4* x4 = reinterpret_cast<const float4*>(logits);
  const float4* y4 = reinterpret_cast<const float4*>(labels);
  const int64_t stride = (int64_t)gridDim.x * THREADS * VECTORS;
  for (int64_t base = (int64_t)blockIdx.x * THREADS * VECTORS + threadIdx.x; base < vectors; base += stride) {
    float4 xs[VECTORS], ys[VECTORS];
#pragma unroll
    for (int u = 0; u < VECTORS; ++u) {
      int64_t i = base + (int64_t)u * THREADS;
      if (i < vectors) {
        xs[u] = __ldcs(x4 + i);
        ys[u] = __ldcs(y4 + i);
      }
    }
#pragma unroll
    for (int u = 0; u < VECTORS; ++u) {
      if (base + (int64_t)u * THREADS < vectors) {
        total += (loss(xs[u].x, ys[u].x) + loss(xs[u].y, ys[u].y)) + (loss(xs[u].z, ys[u].z) + loss(xs[u].w, ys[u].w));
      }
    }
  }
  // The last count % 4 elements, taken by the first block.
  if (blockIdx.x == 0 && threadIdx.x < count % 4) total += loss(logits[vectors * 4 + threadIdx.x], labels[vectors * 4 + threadIdx.x]);
  total = block_sum(total);
  if (threadIdx.x == 0) atomicAdd(result, total / (float)count);
}

extern "C" void kernel(const float* logits, const float* labels, float* result, int64_t B, int64_t T) {
  const int64_t count = B * T;
  int device = 0, sms = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  int64_t needed = (count / 4 + THREADS * VECTORS - 1) / (THREADS * VECTORS);
  int64_t limit = (int64_t)sms * {{BLOCKS_PER_SM}};
  int blocks = (int)(needed < 1 ? 1 : (needed < limit ? needed : limit));
  if (blocks > MAX_BLOCKS) blocks = MAX_BLOCKS;
  zero<<<1, 1>>>(result);
  partial_losses<<<blocks, THREADS>>>(logits, labels, result, count);
}
