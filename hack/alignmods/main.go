// Command alignmods gives every module that slipway and the wrapper
// modules under hack/ both build from one version: the highest any of them
// selects. The Go build cache keys a compiled package by its sources and
// those of everything it imports, so a package whose whole import graph is
// at the same versions, built with the same flags, is compiled once for
// slipway, the control plane and Temporal alike. That is most of
// client-go, gRPC, protobuf and the Temporal API, and several minutes of a
// cold CI run.
//
//	go run ./hack/alignmods          raise what is behind, until nothing is
//	go run ./hack/alignmods -check   list what is not aligned, exit 1 if any
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// graph is a module, the packages of it that are built, and the modules
// it keeps at its own versions.
type graph struct {
	dir     string
	targets []string
	hold    []string
}

// The main module with its tests, and what each wrapper builds (its tool
// directives; the registry's own main package). Temporal's server is
// written against the API and SDK of its own release (its frontend
// implements the API's services), so those stay as it pins them, and
// so does the Nexus SDK the Temporal SDK is written against.
var graphs = []graph{
	{dir: ".", targets: []string{"-test", "./..."}},
	{dir: "hack/kube", targets: []string{"tool"}},
	{dir: "hack/temporal", targets: []string{"tool"}, hold: []string{"go.temporal.io/api", "go.temporal.io/sdk", "go.temporal.io/sdk/contrib/envconfig", "github.com/nexus-rpc/sdk-go"}},
	{dir: "hack/registry", targets: []string{"."}},
}

func main() {
	check := flag.Bool("check", false, "only list the modules whose versions differ; exit 1 if any do")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "alignmods:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	for round := 1; ; round++ {
		built := make([]map[string]string, len(graphs))
		for i, g := range graphs {
			var err error
			if built[i], err = modules(g); err != nil {
				return err
			}
		}
		behind := lagging(built)
		if slices.IndexFunc(behind, func(m []string) bool { return len(m) > 0 }) < 0 {
			return nil
		}
		if check {
			for i, mods := range behind {
				for _, m := range mods {
					fmt.Fprintf(os.Stderr, "%s builds %s\n", graphs[i].dir, m)
				}
			}
			return fmt.Errorf("modules built at different versions: run go run ./hack/alignmods")
		}
		if round > 5 {
			return fmt.Errorf("still not aligned after %d rounds: %v", round-1, behind)
		}
		for i, mods := range behind {
			if len(mods) == 0 {
				continue
			}
			if err := raise(graphs[i].dir, mods); err != nil {
				return err
			}
		}
	}
}

// conflict is go get's refusal of a version lower than one that another
// module it was asked for requires.
var conflict = regexp.MustCompile(`requires (\S+)@(\S+), not (\S+)@(\S+)`)

// raise runs go get for mods (module@version) in dir. Where one of them
// requires a higher version of another, that higher version is asked for
// instead: the next round raises the other graphs to it.
func raise(dir string, mods []string) error {
	for {
		fmt.Printf("%s: go get %s\n", dir, strings.Join(mods, " "))
		_, err := gocmd(dir, append([]string{"get"}, mods...)...)
		if err == nil {
			return nil
		}
		found := conflict.FindAllStringSubmatch(err.Error(), -1)
		if len(found) == 0 {
			return err
		}
		for _, c := range found {
			for i, m := range mods {
				if path, v, _ := strings.Cut(m, "@"); path == c[1] && semver.Compare(c[2], v) > 0 {
					mods[i] = path + "@" + c[2]
				}
			}
		}
	}
}

// lagging is, for each graph, the modules it builds at a lower version
// than another graph does, as module@highest.
func lagging(built []map[string]string) [][]string {
	highest := map[string]string{}
	for i, mods := range built {
		for m, v := range mods {
			if slices.Contains(graphs[i].hold, m) {
				continue
			}
			if semver.Compare(v, highest[m]) > 0 {
				highest[m] = v
			}
		}
	}
	out := make([][]string, len(built))
	for i, mods := range built {
		for m, v := range mods {
			if v != highest[m] && !slices.Contains(graphs[i].hold, m) {
				out[i] = append(out[i], m+"@"+highest[m])
			}
		}
		slices.Sort(out[i])
	}
	return out
}

// modules maps each module a graph builds packages from to its version.
// Modules a wrapper replaces (the Kubernetes staging modules) keep the
// version the replacement names, which the main module must match.
func modules(g graph) (map[string]string, error) {
	args := append([]string{"list", "-deps", "-f", "{{with .Module}}{{if .Replace}}{{.Replace.Path}} {{.Replace.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}"}, g.targets...)
	out, err := gocmd(g.dir, args...)
	if err != nil {
		return nil, err
	}
	mods := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, version, ok := strings.Cut(sc.Text(), " ")
		if ok && version != "" { // "": the graph's own module
			mods[path] = version
		}
	}
	return mods, sc.Err()
}

func gocmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// The packages slipway builds: static, as the Makefile builds them.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return out, nil
}
