"""``eos-guard explain``: per model folder, each runtime's stop ids, whether a chat answer stops, and why."""

from __future__ import annotations

from ..errors import display_path, path_field
from ..known_tokens import MESSAGE_END
from ..resolve import ResolvedModel
from ..results import Report
from ..rules.base import describe_ids, text_token_stops
from ..rules.terminator_not_single_token import text_ending
from ..runtimes import (calling_turn, calling_turns, calls_stop, fix, other_template, stops, stops_early, target_id,
                        why)
from .escape import json_text, printable
from .json_v1 import errors_entry, gguf_entry
from .text import summary

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from ..gguf_check import GgufModel
    from ..runtimes.base import StopSet


def render(report: Report, runtimes: tuple[str, ...] | None = None) -> str:
    """The text report; ``runtimes`` (``--runtime``) picks the runtimes a model folder's table shows, else all."""
    blocks = [_model(m.model, runtimes) for m in report.models if m.model is not None]
    blocks += [_gguf(m.gguf) for m in report.models if m.gguf is not None]
    blocks += [printable(f"{display_path(m.folder)}: cannot be read: {m.error}") for m in report.models if m.error]
    blocks += [printable(f"{display_path(m.folder)}: not read: {m.not_read}") for m in report.models if m.not_read]
    if not report.models:  # a file outside any model folder: say so, as a check's closing line does, not a blank line
        blocks = [summary(report)]
    return "\n\n".join(blocks) + "\n"


def render_json(report: Report, runtimes: tuple[str, ...] | None = None) -> str:
    models = []
    for item in report.models:
        model = item.model
        if model is None:
            continue
        models.append({
            "path": path_field(model.folder),
            "generates": model.generates,
            "target": target_id(model),
            "calling_turn": _tokens(calling_turn(model)),
            "builtin_calling_turn": _tokens(calling_turn(model, builtin=True)),
            "not_read": [{"path": path_field(path), "reason": reason} for path, reason in model.files.skipped],
            "runtimes": [{"runtime": name, "release": stop.release, "source": stop.source, "stop_ids": list(stop.ids),
                          "stops": stops(model, stop), "stops_early": stops_early(model, stop) is not None,
                          "text_token_stops": _text_token_stops(model, stop),
                          "calls_stop": calls_stop(model, stop), "why": why(model, stop), "fix": fix(model, stop),
                          "notes": list(stop.notes),
                          "other_releases": [{"release": other.release, "stop_ids": list(other.ids),
                                              "stops": stops(model, other)} for other in stop.others]}
                         for name, stop in _shown(model, runtimes).items()],
        })
    gguf_files = [gguf_entry(item.gguf) for item in report.models if item.gguf is not None]
    # folders and GGUF files not read at all (a link out of the repository), as EOS018 names them in a check
    not_read = [{"path": path_field(item.folder), "reason": item.not_read} for item in report.models if item.not_read]
    errors = errors_entry(report)  # as a check's JSON lists them (a missing PATH, a malformed file)
    return json_text({"version": 1, "models": models, **({"gguf": gguf_files} if gguf_files else {}),
                      **({"not_read": not_read} if not_read else {}), **({"errors": errors} if errors else {})})


def _tokens(tokens: list[tuple[str, int | None]] | None) -> list[dict[str, object]] | None:
    return [{"token": token, "id": token_id} for token, token_id in tokens] if tokens is not None else None


VERDICTS = {True: "yes", False: "NO", None: "unknown"}
EARLY = "EARLY"  # it stops on harmony's <|end|>, before the answer (EOS033)
COLUMNS = ("runtime", "stops?", "stop ids", "why")
CALL_COLUMNS = ("runtime", "stops?", "calls stop?", "stop ids", "why")


def _shown(model: ResolvedModel, runtimes: tuple[str, ...] | None) -> dict[str, StopSet]:
    """The model's stop set per runtime, those ``runtimes`` names only when it names some."""
    if runtimes is None:
        return model.runtime_stops
    return {name: stop for name, stop in model.runtime_stops.items() if name in runtimes}


