// Naive sum-pooled embedding bag: one bag at a time, one looked-up row at a time.
#include <cstdint>

extern "C" void kernel(const float* weight, const int64_t* indices, const int64_t* offsets, float* out,
                       int64_t V, int64_t D, int64_t N, int64_t B) {
  (void)V; (void)N;
  for (int64_t b = 0; b < B; ++b) {
    float* row = out + b * D;
    for (int64_t d = 0; d < D; ++d) row[d] = 0.0f;
    for (int64_t j = offsets[b]; j < offsets[b + 1]; ++j) {
      const float* source = weight + indices[j] * D;
      for (int64_t d = 0; d < D; ++d) row[d] += source[d];
    }
  }
}
