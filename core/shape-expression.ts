/**
 * A tiny integer expression language for symbolic shapes: identifiers, integers, + - * / % and
 * parentheses. Division is integer floor division; `%` keeps the sign of the left operand (JavaScript's);
 * a zero divisor is an error. The Python runtime implements the same grammar (contract/shape_expression.py);
 * tests/contract/shared-cases.json holds the cases both run.
 */
type Token = { kind: "number"; value: number } | { kind: "name"; value: string } | { kind: "op"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/%()]))/y;
  let position = 0;
  while (position < text.length) {
    if (/^\s*$/.test(text.slice(position))) break;
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) throw new Error(`cannot parse expression '${text}' at '${text.slice(position)}'`);
    if (match[1] !== undefined) tokens.push({ kind: "number", value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: "name", value: match[2] });
    else tokens.push({ kind: "op", value: match[3] });
    position = pattern.lastIndex;
  }
  return tokens;
}

type Node =
  | { kind: "number"; value: number }
  | { kind: "name"; value: string }
  | { kind: "unary"; operand: Node }
  | { kind: "binary"; op: string; left: Node; right: Node };

function parse(text: string): Node {
  const tokens = tokenize(text);
  let index = 0;
  const peek = () => tokens[index];
  const expectOp = (op: string) => {
    const token = tokens[index++];
    if (!token || token.kind !== "op" || token.value !== op) throw new Error(`expected '${op}' in expression '${text}'`);
  };
  const primary = (): Node => {
    const token = tokens[index++];
    if (!token) throw new Error(`unexpected end of expression '${text}'`);
    if (token.kind === "number" || token.kind === "name") return token;
    if (token.value === "(") {
      const inner = sum();
      expectOp(")");
      return inner;
    }
    if (token.value === "-") return { kind: "unary", operand: primary() };
    throw new Error(`unexpected '${token.value}' in expression '${text}'`);
  };
  const power = (): Node => {
    const base = primary();
    const token = peek();
    if (token?.kind === "op" && token.value === "**") {
      index++;
      return { kind: "binary", op: "**", left: base, right: power() };
    }
    return base;
  };
  const product = (): Node => {
    let left = power();
    for (let token = peek(); token?.kind === "op" && "*/%".includes(token.value) && token.value !== "**"; token = peek()) {
      index++;
      left = { kind: "binary", op: token.value, left, right: power() };
    }
    return left;
  };
  const sum = (): Node => {
    let left = product();
    for (let token = peek(); token?.kind === "op" && (token.value === "+" || token.value === "-"); token = peek()) {
      index++;
      left = { kind: "binary", op: token.value, left, right: product() };
    }
    return left;
  };
  const tree = sum();
  if (index !== tokens.length) throw new Error(`unexpected trailing input in expression '${text}'`);
  return tree;
}

function evaluate(node: Node, values: Record<string, number>): number {
  switch (node.kind) {
    case "number":
      return node.value;
    case "name": {
      const value = values[node.value];
      if (value === undefined) throw new Error(`unknown dimension '${node.value}'`);
      return value;
    }
    case "unary":
      return -evaluate(node.operand, values);
    case "binary": {
      const left = evaluate(node.left, values);
      const right = evaluate(node.right, values);
      switch (node.op) {
        case "+": return left + right;
        case "-": return left - right;
        case "*": return left * right;
        case "/":
          if (right === 0) throw new Error("division by zero in a shape expression");
          return Math.floor(left / right);
        case "%":
          if (right === 0) throw new Error("division by zero in a shape expression");
          return left % right;
        case "**": return left ** right;
      }
      throw new Error(`unknown operator '${node.op}'`);
    }
  }
}

function collect(node: Node, into: Set<string>): void {
  if (node.kind === "name") into.add(node.value);
  else if (node.kind === "unary") collect(node.operand, into);
  else if (node.kind === "binary") {
    collect(node.left, into);
    collect(node.right, into);
  }
}

/** Evaluates a shape expression such as `B*H+1` against dimension values. */
export function evaluateShapeExpression(text: string, values: Record<string, number>): number {
  return evaluate(parse(text), values);
}

/** Lists the identifiers an expression refers to; throws on a syntax error. */
export function shapeExpressionIdentifiers(text: string): string[] {
  const names = new Set<string>();
  collect(parse(text), names);
  return [...names];
}
