// Package layering holds the test that keeps slipway's layers apart: the
// domain packages never import a command, and commands use the worker's
// activities package only for the shape of workflow inputs and outputs
// (its types and constants), never its functions or variables, which are
// the worker's internals. `make layering` runs it; so does `make test`.
package layering

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/slipway-dev/slipway"

// domain are the packages that hold slipway's model and logic.
var domain = []string{"./workflows", "./activities", "./render", "./model", "./records", "./runs"}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDomainImportsNoCommand(t *testing.T) {
	cmd := exec.Command("go", append([]string{"list", "-deps"}, domain...)...)
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < len(domain) {
		t.Fatalf("go list -deps named %d packages: want at least the %d domain ones", len(deps), len(domain))
	}
	for _, p := range deps {
		if strings.HasPrefix(p, module+"/cmd/") {
			t.Errorf("%s is a dependency of the domain packages: move what they need out of cmd/", p)
		}
	}
}

func TestCommandsUseOnlyActivityShapes(t *testing.T) {
	dir := root(t)
	kinds := declarations(t, filepath.Join(dir, "activities"))
	uses := 0
	err := filepath.WalkDir(filepath.Join(dir, "cmd"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := importName(f, module+"/activities")
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
				uses++
				if k := kinds[sel.Sel.Name]; k != token.TYPE && k != token.CONST {
					rel, _ := filepath.Rel(dir, path)
					t.Errorf("%s uses activities.%s, a %s: commands may use only the activities' input and output types and constants; move it to model, records or runs", rel, sel.Sel.Name, k)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d uses of activities in cmd/", uses)
}

// declarations maps each top-level name of a package to how it is
// declared: token.TYPE, CONST, VAR or FUNC.
func declarations(t *testing.T, dir string) map[string]token.Token {
	t.Helper()
	kinds := map[string]token.Token{}
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					kinds[d.Name.Name] = token.FUNC
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						kinds[s.Name.Name] = token.TYPE
					case *ast.ValueSpec:
						for _, n := range s.Names {
							kinds[n.Name] = d.Tok
						}
					}
				}
			}
		}
	}
	if len(kinds) == 0 {
		t.Fatalf("no declarations found in %s", dir)
	}
	return kinds
}

// importName is the name a file refers to path by, "" if it does not
// import it.
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return filepath.Base(path)
		}
	}
	return ""
}
