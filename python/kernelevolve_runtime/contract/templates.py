"""Templated seed kernels (docs/abi-cpu.md): `param NAME: v1, v2` and `constraint: expr` header lines, `{{NAME}}` placeholders."""
import ast
import itertools
import random
import re

_PARAM = re.compile(r"^\s*(?://|#)\s*param\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")
_CONSTRAINT = re.compile(r"^\s*(?://|#)\s*constraint\s*:\s*(.*?)\s*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ENUMERATION_LIMIT = 100_000
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add, ast.Sub,
    ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.IfExp,
)


class TemplateError(ValueError):
    """A template whose header or placeholders are inconsistent."""


def _typed(text):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


class Template:
    """Parameters (name -> ordered values; the first is the default), constraints and the source."""

    def __init__(self, source, parameters, constraints):
        self.source = source
        self.parameters = parameters
        self.constraints = constraints

    def allows(self, values):
        """Whether a combination satisfies every constraint."""
        scope = {name: _typed(value) for name, value in values.items()}
        for expression, tree in self.constraints:
            try:
                if not eval(compile(tree, "<constraint>", "eval"), {"__builtins__": {}}, scope):  # noqa: S307 - AST restricted above
                    return False
            except Exception as error:  # noqa: BLE001 - a constraint that cannot be evaluated is the template's fault
                raise TemplateError(f"constraint '{expression}' failed on {values}: {error}") from error
        return True

    def default(self):
        """The default instance: each parameter's first value."""
        return {name: values[0] for name, values in self.parameters.items()}

    def size(self):
        """How many combinations exist before constraints."""
        total = 1
        for values in self.parameters.values():
            total *= len(values)
        return total


def parse_template(source):
    """Parses the header of a templated kernel; raises TemplateError on a bad header or undeclared placeholders."""
    parameters = {}
    constraints = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = _PARAM.match(line)
        if match:
            name, text = match.groups()
            if name in parameters:
                raise TemplateError(f"line {number}: parameter {name} is declared twice")
            values = [value.strip() for value in text.split(",") if value.strip()]
            if not values:
                raise TemplateError(f"line {number}: parameter {name} has no values")
            parameters[name] = values
            continue
        match = _CONSTRAINT.match(line)
        if match:
            expression = match.group(1)
            try:
                tree = ast.parse(expression, mode="eval")
            except SyntaxError as error:
                raise TemplateError(f"line {number}: constraint '{expression}' is not a Python expression") from error
            for node in ast.walk(tree):
                if not isinstance(node, _ALLOWED_NODES):
                    raise TemplateError(f"line {number}: constraint '{expression}' uses {type(node).__name__}, which is not allowed")
            constraints.append((expression, tree))
    if not parameters:
        raise TemplateError("no 'param NAME: v1, v2' lines: not a template")
    for expression, tree in constraints:
        unknown = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(parameters)
        if unknown:
            raise TemplateError(f"constraint '{expression}' names undeclared parameter(s) {', '.join(sorted(unknown))}")
    undeclared = sorted({name for name in _PLACEHOLDER.findall(source) if name not in parameters})
    if undeclared:
        raise TemplateError(f"placeholder(s) {', '.join(undeclared)} have no 'param' line")
    return Template(source, parameters, constraints)


def instantiate(template, values):
    """The template's source with every {{NAME}} replaced by the value chosen for NAME."""
    missing = [name for name in template.parameters if name not in values]
    if missing:
        raise TemplateError(f"no value for parameter(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template.source)


def choose_instances(template, budget, seed=0):
    """Up to `budget` allowed combinations: the default first (where allowed), then a seeded random subset."""
    if budget < 1:
        raise TemplateError("the budget must be at least 1")
    names = list(template.parameters)
    generator = random.Random(seed)
    chosen = []
    default = template.default()
    if template.allows(default):
        chosen.append(default)
    if template.size() <= _ENUMERATION_LIMIT:
        others = [dict(zip(names, values)) for values in itertools.product(*template.parameters.values())]
        others = [values for values in others if values != default and template.allows(values)]
        generator.shuffle(others)
        chosen.extend(others[: budget - len(chosen)])
    else:
        seen = {tuple(default.values())}
        attempts = 0
        while len(chosen) < budget and attempts < budget * 200:
            attempts += 1
            values = {name: generator.choice(template.parameters[name]) for name in names}
            key = tuple(values.values())
            if key not in seen and template.allows(values):
                seen.add(key)
                chosen.append(values)
    if not chosen:
        raise TemplateError("no combination satisfies the constraints")
    return chosen[:budget]
