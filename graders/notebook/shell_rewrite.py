"""Shell downloads in member notebooks, rewritten as Python calls the kernel shim answers.

The sandbox has no network. A course lesson's `!wget URL -O path` (often over several
lines with `\\`), `!curl -L URL -o path`, `!mkdir -p d`, `!unzip x.zip -d d` or a `%%bash`
cell made only of those becomes, in the member's code, calls of two functions the kernel
shim defines:

    __adventures_fetch__(url, dest)     dest: a path, or None for "the URL's file name in
                                        the current folder" (what wget and curl -O do)
    __adventures_unpack__(path, dest)   dest: a folder, or None for the current folder

They answer from the course data the instructor added and name the URL when it is missing.
Only what can be read without doubt is rewritten: anything else (pipes, shell variables,
recursive wget, other programs) is not a download and returns None, so the caller drops it
with a note, as before.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

FETCH = "__adventures_fetch__"
UNPACK = "__adventures_unpack__"

# Commands that only show something or tidy up: not run, and no reason to give up a cell.
DISPLAY_ONLY = frozenset(
    "ls ll echo pwd head tail cat wc du df file tree date sleep which rm set true nvidia-smi".split()
)

_SEPARATORS = frozenset({"&&", ";"})
_REDIRECTS = frozenset({">", ">>", ">&", "&>", "<", ">|"})
# Options that take a value in the next word (or glued: -Ofile, --output-document=file).
_WGET_VALUE = frozenset("OPoatTUewlARDXIiBQ")
_WGET_LONG_VALUE = frozenset(
    {
        "--output-document",
        "--directory-prefix",
        "--output-file",
        "--append-output",
        "--tries",
        "--timeout",
        "--user-agent",
        "--header",
        "--user",
        "--password",
        "--load-cookies",
        "--save-cookies",
        "--limit-rate",
        "--wait",
        "--referer",
        "--post-data",
        "--method",
        "--body-data",
        "--quota",
        "--execute",
        "--input-file",
        "--base",
    }
)
_WGET_UNSUPPORTED = frozenset(
    {"-r", "--recursive", "-m", "--mirror", "-i", "--input-file", "-B", "--base", "-p"}
)
_CURL_VALUE = frozenset("oCHAuXdebrmxTFwyYzEKDQ")
_CURL_LONG_VALUE = frozenset(
    {
        "--output",
        "--output-dir",
        "--header",
        "--user-agent",
        "--user",
        "--request",
        "--data",
        "--retry",
        "--max-time",
        "--connect-timeout",
        "--cookie",
        "--cookie-jar",
        "--range",
        "--proxy",
        "--write-out",
        "--continue-at",
        "--referer",
        "--retry-delay",
        "--retry-max-time",
    }
)
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Translation:
    """Python statements for one shell command line, and what the member is told."""

    statements: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # URLs (or expressions) fetched
    skipped: list[str] = field(default_factory=list)  # display-only commands not run


class _Unsupported(Exception):
    """The command is not one this module can rewrite without guessing."""


@dataclass
class _Word:
    """A shell word: literal text, or (for `!` lines) IPython's `{expr}` / `$name` expansion."""

    text: str
    exprs: dict[str, str]

    @property
    def literal(self) -> str | None:
        return None if any(k in self.text for k in self.exprs) else self.text

    def python(self) -> str:
        """A Python expression for the word: a literal, or IPython's expansion as str()."""
        if self.literal is not None:
            return repr(self.text)
        parts: list[str] = []
        rest = self.text
        while rest:
            hits = [(rest.find(k), k) for k in self.exprs if k in rest]
            if not hits:
                parts.append(repr(rest))
                break
            at, key = min(hits)
            if at:
                parts.append(repr(rest[:at]))
            parts.append(f"str({self.exprs[key]})")
            rest = rest[at + len(key) :]
        return " + ".join(parts)


def translate(command: str, *, python_expansion: bool, cwd: str = "") -> Translation | None:
    """Rewrite one shell command line (continuations already joined), or None.

    `python_expansion`: the line came from `!` in a Python cell, where IPython expands
    `{expr}` and `$name` from the member's variables; in `%%bash` a `$` is the shell's.
    """
    state = _State(cwd)
    try:
        _translate_into(command, python_expansion, state)
    except _Unsupported:
        return None
    return state.out


def translate_script(body: str) -> Translation | None:
    """Rewrite a `%%bash` / `%%sh` cell body, `cd` carrying from line to line, or None."""
    state = _State("")
    try:
        for line in join_continuations(body.split("\n")):
            if line.strip() and not line.strip().startswith("#"):
                _translate_into(line, False, state)
    except _Unsupported:
        return None
    return state.out


def join_continuations(lines: list[str]) -> list[str]:
    """Shell lines with a trailing backslash joined to the next, as the shell reads them."""
    out: list[str] = []
    pending = ""
    for line in lines:
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
        else:
            out.append(pending + line)
            pending = ""
    if pending:
        out.append(pending)
    return out


