"""Java and JavaScript argument values as BFCL reads them: source text to Python values.

In BFCL's Java and JavaScript categories every parameter is sent to the model as a
string holding Java or JavaScript source (``"5L"``, ``"new int[]{1, 2}"``,
``"['a', 'b']"``), and the official checker turns that text into a Python value by the
parameter's declared type before comparing it with the possible answers. These
functions are a port of ``bfcl_eval``'s ``java_type_converter.py`` and
``js_type_converter.py`` (bfcl-eval 2026.3.23, Apache-2.0,
github.com/ShishirPatil/gorilla), quirks included, because agreeing with the
leaderboard means reading a value exactly as it does:

- text that does not parse as the declared type is kept as the string it was (the
  checker then fails it on type, unless the possible answer is itself a string);
- a Java ``char`` never parses (BFCL's pattern ``^\\'.$\\'`` cannot match), so it stays text;
- collections are found with regular expressions, not parsed: ``Arrays.asList`` splits
  on every comma, JavaScript objects split on ``key: value`` pairs.

Where BFCL raises (``Set``, ``Hashtable``, ``Queue``, ``Stack``, an unknown type),
:class:`UnsupportedType` is raised here, and the judge reports it as a failure of that
parameter instead of stopping the run.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "JAVA_TYPES",
    "JS_TYPES",
    "UnsupportedType",
    "java_source",
    "java_value",
    "js_source",
    "js_value",
]

JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}
"""Java type name → the Python type a converted value has (BFCL's ``JAVA_TYPE_CONVERSION``)."""

JS_TYPES: dict[str, type] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}
"""JavaScript type name → Python type (BFCL's ``JS_TYPE_CONVERSION``)."""


class UnsupportedType(Exception):
    """A declared type BFCL's converters do not handle (BFCL itself raises on it)."""


_INT = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")
_JAVA_CHAR = re.compile(r"^\'.$\'")
_FLOAT_SUFFIX = re.compile(r"[fF]$")
_LONG_SUFFIX = re.compile(r"[lL]$")
_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_ADDS = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_ADD = re.compile(r"add\((.+?)\)")
_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_HASHMAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")


def java_value(value: str, expected: str, nested: str | None = None) -> Any:
    """The Python value BFCL reads from Java source ``value`` of type ``expected``.

    Args:
        value: the argument as the model sent it (a string).
        expected: the declared Java type (``long``, ``ArrayList``...).
        nested: the element type of an ``Array`` or ``ArrayList``.

    Raises:
        UnsupportedType: a type BFCL does not convert (it raises too).
    """
    if expected not in JAVA_TYPES:
        raise UnsupportedType(expected)
    if expected in ("byte", "short", "integer"):
        return int(value) if _INT.match(value) else str(value)
    if expected == "float":
        if not _JAVA_FLOAT.match(value):
            return str(value)
        return float(_FLOAT_SUFFIX.sub("", value))
    if expected == "double":
        return float(value) if _JAVA_DOUBLE.match(value) else str(value)
    if expected == "long":
        if not _JAVA_LONG.match(value):
            return str(value)
        return int(_LONG_SUFFIX.sub("", value))
    if expected == "boolean":
        return value == "true" if value in ("true", "false") else str(value)
    if expected == "char":
        return value if _JAVA_CHAR.match(value) else str(value)
    if expected == "ArrayList":
        return _java_arraylist(value, nested)
    if expected == "Array":
        return _java_array(value, nested)
    if expected == "HashMap":
        return _java_hashmap(value)
    if expected in ("String", "any"):
        return str(value)
    raise UnsupportedType(expected)  # Set, Hashtable, Queue, Stack: BFCL raises too


def _java_element(text: str, nested: str | None) -> Any:
    if nested in ("char", "String"):
        return text[1:-1]  # BFCL drops the quotes without looking at them
    return java_value(text, nested) if nested else _java_literal(text)


def _java_arraylist(text: str, nested: str | None) -> Any:
    found = _AS_LIST.search(text)
    if found:
        return [_java_element(item.strip(), nested) for item in found.group(1).split(",")]
    found = _ADDS.search(text)
    if found:
        return [_java_element(item.strip(), nested) for item in _ADD.findall(found.group(1))]
    if _EMPTY_LIST.search(text):
        return []
    return text


def _java_array(text: str, nested: str | None) -> Any:
    found = _ARRAY.search(text)
    if not found:
        return text
    items = [item.strip() for item in found.group(1).split(",") if item.strip()]
    if nested:
        return [java_value(item, nested) for item in items]
    return [_java_literal(item) for item in items]


def _java_hashmap(text: str) -> Any:
    found = _HASHMAP.search(text)
    if found:
        entries: dict[str, Any] = {}
        body = found.group(1)
        if body.strip():
            for key, value in _PUT.findall(body):
                entries[key] = _java_literal(value.strip())
        return entries
    if _EMPTY_MAP.search(text):
        return {}
    return text


