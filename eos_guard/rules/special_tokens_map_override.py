from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel, Where, special_token_text
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class SpecialTokensMapOverride(Rule):
    """special_tokens_map.json disagrees with tokenizer_config.json about the eos.

    ## What it detects
    Both files name an `eos_token` and the strings differ.

    Severity: **warning** when transformers really reads special_tokens_map.json, that is when
    tokenizer_config.json has no `added_tokens_decoder` key (the legacy branch of `_from_pretrained`): then
    the map's value *overrides* tokenizer_config.json. **info** when the map is ignored.

    ## Why it matters
    transformers 5 no longer writes `added_tokens_decoder` nor special_tokens_map.json, so a stale map left
    next to a tokenizer_config.json saved by transformers 5 silently takes over. The llama.cpp and Ollama
    converters read only tokenizer_config.json, so the two files give different runtimes different eos tokens.

    ## Remediation
    Make both files name the same eos, or delete the stale special_tokens_map.json.
    """

    code = "EOS008"
    name = "special-tokens-map-override"
    severity = Severity.WARNING
    summary = "special_tokens_map.json's eos differs from tokenizer_config.json's"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        tc, stm = model.files.tokenizer_config, model.files.special_tokens_map
        if tc is None or stm is None or not isinstance(tc.data, dict) or not isinstance(stm.data, dict):
            return
        config_eos, _ = special_token_text(tc.data.get("eos_token"), True)
        map_eos, _ = special_token_text(stm.data.get("eos_token"), False)
        if config_eos is None or map_eos is None or config_eos == map_eos:
            return
        where = Where(stm, ("eos_token",))
        if "added_tokens_decoder" in tc.data:
            yield self.finding(model, f"special_tokens_map.json sets eos_token '{map_eos}' but tokenizer_config.json "
                                      f"says '{config_eos}'; transformers ignores the map here (tokenizer_config.json "
                                      "has added_tokens_decoder), other tools may not", where, Severity.INFO)
        else:
            yield self.finding(model, f"special_tokens_map.json sets eos_token '{map_eos}', overriding "
                                      f"tokenizer_config.json's '{config_eos}' (transformers reads the map because "
                                      "tokenizer_config.json has no added_tokens_decoder)", where)
