from __future__ import annotations

from ..findings import Finding, Severity
from ..known_tokens import known_turn_end_in
from ..resolve import ResolvedModel, Terminator, Where, user_turn_markers
from ..runtimes import remote_token_after_answer
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..model_files import TemplateSource


class TerminatorNotSingleToken(Rule):
    """The chat template ends turns with text that is not a single token.

    ## What it detects
    After the assistant's answer the template writes text (such as `<|endofturn|>` or `### End`) that is
    not an added token, so the tokenizer splits it into several ordinary tokens. A template that writes nothing
    after the last answer and only the next turn's text (`### User:`) before another one (Solar, MiniCPM) is
    said so: no token in it ends an answer. So is one whose next turn opens with the token the model's own config
    names `user_token_id` (Baichuan 2 under vLLM's template: `<reserved_106>` 195 in generation_config.json): its
    user turn's marker (Baichuan 2's remote `build_chat_input` opens user turns with it, and its `chat()` stops on
    the eos), while a token named nowhere that opens the next turn is taken for the end of the answer (ChatGLM3's
    `<|user|>`, EOS001). So is one that writes nothing at all after an answer, neither at the end
    nor before the next turn (LLaMA-Factory's `empty` template, which it writes when a base model is fine-tuned
    without a `template:`: each message's content, nothing else). A remote-code tokenizer that declares no added
    token may add tokens of its own in Python: ChatGLM3's official files name no id for `<|user|>` (64795), which
    its template writes before the next turn and with which the model ends every answer (its own `chat()` stops
    on it). Where the text after an answer starts with such a special-looking text (`<|...|>`, `<...>`, `[...]`)
    that no file gives an id, the warning says to list its id, and every runtime's verdict is "cannot tell".

    Where that text is a known turn end (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `<|end|>`: the texts
    llama.cpp stops on, and a few more) that is no token of the vocabulary either, and no added token follows it
    (`'<|im_end|>' + eos_token` ends with the eos), the finding is an error: the template was written for a
    tokenizer that has the token and this one does not (a ChatML template set on a base model's tokenizer without
    adding `<|im_start|>` and `<|im_end|>`), so a model trained on it learns to spell the terminator in pieces and
    nothing stops an answer; every runtime's verdict is then "cannot tell". Other text (`### End`) is a format of
    its own: a warning, which names the special token the text is one character away from, as a likely misspelling
    (llava-v1.6-mistral's template writes `<\\s>`, its tokenizer's eos being `</s>`).

    A tokenizer_config.json that sets `"split_special_tokens": true` (LLaMA-Factory's training option, saved back
    with the tokenizer) is an error when the terminator is a special token: transformers then encodes special
    tokens in text as ordinary pieces, the chat template's output and every training example included, so no
    example holds the terminator's id and nothing teaches the model to stop.

    Text the template writes after the last answer and before an added token (`</answer><|im_end|>`, a closing
    quote, a full stop) is not the terminator: the model writes it, then the token, and generation stops at the
    token, so the token is the terminator the other rules check (EOS001 when it is no stop id), and such text is
    no finding. Where that text is a known turn end that is no token (`'<|im_end|>' + eos_token` on a tokenizer
    without `<|im_end|>`), answers still stop at the token, but the model spells the turn end in pieces at the end
    of every answer: a warning.

    ## Why it breaks generation
    Stop ids are single ids: no `eos_token_id` can express a multi-token terminator, so generation only stops
    on stop strings that the caller has to pass by hand.

    ## Remediation
    Add the terminator as a special token (tokenizer.json `added_tokens` and `added_tokens_decoder`), or end
    turns with the tokenizer's eos token. Adding a token means resizing the model's embeddings and training it,
    so `--fix` does not do it (TRL's `clone_chat_template`, or `tokenizer.add_special_tokens` and
    `model.resize_token_embeddings` before training). Where `split_special_tokens` is true, set it to false (or
    remove it) and train again: the examples made with it never held the terminator's id.
    """

    code = "EOS011"
    name = "terminator-not-single-token"
    severity = Severity.WARNING
    summary = "the template ends turns with text that is not a single token"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        yield from self._split_special_tokens(model)
        for terminator in model.terminators:
            text = terminator.probe.tail.strip()
            if not text and terminator.token is None and terminator.probe.between_turns:
                # LLaMA-Factory's "empty" template, written when a base model is fine-tuned without a template
                yield self.finding(model, f"the '{terminator.template.name}' chat template writes nothing after an "
                                          "answer, neither after the last one nor before the next turn: no stop id "
                                          "can end an answer unless training appended an eos the template does not "
                                          "write", terminator.template)
                continue
            first = remote_token_after_answer(model, text) if terminator.token is None else None
            if first is not None:
                yield self.finding(
                    model, f"the '{terminator.template.name}' chat template writes no token eos-guard can name after "
                    f"an answer: '{first}' follows it, which no file gives an id, and the tokenizer is remote code, "
                    "whose own special tokens no file lists (tokenizer_config.json has no added_tokens_decoder); if "
                    "the model ends its answers with such a token, no stop id ends them: add its id to eos_token_id "
                    "(ChatGLM3's own chat() stops on its '<|user|>')", terminator.template)
                continue
            if not text or not model.vocab.lists_added_tokens:
                continue
            if terminator.token is not None:
                yield from self._spelled_before(model, terminator.template, text, terminator.probe.token)
                continue
            shown = text_ending(model, terminator)
            name = terminator.template.name
            if terminator.probe.between_turns:  # Solar, MiniCPM: "### User:" starts the next turn, nothing ends one
                # Baichuan 2 under vLLM's template: its user turn's marker, named in its config (resolve._terminator)
                what = "the user turn's marker, user_token_id in the model's config" \
                    if model.vocab.id_of(shown) in user_turn_markers(model) else "not an added token"
                message = (f"the '{name}' chat template writes no token after an answer: nothing after the last one, "
                           f"and '{shown}' ({what}) before the next turn; no stop id can end an answer unless "
                           "training appended an eos the template does not write")
                yield self.finding(model, message, terminator.template)
                continue
            known = terminator.spelled
            if known is not None:
                yield self.finding(
                    model, f"the '{name}' chat template ends assistant turns with '{known}', but the tokenizer has no "
                    f"such token (not an added token): the model can only spell it in pieces, and no stop id ends "
                    f"an answer; add '{known}' as a special token", terminator.template, Severity.ERROR)
                continue
            message = f"the '{name}' chat template ends assistant turns with '{shown}', which is not a single " \
                      "token (not an added token)"
            meant = misspelled_token(model, shown)
            if meant is not None:  # llava-v1.6-mistral's '<\s>'
                message += f"; a misspelling of '{meant}' ({model.vocab.id_of(meant)})?"
            yield self.finding(model, message, terminator.template)

    def _split_special_tokens(self, model: ResolvedModel) -> Iterator[Finding]:
        """tokenizer_config.json's ``"split_special_tokens": true`` (LLaMA-Factory's training option, saved with the
        tokenizer): transformers then encodes every special token in text as ordinary pieces (tokenizers'
        ``encode_special_tokens``), the chat template's output and training examples included, so no example holds
        the terminator's id (Qwen's '<|im_end|>' becomes 9 pieces)."""
        config = model.files.tokenizer_config
        if config is None or config.get(("split_special_tokens",)) is not True:
            return
        named = set(model.special_tokens.values())  # transformers makes the named tokens special at load
        for terminator in model.terminators:
            token = model.vocab.added.get(terminator.token) if terminator.token is not None else None
            if token is None or not (token.special or token.content in named):
                continue  # an added token that is not special stays one token
            yield self.finding(
                model, f"tokenizer_config.json sets split_special_tokens to true, so the tokenizer splits "
                f"'{token.content}', which ends assistant turns in the '{terminator.template.name}' chat template, "
                "into pieces wherever text holds it (the template's output, every training example): no example "
                f"holds its id, and nothing teaches the model to stop; set it to false",
                Where(config, ("split_special_tokens",)), Severity.ERROR)
            return

    def _spelled_before(self, model: ResolvedModel, template: TemplateSource, text: str,
                        token: str | None) -> Iterator[Finding]:
        """A known turn end the template writes as text before the token that ends the answer, first or after other
        text (``'<|im_end|>' + eos_token`` for a tokenizer without ``<|im_end|>``): generation stops at the token,
        but the model spells the text in pieces first, into every answer."""
        lead = text.split(token, 1)[0] if token else ""
        known = known_turn_end_in(lead)  # after other text too: '</answer><|im_end|>' + eos_token
        if known is None or model.vocab.id_of(known) is not None:
            return
        yield self.finding(model, f"the '{template.name}' chat template writes '{known}' before '{token}' after "
                                  f"every answer, but the tokenizer has no such token (not an added token): the "
                                  f"model spells it in pieces at the end of every answer, before '{token}' ends it; "
                                  f"add '{known}' as a special token, or leave it out of the template", template)


