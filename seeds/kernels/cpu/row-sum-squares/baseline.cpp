// Naive sum of squares of each row.
#include <cstdint>

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) {
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) sum += static_cast<double>(x[r * C + c]) * x[r * C + c];
    y[r] = static_cast<float>(sum);
  }
}
