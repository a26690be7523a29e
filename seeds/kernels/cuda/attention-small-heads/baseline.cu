// softmax(q k^T / sqrt(E)) v: one block per (batch*head, query); scores in shared memory, then a weighted sum of v rows.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = 128;

__device__ float block_reduce(float value, float* shared, bool is_max) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int width = THREADS / 2; width > 0; width >>= 1) {
    if (threadIdx.x < width) {
      float other = shared[threadIdx.x + width];
      shared[threadIdx.x] = is_max ? fmaxf(shared[threadIdx.x], other) : shared[threadIdx.x] + other;
    }
    __syncthreads();
  }
  float result = shared[0];
  __syncthreads();
  return result;
}

__global__ void attention(const float* q, const float* k, const float* v, float* out, int64_t S, int64_t E, float scale) {
  extern __shared__ float scores[];
  __shared__ float reduce[THREADS];
  int64_t head = blockIdx.y, query = blockIdx.x;
  const float* q_row = q + (head * S + query) * E;
  const float* keys = k + head * S * E;
  const float* values = v + head * S * E;
  float maximum = -INFINITY;
  for (int64_t j = threadIdx.x; j < S; j += THREADS) {
    float dot = 0.f;
    for (int64_t e = 0; e < E; ++e) dot += q_row[e] * keys[j * E + e];
    scores[j] = dot * scale;
    maximum = fmaxf(maximum, scores[j]);
  }
  maximum = block_reduce(maximum, reduce, true);
  float total = 0.f;
  for (int64_t j = threadIdx.x; j < S; j += THREADS) {
    scores[j] = expf(scores[j] - maximum);
    total += scores[j];
  }
  total = block_reduce(total, reduce, false);
  for (int64_t e = threadIdx.x; e < E; e += THREADS) {
    float accumulator = 0.f;
    for (int64_t j = 0; j < S; ++j) accumulator += scores[j] * values[j * E + e];
    out[(head * S + query) * E + e] = accumulator / total;
  }
}

extern "C" void kernel(const float* q, const float* k, const float* v, float* out, int64_t B, int64_t H, int64_t S, int64_t E) {
  if (B * H * S == 0) return;
  size_t shared = (size_t)S * sizeof(float);
  if (shared > 48 * 1024) cudaFuncSetAttribute(attention, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);
  attention<<<dim3((unsigned)S, (unsigned)(B * H)), THREADS, shared>>>(q, k, v, out, S, E, 1.0f / sqrtf((float)E));
}
