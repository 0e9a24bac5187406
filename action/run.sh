#!/usr/bin/env bash
# The eos-guard action's check step (see action.yml and docs/action.md). action/setup.sh has validated the
# inputs and named the interpreter (EOS_GUARD_INTERPRETER) and, when it lacks jinja2 or PyYAML, the folder
# to install them into (EOS_GUARD_DEPS, which actions/cache may have restored). pip installs only those
# dependencies, from action/requirements.txt: eos-guard itself runs from the action's checkout, so nothing is
# built and `@v1` pins the code. The check, the outputs, the summary and SARIF are eos_guard.github_action.
set -euo pipefail

python=${EOS_GUARD_INTERPRETER:?run this script as the eos-guard action}
action=${GITHUB_ACTION_PATH:?run this script as the eos-guard action}
deps=${EOS_GUARD_DEPS-}
if [[ -n $deps && ! -e "${deps}/.eos-guard-complete" ]]; then
    echo "::group::Install eos-guard's dependencies (action/requirements.txt)"
    rm -rf -- "$deps"
    # --no-compile: Python compiles only the modules it imports, once, into the folder that actions/cache
    # saves at the end of the job (compiling all of them costs more than the install).
    if ! "$python" -I -m pip install --quiet --disable-pip-version-check --no-input --no-compile \
        --target "$deps" --requirement "${action}/action/requirements.txt"; then
        echo "::endgroup::"
        echo "::error title=eos-guard::pip could not install eos-guard's dependencies (action/requirements.txt)"
        if [[ -n ${GITHUB_OUTPUT-} ]]; then
            printf 'exit-code=1\n' >>"$GITHUB_OUTPUT"
            exit 0
        fi
        exit 1
    fi
    touch -- "${deps}/.eos-guard-complete"
    echo "::endgroup::"
fi
exec "$python" -I "${action}/action/main.py" run
