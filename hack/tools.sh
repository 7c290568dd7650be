#!/usr/bin/env bash
# Builds every external program of slipway's local stack from the Go module
# proxy into .tools/bin, pinned. A tool is rebuilt only when its pinned version
# changes (a stamp file records what was built), so a second run takes a second.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
mkdir -p "$bin" "$stamps"
export GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}"

# name | version | how to build it (run in $root)
tools=(
  "temporal|v1.5.1|go install github.com/temporalio/cli/cmd/temporal@v1.5.1"
  "etcd|v3.6.8|cd hack/etcd && go build -trimpath -o $bin/etcd go.etcd.io/etcd/server/v3"
  "kube-apiserver|v1.36.3|cd hack/kube && go build -trimpath -o $bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager|v1.36.3|cd hack/kube && go build -trimpath -o $bin/kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler|v1.36.3|cd hack/kube && go build -trimpath -o $bin/kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler"
  "kubectl|v1.36.3|cd hack/kube && go build -trimpath -o $bin/kubectl k8s.io/kubernetes/cmd/kubectl"
  "kwok|v0.7.0|go install sigs.k8s.io/kwok/cmd/kwok@v0.7.0"
  "kwokctl|v0.7.0|go install sigs.k8s.io/kwok/cmd/kwokctl@v0.7.0"
  "registry|v3.1.2|go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2"
  "helm|v4.3.1|go install helm.sh/helm/v4/cmd/helm@v4.3.1"
  "workflowcheck|v0.6.0|go install go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0"
)

only=("$@")
for entry in "${tools[@]}"; do
  IFS='|' read -r name version cmd <<<"$entry"
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then continue; fi
  stamp="$stamps/$name@$version"
  if [[ -x "$bin/$name" && -f "$stamp" ]]; then
    echo "tools: $name $version already built"
    continue
  fi
  start=$SECONDS
  echo "tools: building $name $version ..."
  (cd "$root" && eval "$cmd")
  rm -f "$stamps/$name@"*
  touch "$stamp"
  echo "tools: built $name $version in $((SECONDS - start))s"
done
