// kernelevolve:template
// param THREADS: 256, 128, 512
// param GROUP: 64, 32, 128, 256
// constraint: GROUP <= THREADS
// LayerNorm: GROUP threads per row (THREADS / GROUP rows per block), 16-byte accesses when D is a multiple of 4; mean,
// then the variance of the centred row, then the write, the later passes re-reading the row from L1/L2.
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

__global__ void __launch_bounds__(THREADS) layernorm_rows(const float* __restrict__ x, const float* __restrict__ weight,
                                                          const float* __restrict__ bias, float* __restrict__ y, int64_t R, int64_t D, float eps) {
  __shared__ float shared[THREADS / 32];
  const int64_t row = (int64_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / GROUP;
  const int lane = threadIdx.x % GROUP;
  const bool vector = D % 4 == 0;
  const float* source = x + (row < R ? row : 0) * D;
  float total = 0.f;
  if (row < R) {
    if (vector) {
      for (int64_t i = lane; i < D / 4; i += GROUP) {
        float4 v = reinterpret_cast<const float4*>(source)[i];
        total += (v.x + v.y) + (v.z + v.w);
      }
    } else {
      for (int64_t c = lane; c < D; c += GROUP) total += source[c];
    }
  }
  const float mean = group_reduce<false>(total, shared) / (float)D;
  float squares = 0.f;
  if (row < R) {
    if (vector) {
      for (int64_t i = lane; i < D / 4; i += GROUP) {
        float4 v = reinterpret_cast<const float4*>(source)[i];
        float a = v.x - mean, b = v.y - mean, c = v.z - mean, d = v.w - mean;
        squares += (a * a + b * b) + (c * c + d * d);
      }
    } else {
      for (int64_t c = lane; c < D; c += GROUP) squares += (source[c] - mean) * (source[c] - mean);
    }
  }
  const float inverse = rsqrtf(group_reduce<false>(squares, shared) / (float)D + eps);
  if (row >= R) return;
  float* target = y + row * D;
  if (vector) {
    for (int64_t i = lane; i < D / 4; i += GROUP) {
      float4 v = reinterpret_cast<const float4*>(source)[i];
      float4 w = __ldg(reinterpret_cast<const float4*>(weight) + i);
      float4 b = __ldg(reinterpret_cast<const float4*>(bias) + i);
      __stcs(reinterpret_cast<float4*>(target) + i,
             make_float4((v.x - mean) * inverse * w.x + b.x, (v.y - mean) * inverse * w.y + b.y, (v.z - mean) * inverse * w.z + b.z,
                         (v.w - mean) * inverse * w.w + b.w));
    }
  } else {
    for (int64_t c = lane; c < D; c += GROUP) target[c] = (source[c] - mean) * inverse * weight[c] + bias[c];
  }
}

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y, int64_t R, int64_t D, double eps) {
  if (R == 0) return;
  layernorm_rows<<<(unsigned)((R + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK), THREADS>>>(x, weight, bias, y, R, D, (float)eps);
}
