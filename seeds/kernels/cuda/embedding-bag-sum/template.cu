// kernelevolve:template
// param WARPS: 4, 2, 8
// param UNROLL: 4, 2, 8
// EmbeddingBag (sum): one warp per bag, lanes over 16-byte column vectors (scalar when D is not a multiple of 4), UNROLL
// rows gathered before they are added so several random reads are in flight.
#include <cstdint>

// Sum: no division.
constexpr bool MEAN = false;

constexpr int WARPS = {{WARPS}};
constexpr int UNROLL = {{UNROLL}};

__global__ void __launch_bounds__(WARPS * 32) bag_reduce(const float* __restrict__ weight, const int64_t* __restrict__ indices,
                                                          const int64_t* __restrict__ offsets, float* __restrict__ out, int64_t B, int64_t D) {
  const int64_t bag = (int64_t)blockIdx.x * WARPS + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (bag >= B) return;
  const int64_t start = offsets[bag], end = offsets[bag + 1];
  const float scale = MEAN ? (end > start ? 1.f / (float)(end - start) : 0.f) : 1.f;
  if (D % 4 == 0) {
    const int64_t vectors = D / 4;
    for (int64_t column = lane; column < vectors; column += 32) {
      float4 total = make_float4(0.f, 0.f, 0.f, 0.f);
      int64_t p = start;
      for (; p + UNROLL <= end; p += UNROLL) {
        float4 rows[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) rows[u] = __ldg(reinterpret_cast<const float4*>(weight + __ldg(indices + p + u) * D) + column);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
          total.x += rows[u].x; total.y += rows[u].y; total.z += rows[u].z; total.w += rows[u].w;
        }
      }
      for (; p < end; ++p) {
        float4 row = __ldg(reinterpret_cast<const float4*>(weight + __ldg(indices + p) * D) + column);
        total.x += row.x; total.y += row.y; total.z += row.z; total.w += row.w;
      }
      reinterpret_cast<float4*>(out + bag * D)[column] = make_float4(total.x * scale, total.y * scale, total.z * scale, total.w * scale);
    }
  } else {
    for (int64_t column = lane; column < D; column += 32) {
      float total = 0.f;
      for (int64_t p = start; p < end; ++p) total += weight[indices[p] * D + column];
      out[bag * D + column] = total * scale;
    }
  }
}

extern "C" void kernel(const float* weight, const int64_t* indices, const int64_t* offsets, float* out, int64_t V, int64_t D, int64_t N,
                       int64_t B) {
  if (B == 0) return;
  bag_reduce<<<(unsigned)((B + WARPS - 1) / WARPS), WARPS * 32>>>(weight, indices, offsets, out, B, D);
}
