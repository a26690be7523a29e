// [B, H, S, D] -> [B, S, H, D]: one thread per element, reading in source order.
#include <cstdint>

__global__ void permute(const float* x, float* y, int64_t B, int64_t H, int64_t S, int64_t D) {
  int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= B * H * S * D) return;
  int64_t d = i % D, s = (i / D) % S, h = (i / (D * S)) % H, b = i / (D * S * H);
  y[((b * S + s) * H + h) * D + d] = x[i];
}

extern "C" void kernel(const float* x, float* y, int64_t B, int64_t H, int64_t S, int64_t D) {
  int64_t count = B * H * S * D;
  if (count == 0) return;
  permute<<<(unsigned)((count + 255) / 256), 256>>>(x, y, B, H, S, D);
}
