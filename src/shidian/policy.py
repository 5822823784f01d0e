"""Policies (政策参数): versioned, validated rule sets, one TOML file per region, domain, version.

A policy file has a ``[meta]`` table (id, name, region, version, effective dates, the seed it
implements, what it supersedes) and the domain's parameters. Each domain declares its
parameters once as a table of ``Param`` (key, converter, article, help); ``load_policy``
validates a file against that table and returns every problem at once, each naming the file,
the key and its line. Floats never enter: TOML floats are parsed as Decimal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from shidian.problems import Problem, Source

Converter = Callable[[Any], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Param:
    """One policy parameter: dotted key, converter (raises ValueError), seed article, help."""

    key: str
    convert: Converter
    article: str
    help: str
    default: Any = None
    required: bool = True
    #: The field of the domain's typed policy this value fills as it is (``typed_policy``);
    #: None where the domain derives a field from several values.
    field: str | None = None


@dataclass(frozen=True)
class PolicyMeta:
    id: str
    name: str
    region: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    seed: str
    supersedes: str | None = None


@dataclass(frozen=True)
class Policy:
    """A validated policy: metadata, parameter values by dotted key, source and content hash."""

    meta: PolicyMeta
    values: Mapping[str, Any]
    source: str
    sha256: str
    params: tuple[Param, ...] = field(repr=False, default=())

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def article(self, key: str) -> str:
        return next(p.article for p in self.params if p.key == key)


# ---- converters --------------------------------------------------------------------------


def decimal(min: Decimal | None = None, max: Decimal | None = None) -> Converter:
    def convert(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise ValueError(f"应为数值 (a number), 实际为 {value!r}")
        try:
            number = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
        except Exception as exc:
            raise ValueError(f"应为数值 (a number), 实际为 {value!r}") from exc
        _check_range(number, min, max)
        return number

    return convert


def integer(min: int | None = None, max: int | None = None) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"应为整数 (an integer), 实际为 {value!r}")
        _check_range(
            Decimal(value), None if min is None else Decimal(min), None if max is None else Decimal(max)
        )
        return value

    return convert


def choice(*options: str) -> Converter:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"应为 {' / '.join(options)} 之一, 实际为 {value!r}")
        return str(value)

    return convert


def boolean() -> Converter:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"应为 true 或 false, 实际为 {value!r}")
        return value

    return convert


def table_list(**columns: Converter) -> Converter:
    """A TOML array of tables whose every row has exactly ``columns``."""

    def convert(value: Any) -> tuple[Mapping[str, Any], ...]:
        if not isinstance(value, list) or not value:
            raise ValueError("应为非空的表数组 (a non-empty array of tables)")
        rows = []
        for i, row in enumerate(value, start=1):
            if not isinstance(row, dict) or set(row) != set(columns):
                raise ValueError(f"第 {i} 项应恰有 {', '.join(columns)} 这些键")
            try:
                rows.append(MappingProxyType({k: columns[k](row[k]) for k in columns}))
            except ValueError as exc:
                raise ValueError(f"第 {i} 项: {exc}") from exc
        return tuple(rows)

    return convert


def _check_range(number: Decimal, min: Decimal | None, max: Decimal | None) -> None:
    if min is not None and number < min:
        raise ValueError(f"应不小于 {min}, 实际为 {number}")
    if max is not None and number > max:
        raise ValueError(f"应不大于 {max}, 实际为 {number}")


# ---- loading -----------------------------------------------------------------------------

_META_REQUIRED = ("id", "name", "region", "version", "effective_from", "seed")


def load_policy(text: str, source: str, params: tuple[Param, ...]) -> tuple[Policy | None, list[Problem]]:
    """Parse and validate a policy's TOML text against ``params``.

    Returns the policy (None when any error) and every problem found: TOML syntax, missing
    or unknown keys, values of the wrong type or out of range.
    """
    problems: list[Problem] = []
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        line = _line_of_decode_error(str(exc))
        return None, [Problem("policy.syntax", f"TOML 语法错误: {exc}", Source(source, row=line))]

    def where(key: str) -> Source:
        return Source(source, row=_line_of_key(text, key), key=key)

    flat = _flatten(data)
    meta_values = {k[len("meta.") :]: v for k, v in flat.items() if k.startswith("meta.")}
    for key in _META_REQUIRED:
        if key not in meta_values:
            problems.append(Problem("policy.meta.missing", f"缺少 [meta] 中的 {key}", where(f"meta.{key}")))
    values: dict[str, Any] = {}
    known = {p.key for p in params}
    for param in params:
        if param.key not in flat:
            if param.required and param.default is None:
                problems.append(
                    Problem(
                        "policy.param.missing",
                        f"缺少参数 {param.key} ({param.help}; {param.article})",
                        where(param.key),
                    )
                )
            else:
                values[param.key] = param.default
            continue
        try:
            values[param.key] = param.convert(flat[param.key])
        except ValueError as exc:
            problems.append(
                Problem(
                    "policy.param.invalid",
                    f"参数 {param.key} 无效: {exc} ({param.article})",
                    where(param.key),
                )
            )
    for key in flat:
        if not key.startswith("meta.") and key not in known:
            problems.append(Problem("policy.param.unknown", f"未知参数 {key}", where(key)))
    meta = None
    if not problems:
        try:
            meta = PolicyMeta(
                id=str(meta_values["id"]),
                name=str(meta_values["name"]),
                region=str(meta_values["region"]),
                version=str(meta_values["version"]),
                effective_from=_date(meta_values["effective_from"]),
                effective_to=_date(meta_values["effective_to"]) if "effective_to" in meta_values else None,
                seed=str(meta_values["seed"]),
                supersedes=str(meta_values["supersedes"]) if "supersedes" in meta_values else None,
            )
        except ValueError as exc:
            problems.append(Problem("policy.meta.invalid", str(exc), where("meta")))
    if problems or meta is None:
        return None, problems
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(meta, MappingProxyType(values), source, sha, params), []


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"应为日期 (YYYY-MM-DD), 实际为 {value!r}")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def _line_of_key(text: str, dotted: str) -> int | None:
    """The 1-based line where ``dotted`` is set (section header, then key), if found."""
    *sections, name = dotted.split(".")
    section = ".".join(sections)
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = header.group(1)
            if current == dotted:
                return number
            continue
        if current == section and re.match(rf"^{re.escape(name)}\s*=", stripped):
            return number
    return None


def line_of_key(text: str, dotted: str) -> int | None:
    """The 1-based line where ``dotted`` is set (for a domain's checks across several keys)."""
    return _line_of_key(text, dotted)


def _line_of_decode_error(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def typed_policy(cls: Callable[..., T], policy: Policy, **derived: Any) -> T:
    """The domain's typed policy: ``source`` is ``policy``; every ``Param`` with a ``field``
    fills that field with its value; ``derived`` gives the fields built from several values."""
    filled = {p.field: policy.values[p.key] for p in policy.params if p.field is not None}
    return cls(source=policy, **filled, **derived)


# ---- reference policies shipped with the package -----------------------------------------


def reference_policy_names(domain: str) -> list[str]:
    folder = resources.files("shidian") / "policies" / domain
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def read_reference_policy(domain: str, name: str) -> tuple[str, str]:
    """The text and display path of a shipped policy, ``policies/<domain>/<name>.toml``."""
    path = resources.files("shidian") / "policies" / domain / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(reference_policy_names(domain)) or "none"
        raise FileNotFoundError(f"no policy {name!r} for {domain} (shipped: {known})")
    return path.read_text(encoding="utf-8"), f"policies/{domain}/{name}.toml"


def params_markdown(title: str, params: tuple[Param, ...], guide: str = "") -> str:
    """The reference page of a domain's parameters (docs/policies/<domain>.md), from ``params``,
    after the domain's ``guide`` (how to write a policy file) when it has one."""
    lines = [
        f"# {title}",
        "",
        "Generated from the `PARAMS` table by `make docs`; `tests/test_docs.py` checks it is current.",
        "",
        *([guide.strip(), ""] if guide else []),
        "| key | article | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for p in params:
        default = ("required" if p.required else "optional") if p.default is None else f"`{p.default}`"
        lines.append(f"| `{p.key}` | {p.article} | {default} | {p.help} |")
    return "\n".join(lines) + "\n"


def load_named_policy(
    domain: str,
    name: str,
    policy_file: Path | None,
    parse: Callable[[str, str], tuple[T | None, list[Problem]]],
) -> tuple[T | None, list[Problem]]:
    """A domain's policy: the file given, else the shipped policy named; problems name the file,
    key and line, or list the shipped names when ``name`` is unknown."""
    if policy_file is not None:
        if not policy_file.is_file():
            return None, [
                Problem("policy.file.missing", f"政策文件不存在: {policy_file}", Source(str(policy_file)))
            ]
        return parse(policy_file.read_text(encoding="utf-8"), str(policy_file))
    try:
        text, source = read_reference_policy(domain, name)
    except FileNotFoundError:
        known = ", ".join(reference_policy_names(domain))
        return None, [
            Problem("policy.unknown", f"没有名为 {name} 的{domain}政策 (可选: {known})", Source("--policy"))
        ]
    return parse(text, source)


@dataclass(frozen=True)
class PolicyKind(Generic[T]):
    """A domain's policies (one door per domain): the folder they ship in
    (``policies/<domain>/``), their parameter table, their parser, and loading by name."""

    domain: str
    title: str
    params: tuple[Param, ...]
    parse: Callable[[str, str], tuple[T | None, list[Problem]]]

    def names(self) -> list[str]:
        """The shipped reference policies' names."""
        return reference_policy_names(self.domain)

    def load(self, name: str, policy_file: Path | None = None) -> tuple[T | None, list[Problem]]:
        """The file given, else the shipped policy named; every problem names file, key, line."""
        return load_named_policy(self.domain, name, policy_file, self.parse)

    def named(self, name: str) -> T:
        """A shipped policy, parsed once per process (a broken shipped file is a programming
        error: ``ValueError``)."""
        found: T = _named(self, name)
        return found

    def text(self, name: str) -> str:
        """A shipped policy's TOML text, with its comments (``FileNotFoundError`` if not shipped)."""
        return read_reference_policy(self.domain, name)[0]


@cache
def _named(kind: PolicyKind[Any], name: str) -> Any:
    policy, problems = kind.load(name)
    if policy is None:
        raise ValueError("; ".join(str(p) for p in problems))
    return policy
