// Package codecserver is `slipway codec-server`: it lets the Temporal UI
// (and `temporal --codec-endpoint`) show the payloads that slipway
// encrypts, by decrypting them on request with the same keys.
package codecserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/codec"
)

// EnvToken is the bearer token the codec server asks for, if set.
const EnvToken = "SLIPWAY_CODEC_TOKEN"

// DefaultOrigins are the local Temporal UI's.
var DefaultOrigins = []string{"http://127.0.0.1:8233", "http://localhost:8233"}

type CodecServerOptions struct {
	*cmdutil.Factory
	Listen  string
	Origins []string
	Token   string // else $SLIPWAY_CODEC_TOKEN
	// Serve serves h on l until ctx ends (Serve); tests pass a fake.
	Serve func(ctx context.Context, l net.Listener, h http.Handler) error
}

func NewCmdCodecServer(f *cmdutil.Factory, runF func(context.Context, *CodecServerOptions) error) *cobra.Command {
	opts := &CodecServerOptions{Factory: f, Serve: Serve}
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve the payload codec to the Temporal UI, so it shows encrypted payloads decrypted",
		Long: `slipway encrypts what it hands Temporal when a codec key is configured
($` + codec.EnvKey + `, $` + codec.EnvKeysFile + `, or the local stack's).
The Temporal UI then shows ciphertext, unless it is pointed at this server
(temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234, or the
UI's "Data Encoder" setting). The local stack runs one for its UI.`,
		Example: `  slipway codec-server --listen 127.0.0.1:8234 --cors-origin https://temporal.example.com --token "$TOKEN"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, codecServerRun)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8234", "host:port to listen on")
	cmd.Flags().StringSliceVar(&opts.Origins, "cors-origin", DefaultOrigins, "origins (the Temporal UI's) allowed to call from a browser; * for any")
	cmd.Flags().StringVar(&opts.Token, "token", "", "require Authorization: Bearer TOKEN (default $"+EnvToken+")")
	return cmd
}

func codecServerRun(ctx context.Context, opts *CodecServerOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if s.Codec == nil {
		return fmt.Errorf("no codec key: set %s or %s, or run `slipway dev up`", codec.EnvKey, codec.EnvKeysFile)
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (pick another with --listen)", opts.Listen, err)
	}
	h := NewHandler(s.Codec, Options{Origins: opts.Origins, Token: cmp.Or(opts.Token, os.Getenv(EnvToken)), Namespace: s.Temporal.Namespace})
	fmt.Fprintf(opts.IO.ErrOut, "codec server on http://%s for namespace %s, key %s\n", l.Addr(), s.Temporal.Namespace, s.Codec.KeyID())
	return opts.Serve(ctx, l, h)
}

// Serve serves h on l until ctx ends, then shuts down, letting requests in
// flight finish for a few seconds.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
