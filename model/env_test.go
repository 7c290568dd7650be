package model

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIB\nAbC=\n-----END KEY-----"
	for _, tc := range []struct {
		name string
		in   string
		want Env
	}{
		{"empty", "", Env{}},
		{"blank and comments", "\n  \n# FOO=bar\n   # indented comment\n\t\n", Env{}},
		{"simple", "FOO=bar\nBAZ=qux\n", Env{"FOO": "bar", "BAZ": "qux"}},
		{"no trailing newline", "FOO=bar", Env{"FOO": "bar"}},
		{"crlf", "FOO=bar\r\nBAZ=qux\r\n", Env{"FOO": "bar", "BAZ": "qux"}},
		{"byte order mark", "\ufeffFOO=bar\n", Env{"FOO": "bar"}},
		{"split at first equals", "URL=postgres://u:p@h/db?sslmode=require&a=b\n", Env{"URL": "postgres://u:p@h/db?sslmode=require&a=b"}},
		{"empty value", "FOO=\n", Env{"FOO": ""}},
		{"value with spaces kept", "FOO=  a b  \n", Env{"FOO": "  a b  "}},
		{"key trimmed", "  FOO =bar\n", Env{"FOO": "bar"}},
		{"export prefix", "export FOO=bar\n", Env{"FOO": "bar"}},
		{"inline hash is literal", "FOO=a # b\n", Env{"FOO": "a # b"}},
		{"unicode", "GREETING=héllo wörld ✓\n", Env{"GREETING": "héllo wörld ✓"}},
		{"single quotes literal", "FOO='bar'\n", Env{"FOO": "'bar'"}},
		{"inner quotes literal", `FOO=a "b" c` + "\n", Env{"FOO": `a "b" c`}},
		{"quote then text literal", `FOO="a"b` + "\n", Env{"FOO": `"a"b`}},
		{"leading space before quote literal", `FOO= "a"` + "\n", Env{"FOO": ` "a"`}},
		{"quoted one line", `FOO="bar baz"` + "\n", Env{"FOO": "bar baz"}},
		{"quoted with trailing blanks", "FOO=\"bar\" \t\n", Env{"FOO": "bar"}},
		{"quoted empty", `FOO=""` + "\n", Env{"FOO": ""}},
		{"quoted escapes", `FOO="a\nb\r\"c\"\\d"` + "\n", Env{"FOO": "a\nb\r\"c\"\\d"}},
		{"quoted unknown escape kept", `FOO="C:\temp\x"` + "\n", Env{"FOO": `C:\temp\x`}},
		{"quoted hash", `FOO="# not a comment"` + "\n", Env{"FOO": "# not a comment"}},
		{"multi-line pem", "KEY=\"-----BEGIN KEY-----\nMIIB\nAbC=\n-----END KEY-----\"\nNEXT=1\n", Env{"KEY": pem, "NEXT": "1"}},
		{"multi-line keeps comment-like and blank lines", "A=\"x\n# y\n\nz\"\n", Env{"A": "x\n# y\n\nz"}},
		{"multi-line escaped quote inside", "A=\"x\\\"\ny\"\n", Env{"A": "x\"\ny"}},
		{"multi-line crlf", "A=\"x\r\ny\"\r\n", Env{"A": "x\ny"}},
		{"multi-line closing line with blanks", "A=\"x\ny\"  \n", Env{"A": "x\ny"}},
		{"later wins", "FOO=1\nFOO=2\n", Env{"FOO": "2"}},
		{"invalid names are parsed (Validate rejects them)", "1FOO=x\n", Env{"1FOO": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnv(tc.in)
			if err != nil {
				t.Fatalf("ParseEnv(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseEnv(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no equals", "A=1\nB=2\nFOO\n", `line 3 has no "=": use KEY=VALUE, and put a value that spans lines in double quotes`},
		{"no equals indented", "  FOO\n", `line 1 has no "=": use KEY=VALUE, and put a value that spans lines in double quotes`},
		{"long line", strings.Repeat("x", 100), `line 1 has no "=": use KEY=VALUE, and put a value that spans lines in double quotes`},
		{"empty key", "=bar\n", `line 1 has no name before "=": use KEY=VALUE`},
		{"export without key", "export =bar\n", `line 1 has no name before "=": use KEY=VALUE`},
		{"unterminated quote", "A=1\nKEY=\"abc\ndef\n", `line 2: KEY: the value opens a double quote that is never closed: add the closing " or escape the quote as \"`},
		{"lone quote", "KEY=\"", `line 1: KEY: the value opens a double quote that is never closed: add the closing " or escape the quote as \"`},
		{"text after multi-line close", "KEY=\"abc\ndef\" x\n", `line 2: KEY: text after the closing quote of a multi-line value: end the line at the quote`},
		{"odd key quoted in message", "0\r0=\"", `line 1: "0\r0": the value opens a double quote that is never closed: add the closing " or escape the quote as \"`},
		{"pem without quotes", "KEY=-----BEGIN KEY-----\nMIIB\n", `line 2 has no "=": use KEY=VALUE, and put a value that spans lines in double quotes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnv(tc.in)
			if err == nil {
				t.Fatalf("ParseEnv(%q) = %q, want error %q", tc.in, got, tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("ParseEnv(%q) error\n got: %s\nwant: %s", tc.in, err, tc.want)
			}
		})
	}
}

func TestParsePairs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want Env
	}{
		{"none", nil, Env{}},
		{"several", []string{"A=1", "B=2"}, Env{"A": "1", "B": "2"}},
		{"literal values", []string{`A="x"`, "B=a=b", "C=", "D= sp ", "E=line\nbreak"}, Env{"A": `"x"`, "B": "a=b", "C": "", "D": " sp ", "E": "line\nbreak"}},
		{"later wins", []string{"A=1", "A=2"}, Env{"A": "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePairs(tc.in)
			if err != nil {
				t.Fatalf("ParsePairs(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePairs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParsePairsErrors(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"A=1", "FOO"}, `invalid env pair (argument 2): no "=" in it: use KEY=VALUE`},
		{[]string{"=1"}, `invalid env pair (argument 1): no name before "=": use KEY=VALUE`},
		{[]string{""}, `invalid env pair (argument 1): no "=" in it: use KEY=VALUE`},
	} {
		got, err := ParsePairs(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParsePairs(%q) = %q, %v; want error %q", tc.in, got, err, tc.want)
		}
	}
}

func TestEnvValidate(t *testing.T) {
	big := strings.Repeat("v", MaxEnvValueBytes)
	// Nine values of 128 KiB - 2 bytes with keys K0..K8: each entry is
	// 2+len+2 = 128 KiB + 2 bytes, nine of them are over 1 MiB.
	tooMuch := Env{}
	for i := range 9 {
		tooMuch["K"+string(rune('0'+i))] = strings.Repeat("v", MaxEnvValueBytes-2)
	}
	justEnough := Env{}
	for i := range 8 {
		justEnough["K"+string(rune('0'+i))] = strings.Repeat("v", MaxEnvValueBytes-4)
	}
	for _, tc := range []struct {
		name string
		env  Env
		want string // "" for valid
	}{
		{"nil", nil, ""},
		{"good", Env{"FOO": "bar", "_X1": "", "lower_case": "ok"}, ""},
		{"value at limit", Env{"BIG": big}, ""},
		{"total at limit", justEnough, ""},
		{"empty key", Env{"": "x"}, `invalid env name "": a name cannot be empty`},
		{"leading digit", Env{"1FOO": "x"}, `invalid env name "1FOO": use letters, digits and underscores, not starting with a digit`},
		{"dash", Env{"MY-KEY": "x"}, `invalid env name "MY-KEY": use letters, digits and underscores, not starting with a digit`},
		{"space", Env{"MY KEY": "x"}, `invalid env name "MY KEY": use letters, digits and underscores, not starting with a digit`},
		{"first bad key in sorted order", Env{"Z-Z": "x", "A-A": "x"}, `invalid env name "A-A": use letters, digits and underscores, not starting with a digit`},
		{"value too big", Env{"BIG": big + "v"}, "env BIG: value is 131073 bytes, more than the limit of 131072 (128 KiB): store large data elsewhere and pass a reference"},
		{"total too big", tooMuch, "env is 1179666 bytes in all, more than the limit of 1048576 (1 MiB): remove or shorten some values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.env.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate error\n got: %v\nwant: %s", err, tc.want)
			}
		})
	}
	// justEnough is exactly at the total limit; one more byte is over.
	total := 0
	for k, v := range justEnough {
		total += len(k) + len(v) + 2
	}
	if total != MaxEnvTotalBytes {
		t.Fatalf("test setup: total %d, want %d", total, MaxEnvTotalBytes)
	}
	justEnough["K0"] += "v"
	if err := justEnough.Validate(); err == nil {
		t.Fatal("one byte over the total limit was accepted")
	}
}

func TestEnvString(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  Env
		want string
	}{
		{"nil", nil, ""},
		{"sorted", Env{"B": "2", "A": "1", "C": ""}, "A=1\nB=2\nC=\n"},
		{"literal specials", Env{"A": "x=y 'z' \"q\" # h", "B": " lead"}, "A=x=y 'z' \"q\" # h\nB= lead\n"},
		{"newline quoted", Env{"PEM": "a\nb"}, "PEM=\"a\\nb\"\n"},
		{"carriage return quoted", Env{"A": "a\r"}, "A=\"a\\r\"\n"},
		{"leading quote quoted", Env{"A": `"x" \ y`}, `A="\"x\" \\ y"` + "\n"},
		{"backslash alone literal", Env{"A": `C:\x`}, `A=C:\x` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.env.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
			back, err := ParseEnv(tc.env.String())
			if err != nil {
				t.Fatalf("ParseEnv(String()): %v", err)
			}
			if len(tc.env) == 0 && len(back) == 0 {
				return
			}
			if !reflect.DeepEqual(back, tc.env) {
				t.Fatalf("round trip = %q, want %q", back, tc.env)
			}
		})
	}
}

func TestEnvRoundTrip(t *testing.T) {
	env := Env{
		"PEM":     "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
		"QUOTED":  `"already quoted"`,
		"ESCAPES": `a\nb\"c\\`,
		"CRLF":    "a\r\nb",
		"EMPTY":   "",
		"SPACES":  "  ",
		"UNICODE": "日本語 ✓",
		"EQUALS":  "==",
		"HASH":    "#x",
		"LONE":    `"`,
		"TRAIL":   `x\`,
	}
	if err := env.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := ParseEnv(env.String())
	if err != nil {
		t.Fatalf("ParseEnv(%q): %v", env.String(), err)
	}
	if !reflect.DeepEqual(got, env) {
		t.Fatalf("round trip\n got: %q\nwant: %q", got, env)
	}
}

func TestEnvKeysCloneMerge(t *testing.T) {
	e := Env{"B": "2", "A": "1"}
	if got := e.Keys(); !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Errorf("Keys() = %q", got)
	}
	if got := Env(nil).Keys(); len(got) != 0 {
		t.Errorf("nil Keys() = %q", got)
	}

	c := e.Clone()
	c["A"] = "changed"
	if e["A"] != "1" {
		t.Error("Clone shares storage with the original")
	}
	if n := Env(nil).Clone(); n == nil || len(n) != 0 {
		t.Errorf("nil Clone() = %#v, want empty non-nil", n)
	}

	other := Env{"B": "two", "C": "3"}
	m := e.Merge(other)
	if want := (Env{"A": "1", "B": "two", "C": "3"}); !maps.Equal(m, want) {
		t.Errorf("Merge = %q, want %q", m, want)
	}
	if e["B"] != "2" || len(e) != 2 || len(other) != 2 {
		t.Error("Merge changed its inputs")
	}
	if m := Env(nil).Merge(nil); m == nil || len(m) != 0 {
		t.Errorf("nil Merge(nil) = %#v, want empty non-nil", m)
	}
}

func TestValidEnvName(t *testing.T) {
	for name, ok := range map[string]bool{
		"FOO": true, "_": true, "a1": true, "A_B_2": true,
		"": false, "1A": false, "A-B": false, "A.B": false, "Ä": false, "A B": false, "*": false,
	} {
		if got := ValidEnvName(name); got != ok {
			t.Errorf("ValidEnvName(%q) = %v, want %v", name, got, ok)
		}
	}
}
