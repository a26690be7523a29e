// Row softmax: one block of 256 threads per row; max, then sum of exponentials, then the scaled write (three passes).
#include <cstdint>

__device__ float block_reduce(float value, float* shared, bool is_max) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int width = 128; width > 0; width >>= 1) {
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

__global__ void softmax_rows(const float* x, float* y, int64_t C) {
  __shared__ float shared[256];
  const float* row = x + (int64_t)blockIdx.x * C;
  float* out = y + (int64_t)blockIdx.x * C;
  float maximum = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += 256) maximum = fmaxf(maximum, row[c]);
  maximum = block_reduce(maximum, shared, true);
  float total = 0.f;
  for (int64_t c = threadIdx.x; c < C; c += 256) total += expf(row[c] - maximum);
  total = block_reduce(total, shared, false);
  for (int64_t c = threadIdx.x; c < C; c += 256) out[c] = expf(row[c] - maximum) / total;
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  if (R == 0) return;
  softmax_rows<<<(unsigned)R, 256>>>(x, y, C);
}
