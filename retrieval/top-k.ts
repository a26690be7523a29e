/** Keeps the k highest-scoring labels seen so far in a binary min-heap (O(n log k) selection). */
export class TopK {
  private readonly labels: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  /** Offers one scored label; it is kept only if it beats the current k-th best. */
  push(label: number, score: number): void {
    if (this.k <= 0) return;
    if (this.labels.length < this.k) {
      this.labels.push(label);
      this.scores.push(score);
      this.siftUp(this.labels.length - 1);
    } else if (score > this.scores[0]) {
      this.labels[0] = label;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  /** The kept labels, best first. */
  sorted(): { label: number; score: number }[] {
    return this.labels.map((label, index) => ({ label, score: this.scores[index] })).sort((a, b) => b.score - a.score || a.label - b.label);
  }

  private swap(a: number, b: number): void {
    [this.labels[a], this.labels[b]] = [this.labels[b], this.labels[a]];
    [this.scores[a], this.scores[b]] = [this.scores[b], this.scores[a]];
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.scores[parent] <= this.scores[index]) return;
      this.swap(parent, index);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const size = this.labels.length;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < size && this.scores[left] < this.scores[smallest]) smallest = left;
      if (right < size && this.scores[right] < this.scores[smallest]) smallest = right;
      if (smallest === index) return;
      this.swap(smallest, index);
      index = smallest;
    }
  }
}
