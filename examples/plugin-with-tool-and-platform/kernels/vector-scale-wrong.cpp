// Scales by 2.0 instead of 2.5: compiles and runs, but every output is wrong.
#include <cstdint>

extern "C" void kernel(const float* x, float* out, int64_t N) {
  for (int64_t i = 0; i < N; ++i) out[i] = 2.0f * x[i];
}
