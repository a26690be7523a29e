// relu(x @ weight^T + bias): one thread per output element, a plain fp32 dot product over K.
#include <cstdint>

__global__ void linear_relu(const float* x, const float* weight, const float* bias, float* y, int64_t M, int64_t K, int64_t N) {
  int64_t column = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  int64_t row = blockIdx.y;
  if (column >= N) return;
  float total = bias[column];
  for (int64_t k = 0; k < K; ++k) total += x[row * K + k] * weight[column * K + k];
  y[row * N + column] = fmaxf(total, 0.f);
}

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y, int64_t M, int64_t K, int64_t N) {
  if (M == 0 || N == 0) return;
  linear_relu<<<dim3((unsigned)((N + 127) / 128), (unsigned)M), 128>>>(x, weight, bias, y, M, K, N);
}