def _java_literal(text: str) -> Any:
    """A Java literal of unknown type (BFCL's ``parse_java_value``)."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(_FLOAT_SUFFIX.sub("", text))
    return _number_or_text(text)


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")
_JS_ARRAY_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
)
_JS_ARRAY = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_INNER = re.compile(r"\[(.*?)\]")
_JS_DICT = re.compile(r"\{(.*?)\}")
_JS_PAIRS = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def js_value(value: str, expected: str, nested: str | None = None) -> Any:
    """The Python value BFCL reads from JavaScript source ``value`` of type ``expected``.

    Raises:
        UnsupportedType: a type BFCL does not convert (it raises too).
    """
    if expected not in JS_TYPES:
        raise UnsupportedType(expected)
    if expected == "String":
        quoted = (value.startswith('"') and value.endswith('"')) or (
            value.startswith("'") and value.endswith("'")
        )
        return value[1:-1] if quoted else str(value)
    if expected == "integer":
        return int(value) if _INT.match(value) else str(value)
    if expected == "float":
        return float(value) if _JS_FLOAT.match(value) else str(value)
    if expected == "Bigint":
        return int(value[:-1]) if _JS_BIGINT.match(value) else str(value)
    if expected == "Boolean":
        return value == "true" if value in ("true", "false") else str(value)
    if expected == "dict":
        return _js_dict(value.strip())
    if expected == "array":
        return _js_array(value.strip(), nested)
    return str(value)  # any


def _js_array(code: str, nested: str | None) -> Any:
    try:
        two_d = _JS_ARRAY_2D.match(code)
        if two_d:
            rows = []
            for index, inner in enumerate(_JS_INNER.findall(two_d.group(0))):
                inner = inner.strip()
                if index == 0 and inner.startswith("["):
                    inner = inner[1:]
                rows.append([_js_literal(item.strip()) for item in inner.split(",")])
            return rows
        found = _JS_ARRAY.match(code)
        if not found:
            return code
        body = found.group(1) if found.group(1) is not None else found.group(2)
        body = (body or "").strip()
        items = body.split(",") if body else []
        if nested:
            return [
                js_value(item.strip(), nested, "String")
                if item.strip().startswith(("'", '"'))
                else js_value(item.strip(), nested)
                for item in items
            ]
        return [_js_literal(item.strip()) for item in items]
    except Exception:  # BFCL's bare except: the text stays as it was
        return code


def _js_dict(code: str) -> Any:
    if code == "{}":
        return {}
    found = _JS_DICT.match(code)
    if not found:
        return code
    try:
        entries: dict[str, Any] = {}
        for key, raw in _JS_PAIRS.findall(found.group(1)):
            name = key.strip().strip("'\"")
            text = raw.strip()
            if text.startswith("[") and text.endswith("]"):
                entries[name] = _js_array(text, None)
            elif text.startswith("{") and text.endswith("}"):
                entries[name] = _js_dict(text)
            else:
                entries[name] = _js_literal(text.strip("'\""))
        return entries
    except Exception:  # as BFCL: a dictionary it cannot read stays text
        return code


def _js_literal(text: str) -> Any:
    """A JavaScript literal of unknown type (BFCL's ``parse_js_value``)."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    quoted = (text.startswith('"') and text.endswith('"')) or (
        text.startswith("'") and text.endswith("'")
    )
    if quoted:
        return text[1:-1]
    return _number_or_text(text)


# -- the other way: a value written as the source text BFCL reads back ---------------------

_JAVA_ELEMENT_NAMES = {
    "byte": "byte",
    "short": "short",
    "integer": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "char": "char",
    "String": "String",
}


def java_source(value: Any, declared: str, items: str | None = None) -> str:
    """Java source text that :func:`java_value` reads back as ``value`` where BFCL can.

    One spelling per value (``5L`` for a long, ``new ArrayList<>(Arrays.asList(...))``
    for a list); a string value (BFCL's "variable" answers) is written as it is.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "long" and isinstance(value, int):
        return f"{value}L"
    if declared == "float" and isinstance(value, int | float):
        return f"{value}f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        if declared == "Array":
            element = _JAVA_ELEMENT_NAMES.get(items or "", "Object")
            # BFCL reads each element by its type, quotes included: strings go unquoted
            inner = ", ".join(java_source(v, items or "any") for v in value)
            return f"new {element}[]{{{inner}}}"
        if not value:
            return "new ArrayList<>()"
        inner = ", ".join(_java_element_source(v, items) for v in value)
        return f"new ArrayList<>(Arrays.asList({inner}))"
    if isinstance(value, dict):
        if not value:
            return "new HashMap<>()"
        puts = " ".join(f'put("{k}", {_java_literal_source(v)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    return str(value)


def _java_element_source(value: Any, items: str | None) -> str:
    if items == "char":
        return f"'{value}'"
    if items == "String" or (items is None and isinstance(value, str)):
        return f'"{value}"'
    return java_source(value, items or "any")


def _java_literal_source(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return java_source(value, "any")


def js_source(value: Any, declared: str, items: str | None = None) -> str:
    """JavaScript source text that :func:`js_value` reads back as ``value`` where BFCL can."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "Bigint" and isinstance(value, int):
        return f"{value}n"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_js_literal_source(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_literal_source(v)}" for k, v in value.items()) + "}"
    return str(value)


def _js_literal_source(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return js_source(value, "any")
