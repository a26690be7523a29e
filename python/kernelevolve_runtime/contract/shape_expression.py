"""Integer shape expressions (identifiers, integers, + - * / % ** and parentheses), the grammar of core/shape-expression.ts;
tests/contract/shared-cases.json holds the cases both sides run."""
import re

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/%()]))")


class ShapeExpressionError(ValueError):
    """A shape expression that cannot be parsed or refers to an unknown dimension."""


def _tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ShapeExpressionError(f"cannot parse expression '{text}' at '{text[position:]}'")
        number, name, operator = match.groups()
        if number is not None:
            value = float(number)
            tokens.append(("number", int(value) if value.is_integer() else value))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", operator))
        position = match.end()
    return tokens


def _parse(text):
    tokens = _tokenize(text)
    index = 0

    def peek():
        return tokens[index] if index < len(tokens) else None

    def take():
        nonlocal index
        if index >= len(tokens):
            raise ShapeExpressionError(f"unexpected end of expression '{text}'")
        index += 1
        return tokens[index - 1]

    def primary():
        kind, value = take()
        if kind in ("number", "name"):
            return (kind, value)
        if value == "(":
            inner = total()
            if peek() != ("op", ")"):
                raise ShapeExpressionError(f"expected ')' in expression '{text}'")
            take()
            return inner
        if value == "-":
            return ("unary", primary())
        raise ShapeExpressionError(f"unexpected '{value}' in expression '{text}'")

    def power():
        base = primary()
        if peek() == ("op", "**"):
            take()
            return ("binary", "**", base, power())
        return base

    def product():
        left = power()
        while peek() is not None and peek()[0] == "op" and peek()[1] in ("*", "/", "%"):
            operator = take()[1]
            left = ("binary", operator, left, power())
        return left

    def total():
        left = product()
        while peek() is not None and peek()[0] == "op" and peek()[1] in ("+", "-"):
            operator = take()[1]
            left = ("binary", operator, left, product())
        return left

    tree = total()
    if index != len(tokens):
        raise ShapeExpressionError(f"unexpected trailing input in expression '{text}'")
    return tree


def _evaluate(node, values):
    kind = node[0]
    if kind == "number":
        return node[1]
    if kind == "name":
        if node[1] not in values:
            raise ShapeExpressionError(f"unknown dimension '{node[1]}'")
        return values[node[1]]
    if kind == "unary":
        return -_evaluate(node[1], values)
    _, operator, left_node, right_node = node
    left = _evaluate(left_node, values)
    right = _evaluate(right_node, values)
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if operator in ("/", "%") and right == 0:
        raise ShapeExpressionError("division by zero in a shape expression")
    if operator == "/":
        return left // right
    if operator == "%":
        # JavaScript's % keeps the sign of the left operand; mirror it so both sides agree.
        remainder = abs(left) % abs(right)
        return -remainder if left < 0 else remainder
    return left**right


def evaluate_shape_expression(expression, values):
    """Evaluates a number or a shape expression such as 'B*H+1' against dimension values."""
    if isinstance(expression, bool):
        raise ShapeExpressionError(f"not a shape expression: {expression!r}")
    if isinstance(expression, (int, float)):
        return expression
    if not isinstance(expression, str):
        raise ShapeExpressionError(f"not a shape expression: {expression!r}")
    return _evaluate(_parse(expression), values)


def shape_expression_identifiers(expression):
    """Lists the identifiers an expression refers to; raises ShapeExpressionError on a syntax error."""
    names = []

    def collect(node):
        if node[0] == "name" and node[1] not in names:
            names.append(node[1])
        elif node[0] == "unary":
            collect(node[1])
        elif node[0] == "binary":
            collect(node[2])
            collect(node[3])

    collect(_parse(expression))
    return names