def _model(model: ResolvedModel, runtimes: tuple[str, ...] | None = None) -> str:
    runtime_stops = _shown(model, runtimes)
    terminator = model.terminator
    eos = model.tokenizer_eos
    lines = [printable(display_path(model.folder))]
    if terminator is not None and terminator.token is not None:
        before = "".join(f"'{token}' then " for token in terminator.written_before)
        lines.append(printable(f"  chat answers end with {before}'{terminator.token}' "
                               f"({model.describe_id(terminator.id)}), from the '{terminator.template.name}' template"))
    elif terminator is not None and terminator.spelled:
        lines.append(printable(f"  chat answers end with the text '{terminator.spelled}', which is no token of this "
                               f"tokenizer (EOS011), from the '{terminator.template.name}' template"))
    elif terminator is not None and not terminator.probe.between_turns and (ending := text_ending(model, terminator)):
        lines.append(printable(f"  chat answers end with the text '{ending}', which is "
                               f"not a single token (EOS011), from the '{terminator.template.name}' template"
                               + (f"; the tokenizer's eos is '{eos.token}' ({model.describe_id(eos.id)})"
                                  if eos is not None else "")))
    elif eos is not None:
        default = f", {model.eos_default_of}" if model.eos_default_of else ""
        lines.append(printable(f"  no chat template terminator; the tokenizer's eos is '{eos.token}' "
                               f"({model.describe_id(eos.id)}){default}"))
    else:
        lines.append("  no chat template terminator and no tokenizer eos")
    for name, stop in runtime_stops.items():  # a runtime that renders another template (a processor's)
        rendered = other_template(model, stop)
        if rendered is not None:
            other, chats = rendered
            lines.append(printable(f"  {name} renders the '{other.template.name}' template for {chats} (a "
                                   f"processor's), whose answers end with '{other.token}' "
                                   f"({model.describe_id(other.id)})"))
    calling = _calling_turns_of_their_own(model)
    for builtin, after in calling:
        written = ", ".join(f"'{token}' ({model.describe_id(token_id)})" if token_id is not None else f"'{token}'"
                            for token, token_id in after)
        # from the call's arguments on, as EOS030 says: a template's own closing tags ('</tool_call>') come first
        call = "a call to a built-in tool (builtin_tools)" if builtin else "a tool call"
        lines.append(printable(f"  after the arguments of {call}, the template writes {written} (checked by EOS030)"))
    generates = model.generates
    if not generates:
        lines.append(printable(f"  {model.not_generating}, and a check runs no rule about stopping; the rows below "
                               "say what each runtime would stop on if it generated"))
    for path, reason in model.files.skipped:  # what the rows below do without (EOS018 in a check)
        lines.append(printable(f"  {path.name} {reason}: the rows below are without it"))
    columns = CALL_COLUMNS if calling else COLUMNS
    rows = [columns]
    for name, stop in runtime_stops.items():
        ids = describe_ids(stop.ids, model)[1:-1]  # the list's items, at most 16 (findings.quoted_list)
        calls = (VERDICTS[calls_stop(model, stop)],) if calling else ()
        verdict = EARLY if stops_early(model, stop) is not None else VERDICTS[stops(model, stop)]
        rows.append((name, verdict, *calls, printable(ids or "none"),
                     printable(why(model, stop))))
    if not runtime_stops:  # --runtime onnxruntime-genai for a folder that is no ONNX Runtime GenAI export
        rows = []
        lines.append(printable(f"  no runtime --runtime names runs this folder ({', '.join(runtimes or ())}); "
                               "onnxruntime-genai runs ONNX Runtime GenAI exports (a folder with genai_config.json)"))
    # One row per runtime, the last column unpadded: a runtime's row may be followed by indented lines of its own.
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(len(columns) - 1)]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
        stop = runtime_stops.get(row[0]) if row is not rows[0] else None
        if stop is not None:  # where releases of that runtime disagree, one line each
            lines += [printable(f"    {note}") for note in stop.notes]
    for name, stop in runtime_stops.items():
        early = stops_early(model, stop)
        if early is not None and generates:
            lines.append(printable(f"  fix for {name}: it stops on '{MESSAGE_END}' ({early}), which ends the reasoning "
                                   f"before every answer (EOS033): {fix(model, stop)}"))
        elif stops(model, stop) is False and generates:
            if _text_token_stops(model, stop):
                listed = ", ".join(map(str, stop.ids))
                lines.append(printable(f"  {name} stops on text tokens of the vocabulary ({listed}), not on the "
                                       "tokenizer's eos: right for a model trained to end its output with that "
                                       "text (BLIP-2 OPT's captions end with a newline); if it was not, "
                                       f"{fix(model, stop)}"))
            else:
                lines.append(printable(f"  fix for {name}: {fix(model, stop)}"))
    if target_id(model) is None and not (terminator is not None and terminator.spelled):  # that one is said above
        lines.append("  unknown: the folder does not say which id a chat answer ends with")
    return "\n".join(lines)


def _text_token_stops(model: ResolvedModel, stop: StopSet) -> bool:
    """Whether the runtime does not stop on the answer's id but on plain text tokens of the vocabulary only, where
    no chat template ends answers with a token: a stop set chosen on purpose (BLIP-2 OPT's newline), which EOS002
    reports as a warning."""
    return stops(model, stop) is False and text_token_stops(model, stop.ids)


def _calling_turns_of_their_own(model: ResolvedModel) -> list[tuple[bool, list[tuple[str, int | None]]]]:
    """``(built in, the tokens)`` the default template writes after a tool call (and after a call to a built-in
    tool), where the calling turn does not end with the answers' terminator (gpt-oss's ``<|call|>``, GLM-4.5's
    ``<|observation|>``, Llama 3.1's ``<|eom_id|>`` after a built-in tool): then whether it stops is a question of
    its own, and the table has a column for it. Otherwise (ChatML's ``<|im_end|>`` ends both) it is not shown."""
    terminator = model.terminator
    if terminator is None or terminator.token is None:
        return []
    return [(builtin, after) for builtin, after in calling_turns(model)
            if after and not any(token == terminator.token for token, _ in after)]


def _gguf(gguf: GgufModel) -> str:
    lines = [printable(display_path(gguf.path))]
    terminator = gguf.terminator
    if terminator is not None and terminator.token is not None:
        shown = terminator.id if terminator.id is not None else "id unknown: not one token of the GGUF"
        source = terminator.described if terminator.builtin else terminator.key
        lines.append(printable(f"  chat answers end with '{terminator.token}' ({shown}), from {source}"))
    verdict = VERDICTS[gguf.stops()]
    release = gguf.eog_release.label if gguf.eog_release is not None else "llama.cpp"
    lines.append(printable(f"  {release} stops on {gguf.describe(gguf.eog)}: {verdict}"))
    return "\n".join(lines)
