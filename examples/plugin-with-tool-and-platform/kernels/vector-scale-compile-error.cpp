// Does not compile: 'scale' is never declared.
#include <cstdint>

extern "C" void kernel(const float* x, float* out, int64_t N) {
  for (int64_t i = 0; i < N; ++i) out[i] = scale * x[i];
}
