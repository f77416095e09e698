"""Mapping files: which file and column feed which field of which canonical table.

A mapping is TOML. The formats Touchline knows (interchange, Salesforce, HubSpot)
are mapping files in ``formats/``; any other CRM export gets one of its own.
See docs/importing.md for the full reference; in short::

    name = "My CRM"
    date_formats = ["%d-%m-%Y"]          # how dates are written (strptime codes)

    [[tables]]
    target = "deals"                     # a canonical table (see schema.py)
    file = "opportunities.csv"           # relative to the imported folder
    [tables.fields]
    external_id = "Id"                   # a column ...
    status = { column = "Stage", map = { "Closed Won" = "won", "Closed Lost" = "lost" },
               default = "open" }        # ... with a value map and a default
    email = { template = "{Owner|slug}@example.com" }   # ... a template (slug, lower, upper,
                                         # short: the first 8 characters)
    kind = { value = "team" }            # ... a constant
    created_date = { lookup = { file = "leads.csv", match = "lead_id", on = "lead_id",
                                column = "first_contact" } }   # ... from another file

    [[tables.skip]]                      # rows to leave out, counted with the reason
    when = { column = "Stage", in = ["Prospecting"] }
    reason = "prospects are not deals yet"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchline.crm.importing.schema import TARGETS_BY_NAME

FORMATS_DIR = Path(__file__).parent / "formats"
FORMATS = ("interchange", "salesforce", "hubspot")
TEMPLATE_PART = re.compile(r"\{([^{}|]+)(?:\|(slug|lower|upper|short))?\}")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the place."""


class Lookup(BaseModel):
    """Take a value from another file, matching a column of this file to one of that file."""

    model_config = ConfigDict(extra="forbid")

    file: str
    match: str = Field(description="Column of the other file to match on")
    on: str = Field(description="Column of this file whose value is looked up")
    column: str = Field(description="Column of the other file to take")
    key_map: dict[str, str] = Field(
        default_factory=dict, description="Rewrites of this file's values before matching"
    )


class FieldSource(BaseModel):
    """Where one field's value comes from, and how it is cleaned."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str | None = None
    value: str | None = None
    template: str | None = None
    lookup: Lookup | None = None
    map: dict[str, str] | None = None
    unmapped: Literal["error", "keep", "default"] = "error"
    default: str | None = None
    formats: list[str] | None = None
    timezone: str | None = None
    fallback: FieldSource | None = Field(
        default=None, description="Where to take the value from when this source gives none"
    )
    when: Condition | None = Field(
        default=None, description="Use this source only on rows that pass the condition"
    )

    @model_validator(mode="after")
    def _one_source(self) -> FieldSource:
        given = [self.column, self.value, self.template, self.lookup]
        if sum(item is not None for item in given) != 1:
            raise ValueError("give exactly one of column, value, template or lookup")
        return self

    def columns(self) -> list[str]:
        """Return the columns of the table's own file that this source reads."""
        own: list[str] = []
        if self.column is not None:
            own = [self.column]
        elif self.template is not None:
            own = [match.group(1).strip() for match in TEMPLATE_PART.finditer(self.template)]
        elif self.lookup is not None:
            own = [self.lookup.on]
        if self.when is not None:
            own.append(self.when.column)
        return own + (self.fallback.columns() if self.fallback else [])


class Condition(BaseModel):
    """A test on one column of a row."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str
    empty: bool | None = None
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    starts_with: str | None = None
    ignore_case: bool = False

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [self.empty, self.equals, self.in_, self.not_in, self.starts_with]
        if sum(item is not None for item in given) != 1:
            raise ValueError("give exactly one of empty, equals, in, not_in or starts_with")
        return self


class SkipRule(BaseModel):
    """Rows matching ``when`` are left out and counted under ``reason``."""

    model_config = ConfigDict(extra="forbid")

    when: Condition
    reason: str = Field(min_length=1)


class TableMapping(BaseModel):
    """One block: rows of ``file`` become rows of the canonical table ``target``."""

    model_config = ConfigDict(extra="forbid")

    target: str
    file: str
    optional: bool = Field(default=False, description="The file may be missing")
    distinct: bool = Field(
        default=False,
        description="Rows repeat the same entity (e.g. a team named on every seller row)",
    )
    required: list[str] = Field(default_factory=list, description="Extra required fields")
    fields: dict[str, str | FieldSource]
    skip: list[SkipRule] = Field(default_factory=list)

    def source(self, field: str) -> FieldSource | None:
        """Return the source of ``field`` in this block, or None when it is not mapped."""
        raw = self.fields.get(field)
        if raw is None:
            return None
        return FieldSource(column=raw) if isinstance(raw, str) else raw

    def columns(self) -> set[str]:
        """Return every column of ``file`` the block reads."""
        names: set[str] = set()
        for field in self.fields:
            source = self.source(field)
            assert source is not None
            names.update(source.columns())
        names.update(rule.when.column for rule in self.skip)
        return names


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: Literal["utf-8"] = "utf-8"
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    timestamp_formats: list[str] = Field(default_factory=list)
    timezone: str | None = Field(
        default=None,
        description="Zone of timestamps written without an offset; none: they are refused",
    )
    tables: list[TableMapping]

    @model_validator(mode="after")
    def _known_targets_and_fields(self) -> Mapping:
        for number, table in enumerate(self.tables, start=1):
            where = f"tables[{number}] ({table.target} from {table.file})"
            target = TARGETS_BY_NAME.get(table.target)
            if target is None:
                known = ", ".join(TARGETS_BY_NAME)
                raise ValueError(f"{where}: unknown target {table.target!r}; use one of {known}")
            for name in [*table.fields, *table.required]:
                if name not in target.field_names:
                    known = ", ".join(target.field_names)
                    raise ValueError(f"{where}: {target.name} has no field {name!r}; use {known}")
            for field in target.fields:
                if field.required and table.source(field.name) is None:
                    raise ValueError(f"{where}: the required field {field.name!r} is not mapped")
        return self

    def tables_for(self, target: str) -> list[TableMapping]:
        return [table for table in self.tables if table.target == target]


FieldSource.model_rebuild()


def load_mapping(path: Path) -> Mapping:
    """Return the mapping in ``path``; MappingError says what is wrong and where."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: not a valid TOML file: {error}") from None
    try:
        return Mapping.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise MappingError(f"{path}: {problems}") from None


def builtin_format(name: str) -> Mapping:
    """Return the mapping of a format Touchline knows: interchange, salesforce or hubspot."""
    if name not in FORMATS:
        raise MappingError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}")
    return load_mapping(FORMATS_DIR / f"{name}.toml")
