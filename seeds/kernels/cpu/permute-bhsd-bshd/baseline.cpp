// Naive [B, H, S, D] -> [B, S, H, D] copy, element by element in output order.
#include <cstdint>

extern "C" void kernel(const float* x, float* y, int64_t B, int64_t H, int64_t S, int64_t D) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d)
          y[((b * S + s) * H + h) * D + d] = x[((b * H + h) * S + s) * D + d];
}
