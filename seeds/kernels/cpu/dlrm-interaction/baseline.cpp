// Naive DLRM interaction: each strictly-lower pair (i, j < i) as a plain dot product, in tril order.
#include <cstdint>

extern "C" void kernel(const float* features, float* out, int64_t B, int64_t F, int64_t D) {
  const int64_t pairs = F * (F - 1) / 2;
  for (int64_t b = 0; b < B; ++b) {
    const float* sample = features + b * F * D;
    int64_t p = 0;
    for (int64_t i = 1; i < F; ++i) {
      for (int64_t j = 0; j < i; ++j) {
        float sum = 0.0f;
        for (int64_t d = 0; d < D; ++d) sum += sample[i * D + d] * sample[j * D + d];
        out[b * pairs + p++] = sum;
      }
    }
  }
}
