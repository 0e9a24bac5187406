from __future__ import annotations

from ..findings import Finding, Severity
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class FileNotRead(Rule):
    """A model file was not read: a link out of the repository, not a regular file, or too large.

    ## What it detects
    - a symbolic link whose target lies outside the repository (the git work tree that holds the folder, or
      the folder itself outside git; a Hugging Face cache snapshot may link into its own `blobs/`), or a link
      loop;
    - a model folder, or an `additional_chat_templates/` folder, that is such a link (the whole folder is not
      read; the repository is the git work tree that holds the PATH as written, else the PATH itself);
    - a FIFO, socket, device or folder where a file should be (never opened for reading, so a check cannot hang);
    - a vocabulary file (tokenizer.json, tokenizer.model, vocab.json) over the `max-file-size` limit (100 MiB by
      default; real ones reach ~35 MB), or another model file over `max-config-size` (4 MiB by default; real ones
      stay under 1.2 MB);
    - a Hub file whose listed size is over its limit (never downloaded);
    - chat templates past the 16th of a folder (in `additional_chat_templates/`, by name, or in a
      `chat_template` list): each template costs its probes' renders, so a folder's time stays bounded.

    ## Why it matters
    eos-guard runs on pull requests from strangers. A link to a file outside the repository could make it
    read (and quote in its messages) files of the machine it runs on; a FIFO could make it hang; a huge
    file could exhaust memory. The folder is checked without the file, so the verdict may be incomplete:
    this is an error so that such a change cannot pass unnoticed. Where the file is one the token ids come from
    (tokenizer.json, tokenizer_config.json, tokenizer.model, vocab.json, tekken.json, and added_tokens.json where
    transformers reads it: without `added_tokens_decoder` in tokenizer_config.json), those ids are not known: an id
    a legacy added_tokens.json declares is not taken while tokenizer.json is unread (transformers gives its texts
    tokenizer.json's ids, or new ones), and `--fix` edits nothing in the folder.

    ## Remediation
    Commit the real file instead of a link, or raise `max-file-size` / `max-config-size` in the configuration.
    """

    code = "EOS018"
    name = "file-not-read"
    severity = Severity.ERROR
    summary = "a model file was not read (a link out of the repository, not a regular file, or too large)"

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for path, reason in model.files.skipped:
            yield self.finding(model, f"{path.name} {reason}", path)
