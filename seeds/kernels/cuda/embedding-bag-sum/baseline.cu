// EmbeddingBag (sum): one block per bag, one thread per column, adding the bag's rows one index at a time.
#include <cstdint>

__global__ void bag_sum(const float* weight, const int64_t* indices, const int64_t* offsets, float* out, int64_t D) {
  int64_t bag = blockIdx.x;
  int64_t start = offsets[bag], end = offsets[bag + 1];
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    float total = 0.f;
    for (int64_t p = start; p < end; ++p) total += weight[indices[p] * D + c];
    out[bag * D + c] = total;
  }
}

extern "C" void kernel(const float* weight, const int64_t* indices, const int64_t* offsets, float* out, int64_t V, int64_t D, int64_t N,
                       int64_t B) {
  if (B == 0) return;
  bag_sum<<<(unsigned)B, 128>>>(weight, indices, offsets, out, D);
}
