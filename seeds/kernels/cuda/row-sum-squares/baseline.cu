// Sum of squares of each row: one block of 256 threads per row, a shared-memory tree reduction.
#include <cstdint>

__global__ void row_sum_squares(const float* x, float* y, int64_t C) {
  __shared__ float partial[256];
  const float* row = x + (int64_t)blockIdx.x * C;
  float total = 0.f;
  for (int64_t c = threadIdx.x; c < C; c += 256) total += row[c] * row[c];
  partial[threadIdx.x] = total;
  __syncthreads();
  for (int width = 128; width > 0; width >>= 1) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) y[blockIdx.x] = partial[0];
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  if (R == 0) return;
  row_sum_squares<<<(unsigned)R, 256>>>(x, y, C);
}
