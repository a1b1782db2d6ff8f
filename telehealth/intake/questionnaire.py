"""Load a FHIR R4 Questionnaire and check that the voice intake can ask every item.

The models come from `fhir.resources.R4B`: R4B did not change Questionnaire or
QuestionnaireResponse from R4 (4.0.1), and fhir.resources 8 has no separate R4 package
(its top-level modules are R5). After the FHIR schema check come the checks FHIR itself
leaves open (status, unique linkIds, enableWhen pointing backwards, types we can ask).

How an item tells the dialogue how to read its answer (all optional):

- extension `urn:telehealth-assistant:intake:parser` (valueCode): one of `integer`,
  `boolean`, `duration`, `date`, `age`, `choice`, `list`, `text`. Without it the item type
  decides: integer, boolean, quantity -> duration, date, choice, string/text -> text, or
  list when the item repeats.
- `urn:telehealth-assistant:intake:label` (valueString): the name used in the read-back
  summary; `...:alias` (valueString, repeating): words that name the item when the patient
  asks to change it.
- `urn:telehealth-assistant:intake:synonym` on an answerOption (valueString, repeating):
  other ways to say that option.
- Standard extensions: `minValue`/`maxValue` (integer bounds), `entryFormat` (the example
  offered after two replies were not understood), `questionnaire-optionExclusive` (an option
  such as "None of these" that cannot be combined with others).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from telehealth.intake.errors import InvalidQuestionnaire

ParserKind = Literal["integer", "boolean", "duration", "date", "age", "choice", "list", "text"]
PARSER_KINDS: tuple[ParserKind, ...] = get_args(ParserKind)

EXT_PARSER = "urn:telehealth-assistant:intake:parser"
EXT_LABEL = "urn:telehealth-assistant:intake:label"
EXT_ALIAS = "urn:telehealth-assistant:intake:alias"
EXT_SYNONYM = "urn:telehealth-assistant:intake:synonym"
EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
EXT_ENTRY_FORMAT = "http://hl7.org/fhir/StructureDefinition/entryFormat"
EXT_OPTION_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"

DEFAULT_QUESTIONNAIRE = "default_questionnaire.json"

# Which parsers can produce a valid answer for each askable item type.
_PARSERS_FOR_TYPE: dict[str, tuple[ParserKind, ...]] = {
    "integer": ("integer",),
    "boolean": ("boolean",),
    "quantity": ("duration", "age"),
    "date": ("date",),
    "choice": ("choice",),
    "string": ("text", "list"),
    "text": ("text", "list"),
}
# The enableWhen answer[x] that fits a question of each type.
_ENABLE_ANSWER_FOR_TYPE = {
    "integer": "answerInteger",
    "boolean": "answerBoolean",
    "quantity": "answerQuantity",
    "date": "answerDate",
    "choice": "answerCoding",
    "string": "answerString",
    "text": "answerString",
}
_ORDERED_TYPES = frozenset({"integer", "quantity", "date"})
_OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})


@dataclass(frozen=True, slots=True)
class AnswerOption:
    """One permitted answer of a choice item."""

    system: str | None
    code: str
    display: str
    synonyms: tuple[str, ...]
    exclusive: bool

    def coding(self) -> dict[str, str]:
        coding = {"code": self.code, "display": self.display}
        if self.system:
            coding["system"] = self.system
        return coding


@dataclass(frozen=True, slots=True)
class EnableCondition:
    """One enableWhen: `answer` is the JSON value of `answer_key` (e.g. answerCoding)."""

    question: str
    operator: str
    answer_key: str
    answer: Any


@dataclass(frozen=True, slots=True)
class IntakeItem:
    """A questionnaire item as the dialogue sees it. Groups and display items have no parser."""

    link_id: str
    text: str
    item_type: str
    parser: ParserKind | None
    required: bool
    repeats: bool
    options: tuple[AnswerOption, ...]
    min_value: int | None
    max_value: int | None
    example: str | None
    label: str
    aliases: tuple[str, ...]
    enable_when: tuple[EnableCondition, ...]
    enable_behavior: Literal["all", "any"]
    ancestors: tuple[str, ...]
    children: tuple[IntakeItem, ...]

    @property
    def is_question(self) -> bool:
        return self.parser is not None


@dataclass(frozen=True, slots=True)
class IntakeQuestionnaire:
    """A validated questionnaire: the item tree plus fast lookups."""

    url: str
    version: str | None
    title: str
    items: tuple[IntakeItem, ...]
    resource: Mapping[str, Any]

    @property
    def canonical(self) -> str:
        """The value for QuestionnaireResponse.questionnaire (`url|version`)."""
        return f"{self.url}|{self.version}" if self.version else self.url

    def walk(self) -> Iterator[IntakeItem]:
        """Every item, depth first, in questionnaire order."""
        stack = list(reversed(self.items))
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(item.children))

    def questions(self) -> tuple[IntakeItem, ...]:
        """The items that are asked, in order."""
        return tuple(item for item in self.walk() if item.is_question)

    def item(self, link_id: str) -> IntakeItem:
        for item in self.walk():
            if item.link_id == link_id:
                return item
        raise KeyError(link_id)


def load_questionnaire(path: str | Path | None = None) -> IntakeQuestionnaire:
    """Read and validate a questionnaire file; the packaged default when `path` is None."""
    try:
        if path is None:
            text = (
                resources.files("telehealth.intake")
                .joinpath(DEFAULT_QUESTIONNAIRE)
                .read_text("utf-8")
            )
            where = DEFAULT_QUESTIONNAIRE
        else:
            where = str(path)
            text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidQuestionnaire(f"cannot read questionnaire {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidQuestionnaire(
            f"questionnaire {where} is not JSON: {exc.msg} at line {exc.lineno}"
        ) from exc
    return questionnaire_from_dict(data)


def questionnaire_from_dict(data: object) -> IntakeQuestionnaire:
    """Validate a Questionnaire resource given as parsed JSON."""
    if not isinstance(data, dict) or data.get("resourceType") != "Questionnaire":
        raise InvalidQuestionnaire("not a FHIR Questionnaire (resourceType must be Questionnaire)")
    try:
        model = Questionnaire.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'resource'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise InvalidQuestionnaire(f"questionnaire is not valid FHIR R4: {problems}") from exc
    resource: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    if resource.get("status") not in ("active", "draft"):
        raise InvalidQuestionnaire(
            f"questionnaire status is {resource.get('status')!r}; only active or draft can be used"
        )
    if not resource.get("url"):
        raise InvalidQuestionnaire("questionnaire has no url (the response must reference it)")
    seen: dict[str, IntakeItem] = {}
    items = tuple(_build_item(raw, (), seen) for raw in resource.get("item", []))
    if not any(item.is_question for item in seen.values()):
        raise InvalidQuestionnaire("questionnaire has no question to ask")
    return IntakeQuestionnaire(
        url=resource["url"],
        version=resource.get("version"),
        title=resource.get("title") or resource.get("name") or "",
        items=items,
        resource=resource,
    )


def _extensions(node: Mapping[str, Any], url: str, key: str) -> list[Any]:
    return [ext[key] for ext in node.get("extension", []) if ext.get("url") == url and key in ext]


def _one_extension(node: Mapping[str, Any], url: str, key: str, where: str) -> Any:
    values = _extensions(node, url, key)
    if len(values) > 1:
        raise InvalidQuestionnaire(f"{where}: extension {url} appears more than once")
    return values[0] if values else None


def _build_item(
    raw: Mapping[str, Any], ancestors: tuple[str, ...], seen: dict[str, IntakeItem]
) -> IntakeItem:
    link_id = raw["linkId"]
    where = f"item {link_id!r}"
    if link_id in seen:
        raise InvalidQuestionnaire(f"{where}: linkId is used twice")
    item_type = raw["type"]
    text = (raw.get("text") or "").strip()
    children_raw = raw.get("item", [])
    if item_type == "group":
        if not children_raw:
            raise InvalidQuestionnaire(f"{where}: a group needs at least one item")
        parser: ParserKind | None = None
    elif item_type == "display":
        if children_raw:
            raise InvalidQuestionnaire(f"{where}: a display item cannot contain items")
        parser = None
    elif item_type in _PARSERS_FOR_TYPE:
        if children_raw:
            raise InvalidQuestionnaire(
                f"{where}: questions nested under a question are not supported; use a group"
            )
        if not text:
            raise InvalidQuestionnaire(f"{where}: a question needs text to speak")
        parser = _parser_for(raw, item_type, where)
    else:
        raise InvalidQuestionnaire(f"{where}: type {item_type!r} cannot be asked by the intake")
    options = _options(raw, where) if item_type == "choice" else ()
    if item_type == "choice" and not options:
        raise InvalidQuestionnaire(f"{where}: a choice item needs answerOption with valueCoding")
    min_value = _one_extension(raw, EXT_MIN, "valueInteger", where)
    max_value = _one_extension(raw, EXT_MAX, "valueInteger", where)
    if min_value is not None and max_value is not None and min_value > max_value:
        raise InvalidQuestionnaire(f"{where}: minValue {min_value} is above maxValue {max_value}")
    label = _one_extension(raw, EXT_LABEL, "valueString", where) or link_id.replace("-", " ")
    conditions = tuple(_condition(c, seen, where) for c in raw.get("enableWhen", []))
    behavior = raw.get("enableBehavior")
    if len(conditions) > 1 and behavior not in ("all", "any"):
        raise InvalidQuestionnaire(f"{where}: several enableWhen need enableBehavior all or any")
    placeholder = IntakeItem(
        link_id=link_id,
        text=text,
        item_type=item_type,
        parser=parser,
        required=bool(raw.get("required", False)),
        repeats=bool(raw.get("repeats", False)),
        options=options,
        min_value=min_value,
        max_value=max_value,
        example=_one_extension(raw, EXT_ENTRY_FORMAT, "valueString", where),
        label=label,
        aliases=tuple(str(a) for a in _extensions(raw, EXT_ALIAS, "valueString")),
        enable_when=conditions,
        enable_behavior="any" if behavior == "any" else "all",
        ancestors=ancestors,
        children=(),
    )
    # Register before the children so that their enableWhen may point at this item.
    seen[link_id] = placeholder
    children = tuple(_build_item(child, (*ancestors, link_id), seen) for child in children_raw)
    item = replace(placeholder, children=children)
    seen[link_id] = item
    return item


def _parser_for(raw: Mapping[str, Any], item_type: str, where: str) -> ParserKind:
    repeats = bool(raw.get("repeats", False))
    named = _one_extension(raw, EXT_PARSER, "valueCode", where)
    if named is None:
        parser: ParserKind = (
            "list"
            if item_type in ("string", "text") and repeats
            else _PARSERS_FOR_TYPE[item_type][0]
        )
    elif named not in PARSER_KINDS:
        raise InvalidQuestionnaire(f"{where}: unknown parser {named!r}")
    else:
        parser = cast(ParserKind, named)
    if parser not in _PARSERS_FOR_TYPE[item_type]:
        raise InvalidQuestionnaire(
            f"{where}: parser {parser!r} cannot answer an item of type {item_type!r}"
        )
    if parser == "list" and not repeats:
        raise InvalidQuestionnaire(f"{where}: the list parser needs repeats: true")
    if repeats and parser not in ("choice", "list"):
        raise InvalidQuestionnaire(f"{where}: only choice and list items may repeat")
    return parser


def _options(raw: Mapping[str, Any], where: str) -> tuple[AnswerOption, ...]:
    if raw.get("answerValueSet"):
        raise InvalidQuestionnaire(f"{where}: answerValueSet is not supported; list answerOption")
    options: list[AnswerOption] = []
    for option in raw.get("answerOption", []):
        coding = option.get("valueCoding")
        if not coding or not coding.get("code") or not coding.get("display"):
            raise InvalidQuestionnaire(
                f"{where}: every answerOption needs a valueCoding with code and display"
            )
        if any(o.code == coding["code"] for o in options):
            raise InvalidQuestionnaire(f"{where}: answer code {coding['code']!r} is used twice")
        exclusive = _extensions(option, EXT_OPTION_EXCLUSIVE, "valueBoolean")
        options.append(
            AnswerOption(
                system=coding.get("system"),
                code=coding["code"],
                display=coding["display"],
                synonyms=tuple(str(s) for s in _extensions(option, EXT_SYNONYM, "valueString")),
                exclusive=bool(exclusive and exclusive[0]),
            )
        )
    return tuple(options)


def _condition(
    raw: Mapping[str, Any], seen: Mapping[str, IntakeItem], where: str
) -> EnableCondition:
    question, operator = raw["question"], raw["operator"]
    if question not in seen or not seen[question].is_question:
        raise InvalidQuestionnaire(
            f"{where}: enableWhen refers to {question!r}, which is not a question asked before it"
        )
    if operator not in _OPERATORS:
        raise InvalidQuestionnaire(f"{where}: enableWhen operator {operator!r} is not FHIR")
    answer_key = next(key for key in raw if key.startswith("answer"))
    target_type = seen[question].item_type
    expected = "answerBoolean" if operator == "exists" else _ENABLE_ANSWER_FOR_TYPE[target_type]
    if answer_key != expected:
        raise InvalidQuestionnaire(
            f"{where}: enableWhen on {question!r} ({target_type}) with {operator!r} "
            f"needs {expected}, not {answer_key}"
        )
    if operator in (">", "<", ">=", "<=") and target_type not in _ORDERED_TYPES:
        raise InvalidQuestionnaire(
            f"{where}: enableWhen cannot compare {target_type} answers with {operator!r}"
        )
    return EnableCondition(question, operator, answer_key, raw[answer_key])
