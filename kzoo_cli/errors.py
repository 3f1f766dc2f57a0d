"""One line for a failure: the message of the exception that started it, out of TensorFlow's and Keras's wrappers.

TensorFlow re-raises an error from inside a ``tf.function``, a ``tf.data``
map or a Keras ``fit`` inside layers of its own text:

* AutoGraph: ``in user code:`` and the user's stack, then ``ValueError: <message>``;
* Keras: ``Exception encountered when calling X.call().`` and the message in bold (ANSI escapes);
* graph execution: ``Graph execution error:``, ``Detected at node ...`` and a stack, then the message;
* eager ops and iterators: ``{{function_node __wrapped__...}} <message> [Op:...]``, with tf.data's
  ``Error in user-defined function passed to ... transformation with iterator: ...:`` before it;
* assertions: ``assertion failed: [<message>] [Condition x == y did not hold element-wise:] ...``;
* ``py_function``: ``ValueError: <message>`` and the Python traceback.

``error_message`` peels these off (no TensorFlow import needed) and keeps the first line of what is left.
"""

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# An exception line as Python prints it: "ValueError: ...", "tensorflow.python...InvalidArgumentError: ...".
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Exit|Interrupt)): ?(.*)$", re.DOTALL)
# Exceptions whose message alone says little ("'boxes'" for a KeyError): their name stays in the line.
_NAMED_TYPES = {"KeyError", "IndexError", "AttributeError", "NameError", "UnboundLocalError", "ZeroDivisionError",
                "StopIteration", "ModuleNotFoundError", "ImportError", "RecursionError", "MemoryError"}
_FUNCTION_NODE = re.compile(r"^(?:\{\{function_node [^}]*\}\}\s*)+")
# The same marker inside a message that quotes a TensorFlow error ("x.png cannot be decoded: {{function_node ...").
_INNER_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_DATASET_FUNCTION = re.compile(
    r"^Error in user-defined function passed to \S+ transformation with iterator: [\w:]+: ", re.DOTALL
)
_KERAS_CALL = re.compile(r"^Exception encountered when calling [^\n]*\n")
_ASSERTION = re.compile(r"^assertion failed: \[(.*?)\](?: \[|\s*$)", re.DOTALL)
_ROOT_ERRORS = re.compile(r"\broot error\(s\) found\.\s*\(0\) [A-Z_]+:\s*(.*)", re.DOTALL)
_OP_SUFFIX = re.compile(r"\s*(?:\[\[\{\{.*|\[Op:[^\]]*\](?: name: ?\S*)?)\s*$")


def _after_user_code(text):
    """The exception lines that close AutoGraph's ``in user code:`` block (dedented), or None."""
    lines = text.split("\n")[1:]
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith(("    File ", "        ")):
            continue  # a blank line, a stack entry or its source line
        body = [entry[4:] if entry.startswith("    ") else entry for entry in lines[i:]]
        return "\n".join(body)
    return None


def _after_graph_stack(text):
    """What follows the ``Detected at node ... defined at`` stacks of a graph execution error."""
    found = _ROOT_ERRORS.search(text)
    if found:
        return found.group(1)
    lines = text.split("\n")[1:]
    for i, line in enumerate(lines):
        stripped = line.strip()
        if (not stripped or stripped.startswith("Detected at node") or line.startswith("  File ")
                or stripped == "<stack traces unavailable>"):
            continue
        return "\n".join(lines[i:])
    return ""


def _unwrap_once(text):
    """``text`` less its outermost wrapper (or ``text`` itself when it has none)."""
    if _KERAS_CALL.match(text):
        return _KERAS_CALL.sub("", text, count=1).split("\n\nArguments received by", 1)[0]
    if text.startswith("in user code:"):
        inner = _after_user_code(text)
        return text if inner is None else inner
    if text.startswith("Graph execution error:"):
        return _after_graph_stack(text)
    if _FUNCTION_NODE.match(text):
        return _FUNCTION_NODE.sub("", text, count=1)
    if _DATASET_FUNCTION.match(text):
        return _DATASET_FUNCTION.sub("", text, count=1)
    exception = _EXCEPTION_LINE.match(text)
    if exception and exception.group(1) not in _NAMED_TYPES and exception.group(2).strip():
        return exception.group(2)
    assertion = _ASSERTION.match(text)
    if assertion and assertion.group(1).strip():
        return assertion.group(1)
    return text


def reduce_message(text):
    """The original message inside TensorFlow's wrappers of an error's text, on one line ("" if there is none)."""
    text = _ANSI.sub("", text).strip()
    for _ in range(20):  # wrappers nest (a Keras call around AutoGraph around a py_function ...)
        inner = _unwrap_once(text).strip()
        if inner == text:
            break
        text = inner
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return _OP_SUFFIX.sub("", _INNER_FUNCTION_NODE.sub("", first)).strip()


def error_message(error):
    """One line for ``error``: its original message, out of TensorFlow's wrappers (its type's name if it has none)."""
    message = reduce_message(str(error))
    if not message:
        return type(error).__name__
    if type(error).__name__ in _NAMED_TYPES and not _EXCEPTION_LINE.match(message):
        return f"{type(error).__name__}: {message}"
    return message


__all__ = ["error_message", "reduce_message"]
