/**
 * The `// constraint:` expressions of kernel templates: a small, safe subset of Python expressions
 * over parameter names (arithmetic, comparisons with chaining, and/or/not, `in` over a list,
 * conditional expressions `a if test else b`, string and number literals). Parsed once, evaluated
 * for every candidate combination. The Python runtime evaluates the same text with Python itself
 * (python/kernelevolve_runtime/contract/templates.py); tests/contract/shared-cases.json holds the
 * cases both must agree on.
 */
export type ConstraintValue = number | string | boolean | ConstraintValue[];

type Token = { kind: "number" | "string" | "name" | "op"; text: string; value?: number | string };

type Node =
  | { kind: "literal"; value: ConstraintValue }
  | { kind: "name"; name: string }
  | { kind: "list"; items: Node[] }
  | { kind: "unary"; op: string; operand: Node }
  | { kind: "binary"; op: string; left: Node; right: Node }
  | { kind: "compare"; operands: Node[]; ops: string[] }
  | { kind: "conditional"; test: Node; then: Node; otherwise: Node };

const TOKEN = /\s*(?:(\d+\.\d*(?:e[+-]?\d+)?|\d*\.\d+(?:e[+-]?\d+)?|\d+(?:e[+-]?\d+)?)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|\/\/|<=|>=|==|!=|[-+*/%()<>\[\],]))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < text.length) {
    if (/^\s*$/.test(text.slice(position))) break;
    TOKEN.lastIndex = position;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`cannot parse constraint '${text}' at '${text.slice(position).trim()}'`);
    if (match[1] !== undefined) tokens.push({ kind: "number", text: match[1], value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: "string", text: match[2], value: match[2].slice(1, -1).replace(/\\(.)/g, "$1") });
    else if (match[3] !== undefined) tokens.push({ kind: "name", text: match[3] });
    else tokens.push({ kind: "op", text: match[4] });
    position = TOKEN.lastIndex;
  }
  return tokens;
}

const COMPARISONS = new Set(["<", "<=", ">", ">=", "==", "!=", "in", "not in"]);

