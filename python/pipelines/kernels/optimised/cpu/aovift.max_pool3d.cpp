// Best kernel of `kernelevolve optimize aovift-max-pool3d --specs-dir <profile specs> --budget 6` (offline autotune of the seed template
// python/pipelines/kernels/seeds/cpu/max-pool3d/template.cpp), run 20261207-224219-aovift-max-pool3d-a90d, candidate c0003, 151.7x over the torch reference at the
// spec's sizes on this 2-core machine under load (docs/benchmarks.md). Swapped in for aovift.max_pool3d.
// kernelevolve:instance SCHEDULE=static PLANES_PER_CHUNK=4 XPASS=shifted
// Separable stride-1 3D max pool ('same' padding as -inf, odd windows): a max over a box is the max over x,
// then over y, then over z, so each element costs KX + KY + KZ comparisons instead of KX * KY * KZ.
// Pass 1, per (volume, z) plane: the x window of every row, then the y window, into a scratch volume.
// Pass 2, per (volume, z) plane: the z window over scratch planes. Inner loops run along x (vectorised).
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {
constexpr bool same(const char* a, const char* b) { return *a == *b && (*a == 0 || same(a + 1, b + 1)); }
constexpr bool kShifted = same("shifted", "shifted");

inline void row_window(const float* row, float* padded, float* target, int64_t X, int64_t rx) {
  if constexpr (kShifted) {
    // -inf borders, then target[i] = max over d of padded[i + d]: every d is one vector pass.
    const float low = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < rx; ++i) padded[i] = padded[rx + X + i] = low;
    std::memcpy(padded + rx, row, sizeof(float) * X);
    std::memcpy(target, padded, sizeof(float) * X);
    for (int64_t d = 1; d <= 2 * rx; ++d)
      for (int64_t i = 0; i < X; ++i) target[i] = padded[i + d] > target[i] ? padded[i + d] : target[i];
  } else {
    for (int64_t i = 0; i < X; ++i) {
      const int64_t first = i - rx < 0 ? 0 : i - rx, last = i + rx < X ? i + rx : X - 1;
      float best = row[first];
      for (int64_t c = first + 1; c <= last; ++c) best = row[c] > best ? row[c] : best;
      target[i] = best;
    }
  }
}
}  // namespace

extern "C" void kernel(const float* x, float* out, int64_t B, int64_t C, int64_t Z, int64_t Y, int64_t X,
                       double KZ, double KY, double KX) {
  const int64_t rz = static_cast<int64_t>(KZ) / 2, ry = static_cast<int64_t>(KY) / 2, rx = static_cast<int64_t>(KX) / 2;
  const int64_t plane = Y * X, planes = B * C * Z;
  std::vector<float> scratch(static_cast<size_t>(planes * plane));
  float* pooled_xy = scratch.data();
#pragma omp parallel if (planes * plane > 32768)
  {
    std::vector<float> rows(static_cast<size_t>(plane)), padded(static_cast<size_t>(X + 2 * rx));
#pragma omp for schedule(static, 4)
    for (int64_t p = 0; p < planes; ++p) {
      const float* source = x + p * plane;
      for (int64_t y = 0; y < Y; ++y) row_window(source + y * X, padded.data(), rows.data() + y * X, X, rx);
      float* target = pooled_xy + p * plane;
      for (int64_t y = 0; y < Y; ++y) {
        const int64_t first = y - ry < 0 ? 0 : y - ry, last = y + ry < Y ? y + ry : Y - 1;
        float* line = target + y * X;
        std::memcpy(line, rows.data() + first * X, sizeof(float) * X);
        for (int64_t b = first + 1; b <= last; ++b) {
          const float* other = rows.data() + b * X;
          for (int64_t i = 0; i < X; ++i) line[i] = other[i] > line[i] ? other[i] : line[i];
        }
      }
    }
#pragma omp for schedule(static, 4)
    for (int64_t p = 0; p < planes; ++p) {
      const int64_t z = p % Z, volume = p - z;
      const int64_t first = z - rz < 0 ? 0 : z - rz, last = z + rz < Z ? z + rz : Z - 1;
      float* target = out + p * plane;
      std::memcpy(target, pooled_xy + (volume + first) * plane, sizeof(float) * plane);
      for (int64_t a = first + 1; a <= last; ++a) {
        const float* other = pooled_xy + (volume + a) * plane;
        for (int64_t i = 0; i < plane; ++i) target[i] = other[i] > target[i] ? other[i] : target[i];
      }
    }
  }
}
