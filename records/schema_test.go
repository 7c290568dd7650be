package records

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/slipway/model"
)

// The CRDs' schemas are written by hand (with descriptions for `kubectl
// explain`); this test holds them to the Go types, so neither can change
// without the other.

// crdTypes is the Go type of each CRD file's kind.
var crdTypes = map[string]reflect.Type{
	"apps.yaml":       reflect.TypeFor[App](),
	"builds.yaml":     reflect.TypeFor[Build](),
	"releases.yaml":   reflect.TypeFor[Release](),
	"promotions.yaml": reflect.TypeFor[Promotion](),
}

// crdEnums are the closed sets of values, from the constants the code
// writes: the only places a schema may have an enum.
var crdEnums = map[string][]string{
	"App.status.status":       {model.AppRunning, model.AppUpdating, model.AppRollback, model.AppDeleting, model.AppError},
	"Build.status.status":     {model.BuildCreated, model.BuildRunning, model.BuildComplete, model.BuildFailed},
	"Promotion.status.phase":  {model.PhasePending, model.PhaseRelease, model.PhaseRollingOut, model.PhasePaused, model.PhaseRollingBack, model.PhaseDone},
	"Promotion.status.result": {model.ResultActive, model.ResultRolledBack, model.ResultFailed, model.ResultRejected},
}

func loadCRD(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := crdFiles.ReadFile("crds/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return crd
}

// dig follows keys (and list indexes, as ints) into decoded YAML.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			l, _ := v.([]any)
			if p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

func TestCRDSchemasMatchTypes(t *testing.T) {
	entries, err := crdFiles.ReadDir("crds")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if want := slices.Sorted(maps.Keys(crdTypes)); !slices.Equal(files, want) {
		t.Fatalf("CRD files %q, want one per record type %q", files, want)
	}
	seen := map[string]bool{}
	for file, typ := range crdTypes {
		crd := loadCRD(t, file)
		if kind := dig(crd, "spec", "names", "kind"); kind != typ.Name() {
			t.Errorf("%s: kind %v, want %s", file, kind, typ.Name())
		}
		versions, _ := dig(crd, "spec", "versions").([]any)
		if len(versions) != 1 || dig(versions, 0, "name") != Version {
			t.Fatalf("%s: versions %v, want %s alone", file, versions, Version)
		}
		if st, ok := dig(versions, 0, "subresources", "status").(map[string]any); !ok || len(st) != 0 {
			t.Errorf("%s: subresources.status is %v, want {}: status is written through its own endpoint", file, st)
		}
		root, _ := dig(versions, 0, "schema", "openAPIV3Schema").(map[string]any)
		if root == nil {
			t.Fatalf("%s: no openAPIV3Schema", file)
		}
		w := &schemaWalk{t: t, enums: crdEnums, seen: seen}
		w.object(typ.Name(), typ, root, true)
	}
	for path := range crdEnums {
		if !seen[path] {
			t.Errorf("enum %s is in no schema", path)
		}
	}
}

type schemaWalk struct {
	t     *testing.T
	enums map[string][]string
	seen  map[string]bool
}

var (
	timeTypes = map[reflect.Type]bool{
		reflect.TypeFor[metav1.Time](): true, reflect.TypeFor[metav1.MicroTime](): true,
	}
	typeMetaType   = reflect.TypeFor[metav1.TypeMeta]()
	objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()
)

// jsonFields lists a struct's JSON fields as the encoder sees them, with
// inline (embedded, untagged name) structs flattened.
func jsonFields(typ reflect.Type) (names []string, fields map[string]reflect.StructField, omitempty map[string]bool) {
	fields, omitempty = map[string]reflect.StructField{}, map[string]bool{}
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			n, fs, oe := jsonFields(f.Type)
			names = append(names, n...)
			maps.Copy(fields, fs)
			maps.Copy(omitempty, oe)
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		fields[name] = f
		omitempty[name] = slices.Contains(strings.Split(opts, ","), "omitempty")
	}
	return names, fields, omitempty
}

