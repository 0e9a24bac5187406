#!/usr/bin/env bash
# The eos-guard composite action's step (see action.yml and docs/action.md).
#
# Every input arrives as an EOS_GUARD_* environment variable: action.yml never expands ${{ inputs.* }} into
# a script, and this script never evaluates a value. All inputs are validated before anything is installed
# or run; any invalid one fails the step with an ::error:: per problem. Then eos-guard is installed from the
# action's own checkout ($GITHUB_ACTION_PATH, so `@v1` pins the code) into a virtualenv under $RUNNER_TEMP,
# and run with --format github (annotations), --summary (job summary) and --sarif (counted for the outputs).
#
# Inside the action this step ends with exit code 0 and hands the result over in the exit-code output; the
# action's next step fails with that code. Everything this step prints thus comes from a step that finished
# normally (act's host runner can drop the last lines of a step that fails). Outside a runner (no
# GITHUB_OUTPUT), the script exits with the code itself.
set -euo pipefail

KNOWN_RUNTIMES=(transformers vllm sglang tgi mlx-lm llama.cpp ollama all)

# Workflow-command data is escaped as actions/toolkit escapes it, so no value can end the command or start
# another one.
escape() {
    local s=${1//'%'/'%25'}
    s=${s//$'\r'/'%0D'}
    s=${s//$'\n'/'%0A'}
    printf '%s' "$s"
}

error() { printf '::error title=eos-guard::%s\n' "$(escape "$1")"; }

# A property value (file=...) also escapes ':' and ','.
escape_property() {
    local s
    s=$(escape "$1")
    s=${s//:/'%3A'}
    s=${s//,/'%2C'}
    printf '%s' "$s"
}

problems=0
invalid() {
    printf '::error title=eos-guard input::%s\n' "$(escape "$1")"
    problems=$((problems + 1))
}

# An output, in the delimiter form, which holds any value (changed-files has one path per line).
set_output() {
    local name=$1 value=$2 delimiter
    [[ -n ${GITHUB_OUTPUT-} ]] || return 0
    delimiter="EOS_GUARD_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    if [[ $value == *"$delimiter"* ]]; then
        error "output ${name} contains its delimiter"
        finish 1
    fi
    printf '%s<<%s\n%s\n%s\n' "$name" "$delimiter" "$value" "$delimiter" >>"$GITHUB_OUTPUT"
}

finish() {
    if [[ -n ${GITHUB_OUTPUT-} ]]; then
        set_output exit-code "$1"
        exit 0
    fi
    exit "$1"
}

# A free-form value (a path, an interpreter): one line, no control characters, not an option.
check_value() {
    local name=$1 value=$2
    if [[ $value == *[[:cntrl:]]* ]]; then
        invalid "${name}: the value contains a newline or another control character" # not echoed
        return 1
    fi
    if [[ $value == -* ]]; then
        invalid "${name}: '${value}' begins with '-' and would be read as an option"
        return 1
    fi
}

check_bool() {
    local name=$1 value=$2
    case ${value,,} in
        true | false) ;;
        *) invalid "${name}: '${value}' is not true or false" ;;
    esac
}

# ---------------------------------------------------------------------------------------------- validation

paths=()
read -r -d '' -a paths <<<"${EOS_GUARD_PATHS-}" || true # whitespace-separated, newlines included
if ((${#paths[@]} == 0)); then
    paths=(.)
fi
for path in "${paths[@]}"; do
    if check_value paths "$path" && [[ ! -e $path && ! -L $path ]]; then
        invalid "paths: '${path}' does not exist (in $(pwd))"
    fi
done

fix=${EOS_GUARD_FIX-false}
check_bool fix "$fix"
summary=${EOS_GUARD_SUMMARY-true}
check_bool summary "$summary"

fail_on=${EOS_GUARD_FAIL_ON-error}
case $fail_on in
    error | warning | info | never | '') ;;
    *) invalid "fail-on: '${fail_on}' is not one of error, warning, info, never" ;;
esac

runtimes=()
IFS=$', \t\n' read -r -d '' -a names <<<"${EOS_GUARD_RUNTIMES-}" || true
for name in ${names[@]+"${names[@]}"}; do
    [[ -n $name ]] || continue
    known=false
    for runtime in "${KNOWN_RUNTIMES[@]}"; do
        [[ $name == "$runtime" ]] && known=true
    done
    if [[ $known == true ]]; then
        runtimes+=("$name")
    else
        invalid "runtimes: '${name}' is not one of ${KNOWN_RUNTIMES[*]}"
    fi
done

config=${EOS_GUARD_CONFIG-}
if [[ -n $config ]] && check_value config "$config" && [[ ! -f $config ]]; then
    invalid "config: '${config}' is not a file (in $(pwd))"
fi

sarif_file=${EOS_GUARD_SARIF_FILE-}
if [[ -n $sarif_file ]]; then
    check_value sarif-file "$sarif_file" || true
fi

python=${EOS_GUARD_PYTHON:-python3}
if check_value python "$python" && ! command -v -- "$python" >/dev/null 2>&1; then
    invalid "python: '${python}' is not an executable on PATH (use actions/setup-python, or name an interpreter)"
fi

if ((problems > 0)); then
    echo "eos-guard: ${problems} invalid input(s); nothing was installed or run"
    finish 1
fi

# ---------------------------------------------------------------------------------------------- install

action_path=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this script as the eos-guard action}
temp=${RUNNER_TEMP:-$(mktemp -d)}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
    error "python: '${python}' is not Python 3.10 or newer (use actions/setup-python, or name an interpreter)"
    finish 1
fi

# One virtualenv per action checkout and interpreter, reused when the action runs twice in a job.
key=$(printf '%s\n%s\n' "$action_path" "$python" | cksum | cut -d ' ' -f 1)
home="${temp}/eos-guard-${key}"
venv="${home}/venv"
if [[ ! -e "${venv}/.eos-guard-installed" ]]; then
    printf '::group::%s\n' "$(escape "Install eos-guard from ${action_path}")"
    rm -rf -- "$venv"
    if ! "$python" -m venv -- "$venv"; then
        echo "::endgroup::"
        error "'${python} -m venv' failed (on Debian or Ubuntu: apt-get install python3-venv; or use actions/setup-python)"
        finish 1
    fi
    if ! "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -- "$action_path"; then
        echo "::endgroup::"
        error "pip could not install eos-guard from ${action_path}"
        finish 1
    fi
    touch -- "${venv}/.eos-guard-installed"
    echo "::endgroup::"
fi
"${venv}/bin/eos-guard" --version

# ---------------------------------------------------------------------------------------------- run

work=$(mktemp -d "${home}/run.XXXXXX")
sarif="${work}/eos-guard.sarif"
args=(--format=github "--sarif=${sarif}")
if [[ ${summary,,} == true && -n ${GITHUB_STEP_SUMMARY-} ]]; then
    args+=("--summary=${GITHUB_STEP_SUMMARY}")
fi
if [[ -n $fail_on ]]; then
    args+=("--fail-on=${fail_on}")
fi
if ((${#runtimes[@]} > 0)); then
    args+=("--runtime=$(IFS=,; printf '%s' "${runtimes[*]}")")
fi
if [[ -n $config ]]; then
    args+=("--config=${config}")
fi
if [[ ${fix,,} == true ]]; then
    # The action leaves the edits in the workspace and lists them in changed-files: the step fails only
    # when failing findings remain.
    args+=(--fix --exit-zero-even-if-changed)
fi

# EOS015 (stop ids dropped) compares with git HEAD by default. In a pull request, compare with the base
# branch instead when it was fetched (actions/checkout with fetch-depth: 0); never fetch anything.
base=${GITHUB_BASE_REF-}
if [[ -n $base && $base != -* ]]; then
    ref="refs/remotes/origin/${base}"
    if command -v git >/dev/null 2>&1 && git rev-parse --verify --quiet "${ref}^{commit}" >/dev/null 2>&1; then
        args+=("--baseline=${ref}")
    else
        echo "eos-guard: ${ref} is not in the checkout (fetch-depth: 0 fetches it); EOS015 compares with HEAD"
    fi
fi

printf 'Running:'
printf ' %q' eos-guard "${args[@]}" -- "${paths[@]}"
printf '\n'
status=0
"${venv}/bin/eos-guard" "${args[@]}" -- "${paths[@]}" 2>"${work}/stderr" || status=$?

changed=()
while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == "Fixing "* ]]; then
        changed+=("${line#Fixing }")
        printf '%s\n' "$line"
    elif [[ $line == "eos-guard: "* ]]; then
        # One-line messages: a file that cannot be read, a bad setting, no model folder found. A message
        # that starts with path:line:col: is annotated at that place.
        level=warning
        ((status == 2)) && level=error
        message=${line#eos-guard: }
        place=
        if [[ $message =~ ^([^:]+):([0-9]+):([0-9]+):\ (.*)$ ]]; then
            place="file=$(escape_property "${BASH_REMATCH[1]}"),line=${BASH_REMATCH[2]},col=${BASH_REMATCH[3]},"
            message=${BASH_REMATCH[4]}
        fi
        printf '::%s %stitle=eos-guard::%s\n' "$level" "$place" "$(escape "$message")"
    else
        # Anything else (argparse usage, a traceback) gets a prefix that is not whitespace: the runner trims
        # leading whitespace before it looks for '::', so indenting would not stop a line from being a command.
        printf '| %s\n' "$line"
    fi
done <"${work}/stderr"

# ---------------------------------------------------------------------------------------------- outputs

counts=
if [[ -s $sarif ]]; then
    counts=$("${venv}/bin/python" -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    results = [r for run in json.load(handle)["runs"] for r in run.get("results", [])]
print(len(results), sum(r.get("level") == "error" for r in results))
' "$sarif") || counts=
fi
if [[ -n $counts ]]; then
    read -r findings errors <<<"$counts"
    set_output findings "$findings"
    set_output errors "$errors"
    echo "eos-guard: ${findings} finding(s), ${errors} error(s); exit code ${status}"
    if [[ -n $sarif_file ]]; then
        if mkdir -p -- "$(dirname -- "$sarif_file")" && cp -- "$sarif" "$sarif_file"; then
            set_output sarif-file "$sarif_file"
        else
            error "sarif-file: cannot write '${sarif_file}'"
            status=2
        fi
    fi
else
    echo "eos-guard: exit code ${status}, no report"
fi

if ((${#changed[@]} > 0)); then
    set_output changed-files "$(printf '%s\n' "${changed[@]}")"
    # eos-guard's --summary lists the written files itself, as code spans (a path is never Markdown or HTML).
fi

finish "$status"
