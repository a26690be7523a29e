// Naive DCNv2 cross layer: out[b, n] = x0[b, n] * (sum_k x[b, k] * W[n, k] + bias[n]) + x[b, n].
#include <cstdint>

extern "C" void kernel(const float* x0, const float* x, const float* weight, const float* bias, float* out,
                       int64_t B, int64_t D) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t n = 0; n < D; ++n) {
      float sum = 0.0f;
      for (int64_t k = 0; k < D; ++k) sum += x[b * D + k] * weight[n * D + k];
      out[b * D + n] = x0[b * D + n] * (sum + bias[n]) + x[b * D + n];
    }
  }
}
