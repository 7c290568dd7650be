package logs

import (
	"strings"
	"time"

	"github.com/slipway-dev/slipway/cmd/ps"
)

// Prefix names a process in a log line as Convox does:
// service/SERVICE:RELEASE/PROCESS.
func Prefix(p ps.Process) string {
	return "service/" + p.Service + ":" + p.Release + "/" + p.ID
}

// Line is one log line of a process: the kubelet's timestamp (the API
// server adds it for Timestamps: true) split from the message.
type Line struct {
	Time    time.Time
	Prefix  string
	Message string
}

// ParseLine splits a line the API server sent with timestamps. A line
// without one (a runtime that does not give them) keeps its text whole.
func ParseLine(prefix, raw string) Line {
	raw = strings.TrimRight(raw, "\r\n")
	l := Line{Prefix: prefix, Message: raw}
	if ts, msg, ok := strings.Cut(raw, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time, l.Message = t, msg
		}
	}
	return l
}

// String is the line as `slipway logs` prints it:
// 2026-01-02T15:04:05Z service/web:RABCDEF/web-7d9f-abc12 message.
func (l Line) String() string {
	ts := "-"
	if !l.Time.IsZero() {
		ts = l.Time.UTC().Format(time.RFC3339)
	}
	return ts + " " + l.Prefix + " " + l.Message
}
