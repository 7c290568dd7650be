#!/bin/sh
# A CI job as Convox users script one, with slipway in convox's place:
# build with --id, read the records as JSON, promote, and let any failure
# (a build that fails, a promotion that rolls back) fail the job with a
# non-zero exit. It prints the release that ends active, alone, on stdout.
#
#   APP=myapp SRC=. sh convox-ci.sh
#
# SLIPWAY names the slipway binary (default: slipway on PATH). JSON is read
# with python3, since jq is not everywhere.
set -eu

: "${APP:?set APP to the app to deploy}"
: "${SRC:?set SRC to the folder with its convox.yml}"
SLIPWAY=${SLIPWAY:-slipway}

field() { # field KEY [INDEX]: a field of the JSON document on stdin
	python3 -c 'import json, sys
doc = json.load(sys.stdin)
if len(sys.argv) > 2:
    doc = doc[int(sys.argv[2])]
print(doc[sys.argv[1]])' "$@"
}

fail() {
	echo "convox-ci: $*" >&2
	exit 1
}

# The app exists, or is made (progress on stderr: stdout is the result).
if ! "$SLIPWAY" apps info "$APP" -o json >/dev/null 2>&1; then
	"$SLIPWAY" apps create "$APP" >&2
fi

# --id: the build's log goes to stderr, the new release's ID to stdout.
RELEASE=$("$SLIPWAY" build "$SRC" -a "$APP" --id --wait --description "ci build")
case $RELEASE in
R*) ;;
*) fail "build --id printed '$RELEASE', not a release ID" ;;
esac

# The records, as JSON: the newest release is the build's, and its build
# completed.
NEWEST=$("$SLIPWAY" releases -a "$APP" -o json -l 1 | field id 0)
[ "$NEWEST" = "$RELEASE" ] || fail "the newest release is $NEWEST, not the build's $RELEASE"
BUILD=$("$SLIPWAY" releases info "$RELEASE" -a "$APP" -o json | field build)
STATUS=$("$SLIPWAY" builds info "$BUILD" -a "$APP" -o json | field status)
[ "$STATUS" = complete ] || fail "build $BUILD is $STATUS"

# The promotion's events go to stderr; a rollback exits non-zero, and so
# does this job (set -e).
"$SLIPWAY" releases promote "$RELEASE" -a "$APP" --wait >&2

# Stamp the build on the env and promote that too, as many CI jobs do.
FINAL=$("$SLIPWAY" env set "CI_BUILD=$BUILD" -a "$APP" --id -p)
ACTIVE=$("$SLIPWAY" apps info "$APP" -o json | field release)
[ "$ACTIVE" = "$FINAL" ] || fail "the active release is $ACTIVE, not $FINAL"
echo "$FINAL"
