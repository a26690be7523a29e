// Naive linear layer with bias and ReLU: y[m, n] = max(0, sum_k x[m, k] * W[n, k] + bias[n]).
#include <cstdint>

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y,
                       int64_t M, int64_t K, int64_t N) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      float sum = 0.0f;
      for (int64_t k = 0; k < K; ++k) sum += x[m * K + k] * weight[n * K + k];
      sum += bias[n];
      y[m * N + n] = sum > 0.0f ? sum : 0.0f;
    }
  }
}
