// kernelevolve:template
// param THREADS: 256, 128, 512
// param GROUP: 64, 32, 128, 256
// constraint: GROUP <= THREADS
// Row softmax: GROUP threads per row (THREADS / GROUP rows per block), an online max-and-sum in one pass over the row,
// then the write pass re-reading the row from L1/L2; 16-byte accesses when C is a multiple of 4.
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

__device__ __forceinline__ void online(float& maximum, float& total, float value) {
  if (value > maximum) {
    total = total * expf(maximum - value) + 1.f;
    maximum = value;
  } else {
    total += expf(value - maximum);
  }
}

__global__ void __launch_bounds__(THREADS) softmax_rows(const float* __restrict__ x, float* __restrict__ y, int64_t R, int64_t C) {
  __shared__ float shared[THREADS / 32];
  const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / GROUP;
  const int lane = threadIdx.x % GROUP;
  const bool vector = C % 4 == 0;
  const float* source = x + (row < R ? row : 0) * C;
  float maximum = -INFINITY, total = 0.f;
  if (row < R) {
    if (vector) {
      for (int64_t i = lane; i < C / 4; i += GROUP) {
        float4 v = reinterpret_cast<const float4*>(source)[i];
        online(maximum, total, v.x);
        online(maximum, total, v.y);
        online(maximum, total, v.z);
        online(maximum, total, v.w);
      }
    } else {
      for (int64_t c = lane; c < C; c += GROUP) online(maximum, total, source[c]);
    }
  }
  const float row_maximum = group_reduce<true>(maximum, shared);
  // Rescale each thread's partial sum to the row's maximum before adding them up.
  const float rescaled = maximum == -INFINITY ? 0.f : total * expf(maximum - row_maximum);
  const float inverse = 1.f / group_reduce<false>(rescaled, shared);
  if (row >= R) return;
  float* target = y + row * C;
  if (vector) {
    for (int64_t i = lane; i < C / 4; i += GROUP) {
      float4 v = reinterpret_cast<const float4*>(source)[i];
      __stcs(reinterpret_cast<float4*>(target) + i,
             make_float4(expf(v.x - row_maximum) * inverse, expf(v.y - row_maximum) * inverse, expf(v.z - row_maximum) * inverse,
                         expf(v.w - row_maximum) * inverse));
    }
  } else {
    for (int64_t c = lane; c < C; c += GROUP) target[c] = expf(source[c] - row_maximum) * inverse;
  }
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  if (R == 0) return;
  softmax_rows<<<(unsigned)((R + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK), THREADS>>>(x, y, R, C);
}
