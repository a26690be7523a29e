"""Templated seed kernels (docs/abi-cpu.md), the format agents/templates.ts reads: a `kernelevolve:template` marker line,
`param NAME: v1, v2` and `constraint: expr` header lines, `{{NAME}}` placeholders. Both sides must agree on what an
instance is, to the byte (tests/contract/shared-cases.json): the marker line becomes `kernelevolve:instance NAME=value ...`,
the param and constraint lines go, placeholders take their values, every other line stays with its own line ending."""
import ast
import hashlib
import itertools
import random
import re

_MARKER = re.compile(r"^\s*(?://|#)\s*kernelevolve:template\s*$")
_PARAM = re.compile(r"^\s*(?://|#)\s*param\s+([^:]*?)\s*:\s*(.*)$")
_CONSTRAINT = re.compile(r"^\s*(?://|#)\s*constraint\s*:\s*(.*)$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A plain decimal number (agents/templates.ts typedValue): '1e3' and '-2.5' are numbers; '1_000', 'inf', '+4' are strings.
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.IGNORECASE)
_ENUMERATION_LIMIT = 1_000_000
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add, ast.Sub,
    ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List, ast.IfExp,
)


class TemplateError(ValueError):
    """A template whose header or placeholders are inconsistent, or parameters that are not one of its instances."""


def typed_value(text):
    """A parameter value as constraints see it: an int or float for a plain decimal number, else the text."""
    if not _NUMBER.match(text):
        return text
    value = float(text)
    return int(value) if value.is_integer() and re.match(r"^-?\d+$", text) else value


def source_hash(language, source):
    """core/source-hash.ts: the key under which a run remembers a candidate's source (line endings and trailing blanks aside)."""
    normalised = re.sub(r"[ \t]+$", "", source.replace("\r\n", "\n"), flags=re.MULTILINE).strip()
    return hashlib.sha256(f"{language}\n{normalised}".encode("utf-8")).hexdigest()[:24]


class Constraint:
    """One `constraint:` expression: a restricted Python expression over the parameters, evaluated by Python."""

    def __init__(self, text):
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            raise TemplateError(f"constraint '{text}' is not an expression: {error.msg}") from error
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED_NODES):
                raise TemplateError(f"constraint '{text}' uses {type(node).__name__}, which is not allowed")
        self.names = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)})
        self._code = compile(tree, "<constraint>", "eval")

    def allows(self, values):
        """Whether typed parameter values satisfy the constraint; TemplateError when it cannot be evaluated."""
        try:
            return bool(eval(self._code, {"__builtins__": {}}, dict(values)))  # noqa: S307 - AST restricted in __init__
        except Exception as error:  # noqa: BLE001 - a constraint that cannot be evaluated is the template's fault
            raise TemplateError(f"constraint '{self.text}' cannot be evaluated on {values}: {error}") from error


def parse_constraint(text):
    """Parses one constraint expression; TemplateError for a syntax error or a construct outside the subset."""
    return Constraint(text)


def _lines(source):
    """(text without its line ending, '\\r' for a CRLF line else '') per line, as agents/templates.ts splits them."""
    return [(line[:-1], "\r") if line.endswith("\r") else (line, "") for line in source.split("\n")]


class Template:
    """Parameters (name -> ordered values; the first is the default), constraints and the source."""

    def __init__(self, source, parameters, constraints):
        self.source = source
        self.parameters = parameters
        self.constraints = constraints

    def problem(self, values):
        """Why `values` is not an instance of the template, or None when it is."""
        for name, allowed in self.parameters.items():
            if name not in values:
                return f"missing parameter '{name}'"
            if str(values[name]) not in allowed:
                return f"'{values[name]}' is not a value of '{name}' ({', '.join(allowed)})"
        extra = [name for name in values if name not in self.parameters]
        if extra:
            return f"unknown parameter(s) {', '.join(extra)}"
        typed = {name: typed_value(str(value)) for name, value in values.items()}
        for constraint in self.constraints:
            try:
                if not constraint.allows(typed):
                    return f"violates constraint '{constraint.text}'"
            except TemplateError as error:
                return str(error)
        return None

    def allows(self, values):
        """Whether a combination names declared values and satisfies every constraint."""
        return self.problem(values) is None

    def instances(self, limit=None):
        """The allowed combinations in odometer order (last parameter fastest), the first being the defaults where allowed."""
        found = []
        names = list(self.parameters)
        for combination in itertools.product(*self.parameters.values()):
            if limit is not None and len(found) >= limit:
                break
            values = dict(zip(names, combination))
            if self.allows(values):
                found.append(values)
        return found

    def default(self):
        """The default instance: each parameter's first value, or the first allowed combination when that breaks a constraint."""
        first = self.instances(1)
        if not first:
            raise TemplateError("no combination of parameter values satisfies the constraints")
        return first[0]

    def size(self):
        """How many combinations exist before constraints."""
        total = 1
        for values in self.parameters.values():
            total *= len(values)
        return total


