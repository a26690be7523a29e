// kernelevolve:template
// param SCHEDULE: static, dynamic, guided
// param ROWS_PER_CHUNK: 256, 64, 1024
// Jagged repeat: out[offsets[i] .. offsets[i+1]) = values[i]. One pass over the rows (no cumulative sum, no
// index tensor); rows are spread over threads in chunks, each row's run written with a simple fill loop.
#include <cstdint>

extern "C" void kernel(const int64_t* values, const int64_t* offsets, int64_t* out, int64_t M, int64_t N) {
#pragma omp parallel for schedule({{SCHEDULE}}, {{ROWS_PER_CHUNK}}) if (N > 65536)
  for (int64_t i = 0; i < M; ++i) {
    const int64_t value = values[i];
    int64_t* target = out + offsets[i];
    const int64_t count = offsets[i + 1] - offsets[i];
    for (int64_t j = 0; j < count; ++j) target[j] = value;
  }
}
