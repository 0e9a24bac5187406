#!/usr/bin/env bash
# The eos-guard action's first step (see action.yml and docs/action.md): the one input shell must check,
# the interpreter, before running it; then eos_guard.github_action validates every other input and checks
# the paths with the dependencies the interpreter has (or an earlier step of the job installed). A check that
# needs a missing one sets needs-dependencies, and the action's later steps install them and check again.
#
# Inputs arrive only as EOS_GUARD_* environment variables; no value is ever evaluated. An invalid input ends
# this step normally with the exit-code output set to 2 (a usage error, as
# on the command line); the action's last step fails with it.
set -euo pipefail

error() { # workflow-command data escaped as actions/toolkit escapes it
    local s=${1//'%'/'%25'}
    s=${s//$'\r'/'%0D'}
    s=${s//$'\n'/'%0A'}
    printf '::error title=eos-guard input::%s\n' "$s"
    if [[ -n ${GITHUB_OUTPUT-} ]]; then
        printf 'exit-code=2\n' >>"$GITHUB_OUTPUT"
        exit 0
    fi
    exit 2
}

python=${EOS_GUARD_PYTHON:-python3}
if [[ $python == *[[:cntrl:]]* ]]; then
    error "python: the value contains a newline or another control character" # not echoed
elif [[ $python == -* ]]; then
    error "python: '${python}' begins with '-' and would be read as an option"
elif ! command -v -- "$python" >/dev/null 2>&1; then
    error "python: '${python}' is not an executable on PATH (use actions/setup-python, or name an interpreter)"
elif ! "$python" -I -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
    error "python: '${python}' is not Python 3.10 or newer (use actions/setup-python, or name an interpreter)"
fi
exec "$python" -I -X utf8 "${GITHUB_ACTION_PATH:?run this script as the eos-guard action}/action/main.py" check
