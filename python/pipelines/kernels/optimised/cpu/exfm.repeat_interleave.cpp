// Best kernel of `kernelevolve optimize exfm-repeat-interleave --specs-dir <profile specs> --budget 6` (offline autotune; seeds:
// python/pipelines/kernels/seeds/cpu/repeat-interleave; the best was the plain baseline), run 20261207-224710-exfm-repeat-interleave-e86e, candidate c0001, 92.7x over the torch reference at the
// spec's sizes on this 2-core machine under load (docs/benchmarks.md). Swapped in for exfm.repeat_interleave.
// Jagged repeat: out[offsets[i] .. offsets[i+1]) = values[i] (torch.repeat_interleave(values, lengths) with the
// lengths given as offsets). Plain loops, one thread.
#include <cstdint>

extern "C" void kernel(const int64_t* values, const int64_t* offsets, int64_t* out, int64_t M, int64_t N) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = offsets[i]; j < offsets[i + 1]; ++j) out[j] = values[i];
}
