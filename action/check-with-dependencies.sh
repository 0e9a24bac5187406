#!/usr/bin/env bash
# The eos-guard action's second check step (see action.yml and docs/action.md), run only when the first one
# (action/check.sh) needed a dependency the interpreter (EOS_GUARD_INTERPRETER) lacks. It named the folder to
# install them into (EOS_GUARD_DEPS), which actions/cache may have restored since. pip installs only those
# dependencies, from action/requirements.txt: eos-guard itself runs from the action's checkout, so nothing is
# built and `@v1` pins the code. The check, the outputs, the summary and SARIF are eos_guard.github_action.
set -euo pipefail

python=${EOS_GUARD_INTERPRETER:?run this script as the eos-guard action}
action=${GITHUB_ACTION_PATH:?run this script as the eos-guard action}
deps=${EOS_GUARD_DEPS:?run this script as the eos-guard action}
if [[ ! -e "${deps}/.eos-guard-complete" ]]; then
    echo "::group::Install eos-guard's dependencies (action/requirements.txt)"
    # Into a new folder, renamed into place once complete: another job on a self-hosted runner may use the
    # same folder, and a failed install leaves nothing behind for actions/cache to save.
    mkdir -p -- "$(dirname -- "$deps")"
    partial=$(mktemp -d "${deps}.XXXXXX")
    # --no-compile: Python compiles only the modules it imports, once, into the folder that the action's save
    # step keeps after the check (compiling all of them costs more than the install).
    if ! "$python" -I -m pip install --quiet --disable-pip-version-check --no-input --no-compile \
        --target "$partial" --requirement "${action}/action/requirements.txt"; then
        rm -rf -- "$partial"
        echo "::endgroup::"
        echo "::error title=eos-guard::pip could not install eos-guard's dependencies (action/requirements.txt)"
        if [[ -n ${GITHUB_OUTPUT-} ]]; then
            printf 'exit-code=2\n' >>"$GITHUB_OUTPUT"
            exit 0
        fi
        exit 2
    fi
    touch -- "${partial}/.eos-guard-complete"
    rm -rf -- "$deps" # an incomplete folder (a restore of one, or an install that was stopped)
    # os.rename does not move a folder into an existing one (mv would): then another job was first.
    "$python" -I -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$partial" "$deps" 2>/dev/null ||
        rm -rf -- "$partial"
    echo "::endgroup::"
    if [[ -n ${GITHUB_OUTPUT-} ]]; then
        printf 'installed=true\n' >>"$GITHUB_OUTPUT" # the action's save step keeps the folder for later jobs
    fi
fi
exec "$python" -I -X utf8 "${action}/action/main.py" run
