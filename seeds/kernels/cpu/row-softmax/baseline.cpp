// Naive row softmax: max, sum of shifted exponentials, normalise.
#include <cmath>
#include <cstdint>

extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * C;
    float maximum = row[0];
    for (int64_t c = 1; c < C; ++c) maximum = row[c] > maximum ? row[c] : maximum;
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      const float e = std::exp(row[c] - maximum);
      y[r * C + c] = e;
      sum += e;
    }
    const float inverse = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] *= inverse;
  }
}
