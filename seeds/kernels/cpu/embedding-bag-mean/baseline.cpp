// Naive mean-pooled embedding bag: sum the rows of a bag, then divide by its length (empty bag: zeros).
#include <cstdint>

extern "C" void kernel(const float* weight, const int64_t* indices, const int64_t* offsets, float* out,
                       int64_t V, int64_t D, int64_t N, int64_t B) {
  (void)V; (void)N;
  for (int64_t b = 0; b < B; ++b) {
    float* row = out + b * D;
    for (int64_t d = 0; d < D; ++d) row[d] = 0.0f;
    const int64_t begin = offsets[b], end = offsets[b + 1];
    for (int64_t j = begin; j < end; ++j) {
      const float* source = weight + indices[j] * D;
      for (int64_t d = 0; d < D; ++d) row[d] += source[d];
    }
    if (end > begin) {
      const float scale = 1.0f / static_cast<float>(end - begin);
      for (int64_t d = 0; d < D; ++d) row[d] *= scale;
    }
  }
}
