// kernelevolve:template
// param THREADS: 256, 128, 512
// param GROUP: 64, 32, 128, 256
// constraint: GROUP <= THREADS
// Row sums of squares: GROUP threads per row (THREADS / GROUP rows per block), 16-byte loads when C is a multiple of 4,
// warp-shuffle reductions.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = {{THREADS}};
constexpr int GROUP = {{GROUP}};
constexpr int ROWS_PER_BLOCK = THREADS / GROUP;
constexpr int WARPS_PER_GROUP = GROUP / 32;

// A reduction over the GROUP threads of one row: shuffles within each warp, then across the group's warps.
template <bool IS_MAX>
__device__ __forceinline__ float group_reduce(float value, float* shared) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = IS_MAX ? fmaxf(value, other) : value + other;
  }
  if (WARPS_PER_GROUP == 1) return value;
  const int warp = threadIdx.x / 32;
  __syncthreads();
  if (threadIdx.x % 32 == 0) shared[warp] = value;
  __syncthreads();
  const int first = (warp / WARPS_PER_GROUP) * WARPS_PER_GROUP;
  float result = shared[first];
#pragma unroll
  for (int w = 1; w < WARPS_PER_GROUP; ++w) result = IS_MAX ? fmaxf(result, shared[first + w]) : result + shared[first + w];
  return result;
}

__global__ void __launch_bounds__(THREADS) row_sum_squares(const float* __restrict__ x, float* __restrict__ y, int64_t R, int64_t C) {
  __shared__ float shared[THREADS / 32];
  const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / GROUP;
  const int lane = threadIdx.x % GROUP;
  float total = 0.f;
  if (row < R) {
    const float* source = x + row * C;
    if (C % 4 == 0) {
      const float4* vectors = reinterpret_cast<const float4*>(source);
      for (int64_t i = lane; i < C / 4; i += GROUP) {
        float4 v = __ldcs(vectors + i);
        total += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      }
    } else {
      for (int64_t c = lane; c < C; c += GROUP) total += source[c] * source[c];
    }
  }
  total = group_reduce<false>(total, shared);
  if (row < R && lane == 0) y[row] = total;
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  if (R == 0) return;
  row_sum_squares<<<(unsigned)((R + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK), THREADS>>>(x, y, R, C);
}