// object checks a struct against an object schema: the same properties,
// required exactly when the Go type always writes the field (no
// omitempty), and each property's type.
func (w *schemaWalk) object(path string, typ reflect.Type, s map[string]any, root bool) {
	t := w.t
	w.node(path, s, "object")
	names, fields, omitempty := jsonFields(typ)
	props, _ := s["properties"].(map[string]any)
	if got, want := slices.Sorted(maps.Keys(props)), slices.Sorted(slices.Values(names)); !slices.Equal(got, want) {
		t.Errorf("%s: schema has properties %q, Go type %s has fields %q", path, got, typ, want)
	}
	if !root {
		var want []string
		for _, n := range names {
			if !omitempty[n] {
				want = append(want, n)
			}
		}
		var got []string
		required, _ := s["required"].([]any)
		for _, r := range required {
			got = append(got, r.(string))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: required %q, want the fields written without omitempty %q", path, got, want)
		}
	}
	for _, name := range names {
		p, ok := props[name].(map[string]any)
		if !ok {
			continue // reported above
		}
		w.field(path+"."+name, fields[name].Type, p)
	}
}

func (w *schemaWalk) field(path string, typ reflect.Type, s map[string]any) {
	t := w.t
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == objectMetaType:
		if len(s) != 1 || s["type"] != "object" {
			t.Errorf("%s: schema %v, want {type: object}: the API server owns metadata's schema", path, s)
		}
		return
	case typ == typeMetaType:
		t.Errorf("%s: TypeMeta must be inline", path)
		return
	case timeTypes[typ]:
		w.node(path, s, "string")
		if s["format"] != "date-time" {
			t.Errorf("%s: format %v, want date-time for %s", path, s["format"], typ)
		}
		return
	}
	switch typ.Kind() {
	case reflect.String:
		w.node(path, s, "string")
		want, closed := w.enums[path]
		var got []string
		enum, _ := s["enum"].([]any)
		for _, v := range enum {
			got = append(got, v.(string))
		}
		if closed {
			w.seen[path] = true
			if !slices.Equal(got, want) {
				t.Errorf("%s: enum %q, want the constants %q", path, got, want)
			}
		} else if got != nil {
			t.Errorf("%s: enum %q that no constant list checks: add it to crdEnums", path, got)
		}
	case reflect.Int32, reflect.Int64:
		w.node(path, s, "integer")
		if want := strings.ToLower(typ.Kind().String()); s["format"] != want {
			t.Errorf("%s: format %v, want %s", path, s["format"], want)
		}
	case reflect.Bool:
		w.node(path, s, "boolean")
	case reflect.Slice:
		w.node(path, s, "array")
		items, _ := s["items"].(map[string]any)
		if items == nil {
			t.Errorf("%s: array without items", path)
			return
		}
		if typ.Elem().Kind() == reflect.Struct {
			w.object(path+"[]", typ.Elem(), items, false)
		} else {
			w.field(path+"[]", typ.Elem(), items)
		}
	case reflect.Struct:
		w.object(path, typ, s, false)
	default:
		t.Errorf("%s: Go type %s has no schema mapping here: extend the test and the schema together", path, typ)
	}
}

// node checks what every schema node needs: its type, a description for
// `kubectl explain` (array items excepted: their array has it), and no
// escape from structural pruning.
func (w *schemaWalk) node(path string, s map[string]any, typ string) {
	t := w.t
	if s["type"] != typ {
		t.Errorf("%s: type %v, want %s", path, s["type"], typ)
	}
	if d, _ := s["description"].(string); d == "" && !strings.HasSuffix(path, "[]") && !strings.HasSuffix(path, ".metadata") {
		t.Errorf("%s: no description, so `kubectl explain` has nothing to say", path)
	}
	if s["x-kubernetes-preserve-unknown-fields"] != nil {
		t.Errorf("%s: x-kubernetes-preserve-unknown-fields: the schema must list every field", path)
	}
}
