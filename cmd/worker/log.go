package worker

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// logHandler writes text lines for a person at a terminal, and JSON lines
// anywhere else (a pod's log, a file, a pipe), which log collectors parse
// without a pattern.
func logHandler(w io.Writer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}