function parse(text: string): Node {
  const tokens = tokenize(text);
  let index = 0;
  const peek = (offset = 0): Token | undefined => tokens[index + offset];
  const isWord = (token: Token | undefined, word: string) => token?.kind === "name" && token.text === word;
  const isOp = (token: Token | undefined, op: string) => token?.kind === "op" && token.text === op;
  const expect = (op: string) => {
    if (!isOp(peek(), op)) throw new Error(`expected '${op}' in constraint '${text}'`);
    index++;
  };

  // Python's conditional expression: `body if test else otherwise`, the loosest binding; `otherwise` may itself be one.
  const expression = (): Node => {
    const body = orExpression();
    if (!isWord(peek(), "if")) return body;
    index++;
    const test = orExpression();
    if (!isWord(peek(), "else")) throw new Error(`expected 'else' in constraint '${text}'`);
    index++;
    return { kind: "conditional", test, then: body, otherwise: expression() };
  };
  const orExpression = (): Node => {
    let left = andExpression();
    while (isWord(peek(), "or")) {
      index++;
      left = { kind: "binary", op: "or", left, right: andExpression() };
    }
    return left;
  };
  const andExpression = (): Node => {
    let left = notExpression();
    while (isWord(peek(), "and")) {
      index++;
      left = { kind: "binary", op: "and", left, right: notExpression() };
    }
    return left;
  };
  const notExpression = (): Node => {
    if (isWord(peek(), "not")) {
      index++;
      return { kind: "unary", op: "not", operand: notExpression() };
    }
    return comparison();
  };
  const comparisonOperator = (): string | undefined => {
    const token = peek();
    if (token?.kind === "op" && COMPARISONS.has(token.text)) return token.text;
    if (isWord(token, "in")) return "in";
    if (isWord(token, "not") && isWord(peek(1), "in")) return "not in";
    return undefined;
  };
  const comparison = (): Node => {
    const operands = [sum()];
    const ops: string[] = [];
    for (let op = comparisonOperator(); op; op = comparisonOperator()) {
      index += op === "not in" ? 2 : 1;
      ops.push(op);
      operands.push(sum());
    }
    return ops.length ? { kind: "compare", operands, ops } : operands[0];
  };
  const sum = (): Node => {
    let left = product();
    while (isOp(peek(), "+") || isOp(peek(), "-")) {
      const op = tokens[index++].text;
      left = { kind: "binary", op, left, right: product() };
    }
    return left;
  };
  const product = (): Node => {
    let left = unary();
    while (["*", "/", "//", "%"].some((op) => isOp(peek(), op))) {
      const op = tokens[index++].text;
      left = { kind: "binary", op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Node => {
    if (isOp(peek(), "-") || isOp(peek(), "+")) {
      const op = tokens[index++].text;
      return { kind: "unary", op, operand: unary() };
    }
    return power();
  };
  const power = (): Node => {
    const base = primary();
    if (isOp(peek(), "**")) {
      index++;
      // Python's ** binds right-to-left and tighter than a unary minus on its left.
      return { kind: "binary", op: "**", left: base, right: unary() };
    }
    return base;
  };
  const list = (close: string): Node => {
    const items: Node[] = [];
    while (!isOp(peek(), close)) {
      items.push(expression());
      if (!isOp(peek(), ",")) break;
      index++;
    }
    expect(close);
    return { kind: "list", items };
  };
  const primary = (): Node => {
    const token = tokens[index++];
    if (!token) throw new Error(`unexpected end of constraint '${text}'`);
    if (token.kind === "number" || token.kind === "string") return { kind: "literal", value: token.value! };
    if (token.kind === "name") {
      if (token.text === "True") return { kind: "literal", value: true };
      if (token.text === "False") return { kind: "literal", value: false };
      return { kind: "name", name: token.text };
    }
    if (token.text === "[") return list("]");
    if (token.text === "(") {
      const inner = expression();
      if (isOp(peek(), ",")) {
        index++;
        const rest = list(")") as { kind: "list"; items: Node[] };
        return { kind: "list", items: [inner, ...rest.items] };
      }
      expect(")");
      return inner;
    }
    throw new Error(`unexpected '${token.text}' in constraint '${text}'`);
  };

  const node = expression();
  if (index < tokens.length) throw new Error(`unexpected '${tokens[index].text}' in constraint '${text}'`);
  return node;
}

function truthy(value: ConstraintValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

function numeric(value: ConstraintValue, op: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new Error(`operator '${op}' needs numbers, got ${JSON.stringify(value)}`);
}

function compare(op: string, left: ConstraintValue, right: ConstraintValue): boolean {
  switch (op) {
    case "==":
      return JSON.stringify(left) === JSON.stringify(right);
    case "!=":
      return JSON.stringify(left) !== JSON.stringify(right);
    case "in":
    case "not in": {
      if (!Array.isArray(right) && typeof right !== "string") throw new Error(`'${op}' needs a list or a string on its right`);
      const found = Array.isArray(right) ? right.some((item) => JSON.stringify(item) === JSON.stringify(left)) : right.includes(String(left));
      return op === "in" ? found : !found;
    }
    default: {
      if (typeof left === "string" && typeof right === "string") {
        return op === "<" ? left < right : op === "<=" ? left <= right : op === ">" ? left > right : left >= right;
      }
      const a = numeric(left, op);
      const b = numeric(right, op);
      return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
    }
  }
}

function evaluate(node: Node, variables: Record<string, ConstraintValue>): ConstraintValue {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "name":
      if (!(node.name in variables)) throw new Error(`unknown name '${node.name}'; parameters: ${Object.keys(variables).join(", ")}`);
      return variables[node.name];
    case "list":
      return node.items.map((item) => evaluate(item, variables));
    case "unary": {
      const operand = evaluate(node.operand, variables);
      if (node.op === "not") return !truthy(operand);
      return node.op === "-" ? -numeric(operand, "-") : numeric(operand, "+");
    }
    case "conditional":
      return truthy(evaluate(node.test, variables)) ? evaluate(node.then, variables) : evaluate(node.otherwise, variables);
    case "compare": {
      let left = evaluate(node.operands[0], variables);
      for (let position = 0; position < node.ops.length; position++) {
        const right = evaluate(node.operands[position + 1], variables);
        if (!compare(node.ops[position], left, right)) return false;
        left = right;
      }
      return true;
    }
    case "binary": {
      if (node.op === "and") {
        const left = evaluate(node.left, variables);
        return truthy(left) ? evaluate(node.right, variables) : left;
      }
      if (node.op === "or") {
        const left = evaluate(node.left, variables);
        return truthy(left) ? left : evaluate(node.right, variables);
      }
      const leftValue = evaluate(node.left, variables);
      const rightValue = evaluate(node.right, variables);
      if (node.op === "+" && typeof leftValue === "string" && typeof rightValue === "string") return leftValue + rightValue;
      const a = numeric(leftValue, node.op);
      const b = numeric(rightValue, node.op);
      switch (node.op) {
        case "+":
          return a + b;
        case "-":
          return a - b;
        case "*":
          return a * b;
        case "/":
          if (b === 0) throw new Error("division by zero");
          return a / b;
        case "//":
          if (b === 0) throw new Error("division by zero");
          return Math.floor(a / b);
        case "%":
          if (b === 0) throw new Error("division by zero");
          return a - b * Math.floor(a / b);
        default:
          return a ** b;
      }
    }
  }
}

/** A parsed constraint: `test(values)` says whether a parameter combination is allowed. */
export interface Constraint {
  readonly text: string;
  readonly names: string[];
  test(values: Record<string, ConstraintValue>): boolean;
}

function collectNames(node: Node, names: Set<string>): void {
  if (node.kind === "name") names.add(node.name);
  else if (node.kind === "list") node.items.forEach((item) => collectNames(item, names));
  else if (node.kind === "unary") collectNames(node.operand, names);
  else if (node.kind === "binary") {
    collectNames(node.left, names);
    collectNames(node.right, names);
  } else if (node.kind === "compare") node.operands.forEach((operand) => collectNames(operand, names));
  else if (node.kind === "conditional") [node.test, node.then, node.otherwise].forEach((part) => collectNames(part, names));
}

/** Parses a Python-like constraint expression; throws with the position of a syntax error. */
export function parseConstraint(text: string): Constraint {
  const node = parse(text);
  const names = new Set<string>();
  collectNames(node, names);
  return { text, names: [...names], test: (values) => truthy(evaluate(node, values)) };
}
