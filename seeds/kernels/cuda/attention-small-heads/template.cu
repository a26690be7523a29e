// kernelevolve:template
// param WARPS: 8, 4, 16
// param KEYS: 32, 64
// param E_MAX: 64, 128
// softmax(q k^T / sqrt(E)) v, flash-style: a block of WARPS warps takes WARPS queries of one head; tiles of KEYS keys and
// values are staged in shared memory (rows padded by one word) and shared by the warps; each warp keeps an online softmax
// with lanes over keys for scores and over features for the output. Heads with E > E_MAX use a plain fallback kernel.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int WARPS = {{WARPS}};
constexpr int KEYS = {{KEYS}};
constexpr int E_MAX = {{E_MAX}};
constexpr int PER_LANE_KEYS = KEYS / 32;
constexpr int PER_LANE_FEATURES = E_MAX / 32;

__global__ void __launch_bounds__(WARPS * 32) attention_tiles(const float* __restrict__ q, const float* __restrict__ k,
                                                              const float* __restrict__ v, float* __restrict__ out, int64_t S, int64_t E,
                                                              float scale) {
  extern __shared__ float shared[];
  float* keys = shared;                          // KEYS x (E + 1)
  float* values = keys + KEYS * (E + 1);         // KEYS x (E + 1)
  float* queries = values + KEYS * (E + 1);      // WARPS x E
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t head = blockIdx.y;
  const int64_t query = (int64_t)blockIdx.x * WARPS + warp;
  const bool active = query < S;
  const float* base_k = k + head * S * E;
  const float* base_v = v + head * S * E;
  for (int64_t e = lane; e < E; e += 32) queries[warp * E + e] = active ? q[(head * S + query) * E + e] * scale : 0.f;
  float running_max = -INFINITY, running_sum = 0.f;
  float accumulator[PER_LANE_FEATURES];
#pragma unroll
  for (int t = 0; t < PER_LANE_FEATURES; ++t) accumulator[t] = 0.f;
  for (int64_t start = 0; start < S; start += KEYS) {
    __syncthreads();
    for (int64_t i = threadIdx.x; i < KEYS * E; i += WARPS * 32) {
      const int64_t key = i / E, e = i % E;
      const bool inside = start + key < S;
      keys[key * (E + 1) + e] = inside ? base_k[(start + key) * E + e] : 0.f;
      values[key * (E + 1) + e] = inside ? base_v[(start + key) * E + e] : 0.f;
    }
    __syncthreads();
    float scores[PER_LANE_KEYS];
    float tile_max = -INFINITY;
#pragma unroll
    for (int t = 0; t < PER_LANE_KEYS; ++t) {
      const int key = lane + 32 * t;
      float dot = 0.f;
      for (int64_t e = 0; e < E; ++e) dot = fmaf(queries[warp * E + e], keys[key * (E + 1) + e], dot);
      scores[t] = start + key < S ? dot : -INFINITY;
      tile_max = fmaxf(tile_max, scores[t]);
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, offset));
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = expf(running_max - new_max);
    float tile_sum = 0.f;
#pragma unroll
    for (int t = 0; t < PER_LANE_KEYS; ++t) {
      scores[t] = expf(scores[t] - new_max);
      tile_sum += scores[t];
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, offset);
    running_sum = running_sum * correction + tile_sum;
    running_max = new_max;
#pragma unroll
    for (int t = 0; t < PER_LANE_FEATURES; ++t) accumulator[t] *= correction;
#pragma unroll
    for (int t = 0; t < PER_LANE_KEYS; ++t) {
      for (int source = 0; source < 32; ++source) {
        const float weight = __shfl_sync(0xffffffffu, scores[t], source);
        const float* row = values + (source + 32 * t) * (E + 1);
#pragma unroll
        for (int f = 0; f < PER_LANE_FEATURES; ++f) {
          const int e = lane + 32 * f;
          if (e < E) accumulator[f] = fmaf(weight, row[e], accumulator[f]);
        }
      }
    }
  }
  if (!active) return;
#pragma unroll
  for (int f = 0; f < PER_LANE_FEATURES; ++f) {
    const int e = lane + 32 * f;
    if (e < E) out[(head * S + query) * E + e] = accumulator[f] / running_sum;
  }
}

// Fallback for E > E_MAX: one block per query, scores in shared memory.
__global__ void attention_rows(const float* q, const float* k, const float* v, float* out, int64_t S, int64_t E, float scale) {
  extern __shared__ float scores[];
  __shared__ float total_shared;
  const int64_t head = blockIdx.y, query = blockIdx.x;
  if (threadIdx.x == 0) {
    float maximum = -INFINITY;
    for (int64_t j = 0; j < S; ++j) {
      float dot = 0.f;
      for (int64_t e = 0; e < E; ++e) dot += q[(head * S + query) * E + e] * k[(head * S + j) * E + e];
      scores[j] = dot * scale;
      maximum = fmaxf(maximum, scores[j]);
    }
    float total = 0.f;
    for (int64_t j = 0; j < S; ++j) total += (scores[j] = expf(scores[j] - maximum));
    total_shared = total;
  }
  __syncthreads();
  for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
    float accumulator = 0.f;
    for (int64_t j = 0; j < S; ++j) accumulator += scores[j] * v[(head * S + j) * E + e];
    out[(head * S + query) * E + e] = accumulator / total_shared;
  }
}

extern "C" void kernel(const float* q, const float* k, const float* v, float* out, int64_t B, int64_t H, int64_t S, int64_t E) {
  if (B * H * S == 0) return;
  const float scale = 1.0f / sqrtf((float)E);
  if (E <= E_MAX) {
    const size_t shared = (size_t)(2 * KEYS * (E + 1) + WARPS * E) * sizeof(float);
    if (shared > 48 * 1024) cudaFuncSetAttribute(attention_tiles, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);
    attention_tiles<<<dim3((unsigned)((S + WARPS - 1) / WARPS), (unsigned)(B * H)), WARPS * 32, shared>>>(q, k, v, out, S, E, scale);
  } else {
    const size_t shared = (size_t)S * sizeof(float);
    if (shared > 48 * 1024) cudaFuncSetAttribute(attention_rows, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);
    attention_rows<<<dim3((unsigned)S, (unsigned)(B * H)), 128, shared>>>(q, k, v, out, S, E, scale);
  }
}