def parse_template(source, origin="template"):
    """Parses the header of a templated kernel; raises TemplateError naming `origin` and the line."""
    lines = _lines(source)
    if not any(_MARKER.match(text) for text, _ in lines):
        raise TemplateError(f"{origin}: not a template (no 'kernelevolve:template' line)")
    parameters = {}
    constraints = []
    for number, (line, _) in enumerate(lines, start=1):
        where = f"{origin}:{number}"
        match = _PARAM.match(line)
        if match:
            name, text = match.groups()
            if not _IDENTIFIER.match(name):
                raise TemplateError(f"{where}: parameter name '{name}' is not an identifier")
            if name in parameters:
                raise TemplateError(f"{where}: parameter '{name}' declared twice")
            values = [value.strip() for value in text.split(",")]
            if any(value == "" for value in values):
                raise TemplateError(f"{where}: parameter '{name}' has an empty value in '{text}'")
            if len(set(values)) != len(values):
                raise TemplateError(f"{where}: parameter '{name}' repeats a value")
            parameters[name] = values
            continue
        match = _CONSTRAINT.match(line)
        if match:
            try:
                constraints.append(parse_constraint(match.group(1)))
            except TemplateError as error:
                raise TemplateError(f"{where}: {error}") from error
    if not parameters:
        raise TemplateError(f"{origin}: a template must declare at least one 'param NAME: v1, v2' line")
    used = set(_PLACEHOLDER.findall(source))
    for name in sorted(used - set(parameters)):
        raise TemplateError(f"{origin}: placeholder {{{{{name}}}}} has no 'param {name}: ...' line")
    for name in parameters:
        if name not in used:
            raise TemplateError(f"{origin}: parameter '{name}' is declared but no {{{{{name}}}}} uses it")
    for constraint in constraints:
        unknown = [name for name in constraint.names if name not in parameters]
        if unknown:
            raise TemplateError(f"{origin}: constraint '{constraint.text}' names unknown parameter(s) {', '.join(unknown)}")
    template = Template(source, parameters, constraints)
    if template.size() <= _ENUMERATION_LIMIT and not template.instances(1):
        raise TemplateError(f"{origin}: no combination of parameter values satisfies the constraints")
    return template


def instantiate(template, values):
    """The instance's source: the marker line becomes `kernelevolve:instance NAME=value ...`, the param and constraint lines
    go, every {{NAME}} takes its value (agents/templates.ts instantiateTemplate, byte for byte)."""
    problem = template.problem(values)
    if problem:
        raise TemplateError(f"cannot instantiate template: {problem}")
    kept = []
    for line, ending in _lines(template.source):
        if _MARKER.match(line):
            prefix = "#" if line.lstrip().startswith("#") else "//"
            assignment = " ".join(f"{name}={values[name]}" for name in template.parameters)
            kept.append(f"{prefix} kernelevolve:instance {assignment}{ending}")
            continue
        if _PARAM.match(line) or _CONSTRAINT.match(line):
            continue
        kept.append(_PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), line) + ending)
    return "\n".join(kept)


def choose_instances(template, budget, seed=0):
    """Up to `budget` allowed combinations: the default first, then a seeded random subset of the others."""
    if budget < 1:
        raise TemplateError("the budget must be at least 1")
    names = list(template.parameters)
    generator = random.Random(seed)
    default = template.default()
    chosen = [default]
    if template.size() <= 100_000:
        others = [values for values in template.instances() if values != default]
        generator.shuffle(others)
        chosen.extend(others[: budget - 1])
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
    return chosen[:budget]
