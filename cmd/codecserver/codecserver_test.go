package codecserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/codec"
)

func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *CodecServerOptions
	capture := func(_ context.Context, o *CodecServerOptions) error { got = o; return nil }
	if err := e.Run(NewCmdCodecServer(e.Factory, capture), []string{}...); err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:8234" || !slices.Equal(got.Origins, DefaultOrigins) || got.Token != "" || got.Serve == nil {
		t.Errorf("defaults %+v: want the local UI's port and origins, no token and the real server", got)
	}
	err := e.Run(NewCmdCodecServer(e.Factory, capture),
		"--listen", "0.0.0.0:9000", "--cors-origin", "https://a.example,https://b.example", "--cors-origin", "*", "--token", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://a.example", "https://b.example", "*"}; got.Listen != "0.0.0.0:9000" || !slices.Equal(got.Origins, want) || got.Token != "s3cret" {
		t.Errorf("options %+v: want 0.0.0.0:9000, %q and the token", got, want)
	}
	ran := false
	never := func(context.Context, *CodecServerOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"extra"}, {"--nope"}, {"--listen"}} {
		if err := e.Run(NewCmdCodecServer(e.Factory, never), args...); err == nil {
			t.Errorf("codec-server %q: no error", args)
		}
	}
	if ran {
		t.Error("codec-server ran with a bad command line")
	}
}

// withKey gives the test Factory a codec key and a Temporal namespace.
func withKey(t *testing.T, e *cmdutiltest.Env) {
	t.Helper()
	c, err := codec.New([]codec.Key{{ID: "k1", Secret: make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	e.Settings.Codec = c
	e.Settings.Temporal.Namespace = "default"
}

// served runs codecServerRun with a fake Serve and returns the handler it
// was handed.
func served(t *testing.T, e *cmdutiltest.Env, opts CodecServerOptions) http.Handler {
	t.Helper()
	var h http.Handler
	opts.Factory = e.Factory
	opts.Serve = func(_ context.Context, l net.Listener, got http.Handler) error {
		h = got
		return l.Close()
	}
	if err := codecServerRun(context.Background(), &opts); err != nil {
		t.Fatal(err)
	}
	return h
}

func status(h http.Handler, token, namespace string) int {
	r := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(`{"payloads":[]}`))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if namespace != "" {
		r.Header.Set("X-Namespace", namespace)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// The server says where it listens and with which key, and serves the
// handler for the settings' namespace with the flag's token, else the
// environment's.
func TestCodecServerRun(t *testing.T) {
	e := cmdutiltest.New(t)
	withKey(t, e)
	t.Setenv(EnvToken, "from-env")
	h := served(t, e, CodecServerOptions{Listen: "127.0.0.1:0", Origins: DefaultOrigins, Token: "from-flag"})
	line := e.ErrOut.String()
	if !strings.HasPrefix(line, "codec server on http://127.0.0.1:") || !strings.HasSuffix(line, " for namespace default, key k1\n") || strings.HasSuffix(line, ":0 for namespace default, key k1\n") {
		t.Errorf("start line %q: want the port listened on, the namespace and the key", line)
	}
	if e.Out.Len() != 0 {
		t.Errorf("codec-server printed %q on standard output", e.Out)
	}
	for _, c := range []struct {
		token, namespace string
		want             int
	}{{"", "", 401}, {"from-env", "", 401}, {"from-flag", "", 200}, {"from-flag", "other", 403}, {"from-flag", "default", 200}} {
		if got := status(h, c.token, c.namespace); got != c.want {
			t.Errorf("decode with token %q, namespace %q: %d, want %d", c.token, c.namespace, got, c.want)
		}
	}
	e.ErrOut.Reset()
	h = served(t, e, CodecServerOptions{Listen: "127.0.0.1:0"})
	if status(h, "from-env", "") != 200 || status(h, "", "") != 401 {
		t.Error("with no --token, $" + EnvToken + " is not the token asked for")
	}
}

// Without a key, or with the port taken, it says what to do and serves
// nothing.
func TestCodecServerRefuses(t *testing.T) {
	e := cmdutiltest.New(t)
	never := func(context.Context, net.Listener, http.Handler) error {
		t.Error("served")
		return nil
	}
	err := codecServerRun(context.Background(), &CodecServerOptions{Factory: e.Factory, Listen: "127.0.0.1:0", Serve: never})
	if want := "no codec key: set " + codec.EnvKey + " or " + codec.EnvKeysFile + ", or run `slipway dev up`"; err == nil || err.Error() != want {
		t.Errorf("no key: %v, want %q", err, want)
	}
	withKey(t, e)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	err = codecServerRun(context.Background(), &CodecServerOptions{Factory: e.Factory, Listen: addr, Serve: never})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot listen on "+addr+": ") || !strings.HasSuffix(err.Error(), " (pick another with --listen)") {
		t.Errorf("port taken: %v", err)
	}
	if e.ErrOut.Len() != 0 {
		t.Errorf("a refused start printed %q", e.ErrOut)
	}
}

// Serve answers until its context ends, then stops cleanly and lets go of
// the port.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	}()
	res, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok" {
		t.Errorf("served %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/"); err == nil {
		t.Error("still serving after its context ended")
	}
	// A listener that fails ends Serve with its error.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if err := Serve(context.Background(), l2, http.NotFoundHandler()); err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Errorf("serving on a closed listener: %v", err)
	}
}
