#!/usr/bin/env bash
# Builds every external program of slipway's local stack from the Go module
# proxy into .tools/bin, pinned. A tool is rebuilt only when its pinned version
# changes (a stamp file records what was built), so a second run takes a second.
#
# Builds run two at a time (TOOLS_JOBS): one go build leaves a core idle
# while it downloads modules and links, and the cold build is most of a CI
# run's time.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
logs="$root/.tools/logs"
mkdir -p "$bin" "$stamps" "$logs"
# The tools build as their projects' releases do, statically, whatever the
# caller's settings, and with the flags slipway's own packages build with
# (the Makefile's CGO_ENABLED=0 and -trimpath): the wrapper modules build
# the packages slipway also uses at its versions (go run ./hack/alignmods),
# so one compile of each serves both.
export GOBIN="$bin" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0

# The wrapper modules' programs build in one `go build` each, so that one
# links while the others still compile, and without DWARF (-s -w): the
# stack's programs are not debugged, and a link without it is quicker.
# Each entry has its own folder under $out for go build's output: both
# name a program "server".
ldflags="-ldflags=-s\ -w"
out="$root/.tools/out"

# A wrapper's version names its go.sum too: its dependencies move with
# slipway's.
sum() { sha256sum "$root/hack/$1/go.sum" | cut -c1-8; }

# programs | version | how to build them (run in $root), longest first.
tools=(
  "kube-apiserver kube-controller-manager kube-scheduler etcd|v1.36.3-etcd-v3.6.8-$(sum kube)|cd hack/kube && mkdir -p $out/kube && go build $ldflags -o $out/kube/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler go.etcd.io/etcd/server/v3 && mv $out/kube/kube-apiserver $out/kube/kube-controller-manager $out/kube/kube-scheduler $bin/ && mv $out/kube/server $bin/etcd"
  "temporal temporal-server temporal-sql-tool|cli-v1.5.1-server-v1.29.1-$(sum temporal)|cd hack/temporal && mkdir -p $out/temporal && go build -ldflags='-s -w -X=github.com/temporalio/cli/temporalcli.Version=1.5.1' -o $out/temporal/ github.com/temporalio/cli/cmd/temporal go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql && mv $out/temporal/temporal $bin/ && mv $out/temporal/server $bin/temporal-server && mv $out/temporal/sql $bin/temporal-sql-tool"
  "kwok kwokctl|v0.7.0-static|go install sigs.k8s.io/kwok/cmd/kwok@v0.7.0 && go install sigs.k8s.io/kwok/cmd/kwokctl@v0.7.0"
  "registry|v3.1.2-filesystem-$(sum registry)|cd hack/registry && go build $ldflags -o $bin/registry ."
  "workflowcheck|v0.6.0-static|go install go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0"
  "kubectl|v1.36.3-$(sum kube)|cd hack/kube && go build $ldflags -o $bin/kubectl k8s.io/kubernetes/cmd/kubectl"
  "helm|v4.3.1-static|go install helm.sh/helm/v4/cmd/helm@v4.3.1"
)

# wanted says whether an entry holds a program named on the command line
# (all of them when none is).
wanted() {
  (($# == 1)) && return 0
  local p names=" $1 "
  shift
  for p in "$@"; do [[ "$names" == *" $p "* ]] && return 0; done
  return 1
}

# build builds one entry, quietly unless it fails.
build() {
  local names="$1" version="$2" cmd="$3" key="${1// /+}" start=$SECONDS
  echo "tools: building $names $version ..."
  if ! (cd "$root" && eval "$cmd") >"$logs/$key.log" 2>&1; then
    cat "$logs/$key.log" >&2
    echo "tools: building $names $version failed (log: $logs/$key.log)" >&2
    return 1
  fi
  rm -f "$stamps/$key@"*
  touch "$stamps/$key@$version"
  echo "tools: built $names $version in $((SECONDS - start))s"
}

# PostgreSQL 15, which the production-shaped test runs, comes from Debian's
# package, not the module proxy.
if [[ ! -x /usr/lib/postgresql/15/bin/postgres ]] && wanted "postgresql" "$@"; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "tools: installing Debian's postgresql-15 ..."
    apt-get install -y -q --no-install-recommends postgresql-15 >"$logs/postgresql.log" 2>&1 ||
      { apt-get update -q >>"$logs/postgresql.log" 2>&1 && apt-get install -y -q --no-install-recommends postgresql-15 >>"$logs/postgresql.log" 2>&1; } ||
      { cat "$logs/postgresql.log" >&2; echo "tools: installing postgresql-15 failed" >&2; exit 1; }
  else
    echo "tools: PostgreSQL 15 is missing: install Debian's postgresql-15 (sudo apt-get install postgresql-15)" >&2
    exit 1
  fi
fi

pids=()
for entry in "${tools[@]}"; do
  IFS='|' read -r names version cmd <<<"$entry"
  wanted "$names" "$@" || continue
  built=1
  for name in $names; do [[ -x "$bin/$name" ]] || built=0; done
  if ((built)) && [[ -f "$stamps/${names// /+}@$version" ]]; then
    echo "tools: $names $version already built"
    continue
  fi
  while (($(jobs -rp | wc -l) >= ${TOOLS_JOBS:-2})); do sleep 1; done
  build "$names" "$version" "$cmd" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit "$failed"