def url_file_name(url: str) -> str:
    """The name a download of url gets: the URL path's last part, as graders.datasets names it."""
    return posixpath.basename(unquote(urlsplit(url).path)) or "index.html"


class _State:
    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.out = Translation()

    def path(self, word: _Word) -> str:
        """Python expression for a path word, relative to any `cd` seen before it."""
        literal = word.literal
        if literal is None:
            if self.cwd:
                raise _Unsupported
            return word.python()
        if literal.startswith("~"):
            return f"__import__('os').path.expanduser({self._join(literal)!r})"
        return repr(self._join(literal))

    def _join(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if self.cwd else path

    def default_dest(self, url: _Word, folder: _Word | None) -> str:
        """dest for a download with no output name: None, or folder/name-from-URL."""
        if folder is None and not self.cwd:
            return "None"
        literal = url.literal
        if literal is None:
            raise _Unsupported
        name = url_file_name(literal)
        if folder is None:
            return repr(self._join(name))
        base = folder.literal
        if base is None or base.startswith("~"):
            raise _Unsupported
        return repr(self._join(posixpath.join(base, name)))

    def fetch(self, url: _Word, dest: str) -> None:
        self.out.statements.append(f"{FETCH}({url.python()}, {dest})")
        self.out.downloads.append(url.literal or url.python())


def _translate_into(command: str, python_expansion: bool, state: _State) -> None:
    words = _split(command, python_expansion)
    commands: list[list[_Word]] = [[]]
    for word in words:
        if word.text in _SEPARATORS and not word.exprs:
            commands.append([])
        else:
            commands[-1].append(word)
    for argv in commands:
        if argv:
            _one_command(argv, state)


def _split(command: str, python_expansion: bool) -> list[_Word]:
    exprs: dict[str, str] = {}
    if python_expansion:
        command = _hide_expansions(command, exprs)
    elif "$" in command or "`" in command:
        raise _Unsupported  # shell variables and substitutions need a shell
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        raise _Unsupported from exc
    tokens = _strip_comment(tokens)
    words = [_Word(t, {k: v for k, v in exprs.items() if k in t}) for t in tokens]
    for word in words:
        if word.text in {"|", "||", "&", "(", ")", "|&"} or word.text.startswith("`"):
            raise _Unsupported
    return words


def _strip_comment(tokens: list[str]) -> list[str]:
    for i, token in enumerate(tokens):
        if token.startswith("#"):
            return tokens[:i]
    return tokens


def _hide_expansions(command: str, exprs: dict[str, str]) -> str:
    """IPython's `{expr}` and `$name` in a `!` line, swapped for placeholder words."""
    out: list[str] = []
    i = 0
    while i < len(command):
        char = command[i]
        if char == "$" and command[i + 1 : i + 2] == "$":
            out.append("$")
            i += 2
        elif char == "$" and (match := _NAME.match(command, i + 1)):
            out.append(_placeholder(match.group(), exprs))
            i = match.end()
        elif char == "{":
            depth, j = 0, i
            while j < len(command):
                depth += {"{": 1, "}": -1}.get(command[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise _Unsupported
            out.append(_placeholder(command[i + 1 : j], exprs))
            i = j + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _placeholder(expr: str, exprs: dict[str, str]) -> str:
    try:
        ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise _Unsupported from exc
    key = f"@@{len(exprs)}@@"
    exprs[key] = expr.strip()
    return key


def _one_command(argv: list[_Word], state: _State) -> None:
    stdout, argv = _redirects(argv)
    name = argv[0].literal
    if name is None:
        raise _Unsupported
    name = posixpath.basename(name)
    args = argv[1:]
    if name == "wget":
        _wget(args, stdout, state)
    elif name == "curl":
        _curl(args, stdout, state)
    elif name == "mkdir":
        _, folders = _options(args, frozenset("m"), frozenset({"--mode"}))
        for word in folders:
            state.out.statements.append(
                f"__import__('os').makedirs({state.path(word)}, exist_ok=True)"
            )
    elif name == "cd":
        _cd(args, state)
    elif name == "unzip":
        _unzip(args, state)
    elif name == "tar":
        _tar(args, state)
    elif name in DISPLAY_ONLY and stdout is None:
        state.out.skipped.append(" ".join(w.text for w in argv))
    else:
        raise _Unsupported


def _redirects(argv: list[_Word]) -> tuple[_Word | None, list[_Word]]:
    """Drop redirections; return where stdout goes (None: the screen or /dev/null)."""
    stdout: _Word | None = None
    kept: list[_Word] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.text in _REDIRECTS:
            if i + 1 >= len(argv):
                raise _Unsupported
            target = argv[i + 1]
            fd = kept.pop().text if kept and kept[-1].text.isdigit() else ""
            if word.text == "<":
                raise _Unsupported
            if word.text in {">", ">>", ">|"} and fd in {"", "1"}:
                if target.text != "/dev/null":
                    stdout = target
            i += 2
            continue
        kept.append(word)
        i += 1
    if not kept:
        raise _Unsupported
    return stdout, kept


def _options(
    args: list[_Word], short_value: frozenset[str], long_value: frozenset[str]
) -> tuple[list[tuple[str, _Word | None]], list[_Word]]:
    """(option, value) pairs in order, and the positional words."""
    options: list[tuple[str, _Word | None]] = []
    positional: list[_Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.text
        i += 1
        if text.startswith("--") and len(text) > 2:
            if "=" in text:
                key, value = text.split("=", 1)
                options.append((key, _Word(value, word.exprs)))
            elif text in long_value:
                if i >= len(args):
                    raise _Unsupported
                options.append((text, args[i]))
                i += 1
            else:
                options.append((text, None))
        elif text.startswith("-") and len(text) > 1:
            for at, letter in enumerate(text[1:], start=1):
                if letter in short_value:
                    glued = text[at + 1 :]
                    if glued:
                        options.append((f"-{letter}", _Word(glued, word.exprs)))
                    elif i < len(args):
                        options.append((f"-{letter}", args[i]))
                        i += 1
                    else:
                        raise _Unsupported
                    break
                options.append((f"-{letter}", None))
            if text in {"-nc", "-nv", "-nd", "-np", "-nH"}:
                options = [o for o in options if o[0] not in {"-n", "-c", "-v", "-d", "-p", "-H"}]
                options.append((text, None))
        else:
            positional.append(word)
    return options, positional


def _wget(args: list[_Word], stdout: _Word | None, state: _State) -> None:
    options, urls = _options(args, _WGET_VALUE, _WGET_LONG_VALUE)
    names = {key for key, _ in options}
    if not urls or names & _WGET_UNSUPPORTED:
        raise _Unsupported
    output = _last(options, {"-O", "--output-document"})
    folder = _last(options, {"-P", "--directory-prefix"})
    if output is not None and output.text == "-":
        output = stdout
        if output is None:
            raise _Unsupported  # printed to the screen, not saved
    if output is not None and len(urls) > 1:
        raise _Unsupported  # wget would concatenate them into one file
    for url in urls:
        dest = state.path(output) if output is not None else state.default_dest(url, folder)
        state.fetch(url, dest)


def _curl(args: list[_Word], stdout: _Word | None, state: _State) -> None:
    options, urls = _options(args, _CURL_VALUE, _CURL_LONG_VALUE)
    if len(urls) != 1:
        raise _Unsupported
    url = urls[0]
    output = _last(options, {"-o", "--output"})
    folder = _last(options, {"--output-dir"})
    remote_name = any(key in {"-O", "--remote-name"} for key, _ in options)
    if output is not None and output.text == "-":
        output = None
        remote_name = False
    if output is not None:
        if folder is not None:
            if folder.literal is None or output.literal is None:
                raise _Unsupported
            output = _Word(posixpath.join(folder.literal, output.literal), {})
        dest = state.path(output)
    elif remote_name:
        dest = state.default_dest(url, folder)
    elif stdout is not None:
        dest = state.path(stdout)
    else:
        raise _Unsupported  # curl prints the body: nothing is saved
    state.fetch(url, dest)


def _cd(args: list[_Word], state: _State) -> None:
    if len(args) != 1 or args[0].literal is None or args[0].text in {"-", "~"}:
        raise _Unsupported
    target = args[0].text
    if target.startswith("~"):
        raise _Unsupported
    state.cwd = posixpath.normpath(posixpath.join(state.cwd, target)) if state.cwd else target


def _unzip(args: list[_Word], state: _State) -> None:
    options, positional = _options(args, frozenset("dx"), frozenset())
    if len(positional) != 1:
        raise _Unsupported  # a list of members to extract: not a plain unpack
    folder = _last(options, {"-d"})
    dest = state.path(folder) if folder is not None else _cwd_dest(state)
    state.out.statements.append(f"{UNPACK}({state.path(positional[0])}, {dest})")


def _tar(args: list[_Word], state: _State) -> None:
    if args and not args[0].text.startswith("-") and args[0].literal:
        args = [_Word("-" + args[0].text, {}), *args[1:]]  # `tar xzf a.tgz`
    options, positional = _options(args, frozenset("fCT"), frozenset({"--file", "--directory"}))
    names = {key for key, _ in options}
    archive = _last(options, {"-f", "--file"})
    if not names & {"-x", "--extract", "--get"} or archive is None or positional:
        raise _Unsupported
    folder = _last(options, {"-C", "--directory"})
    dest = state.path(folder) if folder is not None else _cwd_dest(state)
    state.out.statements.append(f"{UNPACK}({state.path(archive)}, {dest})")


def _cwd_dest(state: _State) -> str:
    return repr(state.cwd) if state.cwd else "None"


def _last(options: list[tuple[str, _Word | None]], keys: set[str]) -> _Word | None:
    found = [value for key, value in options if key in keys and value is not None]
    return found[-1] if found else None
