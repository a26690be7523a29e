// Exact GELU, elementwise: one thread per element, launched on the default stream.
#include <cstdint>

__global__ void gelu_kernel(const float* x, float* y, int64_t count) {
  int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i < count) {
    float v = x[i];
    y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  }
}

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  int64_t count = R * C;
  if (count == 0) return;
  gelu_kernel<<<(unsigned)((count + 255) / 256), 256>>>(x, y, count);
}
