#!/usr/bin/env bash
# The walkthrough of `make demo`: brings the local stack up and shows what
# slipway does, printing each command before its output.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
app=myapp

run() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@"
}

run slipway dev up
if slipway apps info "$app" >/dev/null 2>&1; then
  run slipway apps delete "$app"
fi
run slipway apps create "$app"
run slipway build examples/myapp -a "$app" --description "first build of the example"
run slipway env set FOO=bar -a "$app"
run slipway releases -a "$app"
latest=$(slipway releases -a "$app" --limit 1 | awk 'NR==2 {print $1}')
run slipway releases info "$latest" -a "$app"
run slipway releases manifest "$latest" -a "$app"
run slipway builds -a "$app"
build=$(slipway builds -a "$app" --limit 1 | awk 'NR==2 {print $1}')
run slipway builds logs "$build" -a "$app"
printf '\n$ slipway env set BAD_LINE -a %s   # bad input changes nothing\n' "$app"
slipway env set BAD_LINE -a "$app" || true

# Promotion: a rolling deployment that ends active everywhere or rolled back.
run slipway releases promote -a "$app"
good=$(slipway releases -a "$app" --limit 1 | awk 'NR==2 {print $1}')
printf '\n# A release whose pods crash loop (simulated by the kwok nodes) is rolled back on its own:\n'
run slipway env set SIMULATE=crashloop -a "$app"
run slipway releases promote -a "$app" || true
run slipway apps info -a "$app"
run slipway promotions -a "$app"
printf '\n# Rolling back to an earlier release copies it into a new release and promotes that:\n'
first=$(slipway releases -a "$app" | awk 'NR>1 {id=$1} END {print id}')
run slipway releases rollback "$first" -a "$app"
run slipway releases -a "$app"

# Building from source: the local builder turns a Dockerfile into an image
# in the stack's registry without running a container.
printf '\n# Compile the example web server, then build its image from examples/hello/Dockerfile:\n'
CGO_ENABLED=0 go build -trimpath -o examples/hello/bin/hello ./examples/hello
if slipway apps info hello >/dev/null 2>&1; then
  slipway apps delete hello >/dev/null
fi
run slipway apps create hello
run slipway build examples/hello -a hello --description "hello from source"
run slipway releases promote -a hello
run slipway apps

ui=$(slipway dev status | awk '/UI/ {print $NF}')
cat <<EOT

Every step above ran as a Temporal workflow: open the Temporal UI at $ui
and search for SlipwayApp="$app".
kubectl works too:   kubectl --kubeconfig ~/.slipway/dev/kwok/clusters/slipway/kubeconfig.yaml get releases -n slipway-$app
Stop the stack with: bin/slipway dev down   (its state stays; bin/slipway dev reset wipes it)
EOT