def misspelled_token(model: ResolvedModel, text: str) -> str | None:
    """The special added token ``text`` is one edit away from (a character changed, added or left out), where that
    token is at least 3 characters long: llava-v1.6-mistral's template writes '<\\s>' where its tokenizer's eos is
    '</s>'. The tokenizer's eos first, then a token of the same length ('<\\s>' is one edit from '<s>' too). None
    when there is no such token, or ``text`` is a token itself."""
    if text in model.vocab.added:
        return None
    eos = model.tokenizer_eos.token if model.tokenizer_eos is not None else None
    near = [token.content for token in model.vocab.added.values()
            if token.special and len(token.content) >= 3 and _one_edit(text, token.content)]
    return min(near, key=lambda token: (token != eos, len(token) != len(text)), default=None)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by changing, adding or removing one character (not when they are equal)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    index = next((i for i, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
    return short[index:] == long[index + 1:]


def text_ending(model: ResolvedModel, terminator: Terminator) -> str:
    """The text a template writes after an answer where no token ends it (llava-v1.6-mistral's '<\\s>', a typo for
    '</s>'), as this rule and ``eos-guard explain`` show it, or "" when a token ends it or there is no such text."""
    text = terminator.probe.tail.strip()
    if not text or terminator.token is not None or not model.vocab.lists_added_tokens:
        return ""
    return text.split()[0][:60]
