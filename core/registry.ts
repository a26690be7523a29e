import { UserError } from "./errors.js";

/** A named collection of extension items that rejects duplicate ids and explains unknown ones. */
export class Registry<T extends { id: string }> {
  private readonly items = new Map<string, T>();
  constructor(readonly kind: string) {}

  /** Adds an item; a second item with the same id is an error. */
  register(item: T, origin = "built-in"): this {
    if (!/^[a-z0-9][a-z0-9-_]*$/.test(item.id)) {
      throw new UserError("invalid_id", `${this.kind} id '${item.id}' (from ${origin}) must be kebab-case`);
    }
    if (this.items.has(item.id)) {
      throw new UserError("duplicate_id", `duplicate ${this.kind} id '${item.id}' (from ${origin}): an item with this id is already registered`);
    }
    this.items.set(item.id, item);
    return this;
  }

  /** Returns the item or throws a message that lists the ids that exist. */
  get(id: string): T {
    const item = this.items.get(id);
    if (!item) {
      throw new UserError("unknown_id", `unknown ${this.kind} '${id}'. Available: ${this.ids().join(", ") || "(none)"}`);
    }
    return item;
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  ids(): string[] {
    return [...this.items.keys()].sort();
  }

  values(): T[] {
    return this.ids().map((id) => this.items.get(id)!);
  }
}
