// Stride-1 3D max pool with odd windows KZ x KY x KX and 'same' padding (padding counts as -inf):
// the direct window scan, one thread. A correct starting point, not a fast one.
#include <cstdint>

extern "C" void kernel(const float* x, float* out, int64_t B, int64_t C, int64_t Z, int64_t Y, int64_t X,
                       double KZ, double KY, double KX) {
  const int64_t rz = static_cast<int64_t>(KZ) / 2, ry = static_cast<int64_t>(KY) / 2, rx = static_cast<int64_t>(KX) / 2;
  for (int64_t v = 0; v < B * C; ++v) {
    const float* volume = x + v * Z * Y * X;
    float* target = out + v * Z * Y * X;
    for (int64_t z = 0; z < Z; ++z)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t i = 0; i < X; ++i) {
          float best = volume[(z * Y + y) * X + i];
          for (int64_t a = z - rz < 0 ? 0 : z - rz; a <= z + rz && a < Z; ++a)
            for (int64_t b = y - ry < 0 ? 0 : y - ry; b <= y + ry && b < Y; ++b)
              for (int64_t c = i - rx < 0 ? 0 : i - rx; c <= i + rx && c < X; ++c) {
                const float value = volume[(a * Y + b) * X + c];
                if (value > best) best = value;
              }
          target[(z * Y + y) * X + i] = best;
        }
  }
}
