// Mean BCE with logits: the output is zeroed, then each block adds its partial sum, already divided by the count, atomically.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = 256;
constexpr int MAX_BLOCKS = 1024;

__global__ void zero(float* loss) { *loss = 0.f; }

__global__ void partial_losses(const float* logits, const float* labels, float* loss, int64_t count) {
  __shared__ float shared[THREADS];
  float total = 0.f;
  for (int64_t i = blockIdx.x * (int64_t)THREADS + threadIdx.x; i < count; i += (int64_t)gridDim.x * THREADS) {
    float x = logits[i];
    total += fmaxf(x, 0.f) - x * labels[i] + logf(1.f + expf(-fabsf(x)));
  }
  shared[threadIdx.x] = total;
  __syncthreads();
  for (int width = THREADS / 2; width > 0; width >>= 1) {
    if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(loss, shared[0] / (float)count);
}

extern "C" void kernel(const float* logits, const float* labels, float* loss, int64_t B, int64_t T) {
  int64_t count = B * T;
  int64_t needed = (count + THREADS - 1) / THREADS;
  int blocks = (int)(needed < MAX_BLOCKS ? (needed > 0 ? needed : 1) : MAX_BLOCKS);
  zero<<<1, 1>>>(loss);
  partial_losses<<<blocks, THREADS>>>(logits, labels, loss, count);
}
