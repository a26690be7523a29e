"""Reads the seed specs (seeds/specs/*.yaml) on hosts without PyYAML or Node (the GPU host), with a reader for the YAML they use.

The subset: block mappings and lists, flow lists and mappings of plain or quoted scalars, `|` and
`>-` block scalars, full-line comments. Anything else raises SpecFileError naming the line.
"""
import json
import os
import re

from .spec import SpecError, normalize_spec

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\s*:(?:\s+(.*))?$")


class SpecFileError(SpecError):
    """A spec file outside the YAML subset this reader understands."""


def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return json.loads(text) if text[0] == '"' else text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~", ""):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _split_flow(text):
    parts, depth, quote, current = [], 0, None, ""
    for character in text:
        if quote:
            quote = None if character == quote else quote
        elif character in "\"'":
            quote = character
        elif character in "[{":
            depth += 1
        elif character in "]}":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += character
    if current.strip():
        parts.append(current)
    return parts


def _flow(text):
    text = text.strip()
    if text.startswith("["):
        return [_flow(part) for part in _split_flow(text[1:-1])]
    if text.startswith("{"):
        result = {}
        for part in _split_flow(text[1:-1]):
            key, _, value = part.partition(":")
            result[key.strip()] = _flow(value)
        return result
    return _scalar(text)


class _Reader:
    def __init__(self, text, path):
        self.path = path
        self.lines = [line.rstrip() for line in text.splitlines()]
        self.position = 0

    def _fail(self, message):
        raise SpecFileError(f"{self.path}:{self.position + 1}: {message}")

    def _next_content(self):
        while self.position < len(self.lines):
            line = self.lines[self.position]
            if line.strip() and not line.lstrip().startswith("#"):
                return len(line) - len(line.lstrip()), line.strip()
            self.position += 1
        return None, None

    def _block_scalar(self, style, parent_indent):
        collected, indent = [], None
        while self.position < len(self.lines):
            line = self.lines[self.position]
            if line.strip():
                current = len(line) - len(line.lstrip())
                if current <= parent_indent:
                    break
                indent = current if indent is None else indent
                collected.append(line[indent:])
            else:
                collected.append("")
            self.position += 1
        while collected and not collected[-1]:
            collected.pop()
        if style == "|":
            return "\n".join(collected) + "\n"
        return " ".join(part for part in collected if part)

    def _value(self, text, indent):
        if text in ("|", ">-", ">", "|-"):
            return self._block_scalar(text, indent)
        if text is None or text == "":
            return self.block(self._next_content()[0])
        return _flow(text)

    def block(self, indent):
        current, text = self._next_content()
        if current is None or current < indent:
            return None
        if text.startswith("- ") or text == "-":
            return self._list(current)
        return self._mapping(current)

    def _mapping(self, indent):
        result = {}
        while True:
            current, text = self._next_content()
            if current is None or current < indent:
                return result
            if current > indent:
                self._fail("unexpected indentation")
            match = _KEY.match(text)
            if not match:
                self._fail(f"expected 'key: value', got '{text}'")
            self.position += 1
            result[match.group(1)] = self._value(match.group(2), indent)

    def _list(self, indent):
        result = []
        while True:
            current, text = self._next_content()
            if current is None or current < indent or not text.startswith("-"):
                return result
            rest = text[1:].strip()
            if _KEY.match(rest) and not rest.startswith(("[", "{", '"')):
                # "- key: value" opens a mapping whose keys sit two columns further in.
                self.lines[self.position] = " " * (indent + 2) + rest
                result.append(self._mapping(indent + 2))
            else:
                self.position += 1
                result.append(self._value(rest, indent))


def parse_spec_yaml(text, path="<spec>"):
    """Parses spec YAML with PyYAML where it is installed, else with this module's subset reader."""
    try:
        import yaml
    except ImportError:
        return _Reader(text, path).block(0)
    return yaml.safe_load(text)


def load_spec_file(path):
    """Loads and normalises one spec file (.json, .yaml or .yml)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    raw = json.loads(text) if path.endswith(".json") else parse_spec_yaml(text, path)
    return normalize_spec(raw)


def load_seed_specs(folder):
    """Every spec under a folder, by id (sorted by file name)."""
    specs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yaml", ".yml", ".json")):
            spec = load_spec_file(os.path.join(folder, name))
            specs[spec["id"]] = spec
    return specs
