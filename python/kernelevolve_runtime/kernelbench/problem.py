"""Reads a KernelBench-format problem file: its integer size constants, which of them shape the model, and a way to run it at other sizes."""
import ast
import hashlib
import operator
import re

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
           ast.Pow: operator.pow, ast.Mod: operator.mod}


class ProblemError(ValueError):
    """A problem file that cannot be used (no Model, no get_inputs, unparsable); the message says why."""


def _literal_int(node):
    """The value of an integer expression made only of literals (e.g. `2048 * 2`), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal_int(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _literal_int(node.left), _literal_int(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Pow) and right > 64):
            return None
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            return None
        return _BINARY[type(node.op)](left, right)
    return None


class Constant:
    """One size constant: a module-level integer (`N = 4096`) or one element of an integer tuple (`input_shape = (32768,)`)."""

    def __init__(self, name, value, node):
        self.name, self.value, self.node = name, value, node


def _names_in(node):
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


class Problem:
    """A parsed problem: source, size constants (in file order) and the names that shape Model's weights."""

    def __init__(self, source, path="<problem>"):
        self.source, self.path = source, path
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError as error:
            raise ProblemError(f"{path}: not valid Python ({error.msg}, line {error.lineno})") from error
        defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        for required in ("Model", "get_inputs", "get_init_inputs"):
            if required not in defined:
                raise ProblemError(f"{path}: defines no `{required}`; a KernelBench problem needs Model, get_inputs and get_init_inputs")
        self.constants = []
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            name = node.targets[0].id
            value = _literal_int(node.value)
            if value is not None:
                self.constants.append(Constant(name, value, node.value))
            elif isinstance(node.value, ast.Tuple):
                for index, element in enumerate(node.value.elts):
                    element_value = _literal_int(element)
                    if element_value is not None:
                        self.constants.append(Constant(f"{name}_{index}", element_value, element))
        # Constants read by get_init_inputs or the Model class decide the weights; they stay fixed across a spec's sizes.
        shaping = _names_in(defined["get_init_inputs"]) | _names_in(defined["Model"])
        tuple_owner = {constant.name: constant.name.rsplit("_", 1)[0] for constant in self.constants}
        self.structural = [constant.name for constant in self.constants
                           if constant.name in shaping or tuple_owner[constant.name] in shaping]
        self.identifier = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]

    @property
    def defaults(self):
        """The constants' values as written in the file."""
        return {constant.name: constant.value for constant in self.constants}

    def with_values(self, values):
        """The source with the given constants' values written in place of the originals (comments and layout kept)."""
        lines = self.source.splitlines(keepends=True)
        edits = []
        for constant in self.constants:
            if constant.name in values and values[constant.name] != constant.value:
                node = constant.node
                if node.lineno != node.end_lineno:
                    raise ProblemError(f"{self.path}: constant {constant.name} spans several lines; cannot rewrite it")
                edits.append((node.lineno - 1, node.col_offset, node.end_col_offset, str(int(values[constant.name]))))
        # Right to left so earlier offsets on a line stay valid (ast offsets count UTF-8 bytes).
        for line, start, end, text in sorted(edits, reverse=True):
            encoded = lines[line].encode("utf-8")
            lines[line] = (encoded[:start] + text.encode("utf-8") + encoded[end:]).decode("utf-8")
        return "".join(lines)


def execute(source, name="kernelbench_problem"):
    """Runs a problem's source in a fresh namespace and returns the namespace."""
    namespace = {"__name__": name}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - problem files are trusted inputs the user supplies
    return namespace


_FILE_NAME = re.compile(r"^(\d+)_(.+)\.py$")


def problem_number(file_name):
    """(number, title) of a KernelBench file name such as `19_ReLU.py`, or None for other files."""
    match = _FILE_NAME.match(file_name)
    return (int(match.group(1)), match.group(2)) if match else None
