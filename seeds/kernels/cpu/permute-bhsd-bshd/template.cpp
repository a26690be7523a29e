// kernelevolve:template
// param ORDER: output, input
// param SCHEDULE: static, dynamic
// param ROWS_PER_CHUNK: 16, 64, 4
// param COPY: memcpy, vector
// [B, H, S, D] -> [B, S, H, D]: whole D-rows (contiguous on both sides) are moved with wide copies,
// spread over threads either by output row (b, s: writes sequential, H strided reads) or by input
// slab (b, h: reads sequential, H strided writes).
#include <cstdint>
#include <cstring>

namespace {
constexpr bool same(const char* left, const char* right) {
  return *left == *right && (*left == '\0' || same(left + 1, right + 1));
}

inline void copy_row(float* target, const float* source, int64_t D) {
  if constexpr (same("{{COPY}}", "memcpy")) {
    std::memcpy(target, source, static_cast<size_t>(D) * sizeof(float));
  } else {
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) target[d] = source[d];
  }
}
}  // namespace

extern "C" void kernel(const float* x, float* y, int64_t B, int64_t H, int64_t S, int64_t D) {
  const bool parallel = B * H * S * D >= 32768;
  if constexpr (same("{{ORDER}}", "output")) {
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (parallel)
    for (int64_t bs = 0; bs < B * S; ++bs) {
      const int64_t b = bs / S, s = bs % S;
      float* target = y + bs * H * D;
      const float* source = x + (b * H * S + s) * D;
      for (int64_t h = 0; h < H; ++h) copy_row(target + h * D, source + h * S * D, D);
    }
  } else {
#pragma omp parallel for collapse(2) schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (parallel)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      for (int64_t s = 0; s < S; ++s) {
        const int64_t b = bh / H, h = bh % H;
        copy_row(y + ((b * S + s) * H + h) * D, x + (bh * S + s) * D, D);
      }
    }
  }
}
