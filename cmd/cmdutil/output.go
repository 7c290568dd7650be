package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"time"

	humanize "github.com/dustin/go-humanize"
)

// Table writes Convox's tables: an upper-case header, columns padded to the
// widest cell and separated by two spaces, no trailing spaces.
type Table struct {
	header []string
	rows   [][]string
}

func NewTable(header ...string) *Table { return &Table{header: header} }

func (t *Table) Add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *Table) Print(w io.Writer) error {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{t.header}, t.rows...) {
		var line strings.Builder
		for i, c := range r {
			if i < len(r)-1 {
				fmt.Fprintf(&line, "%-*s  ", widths[i], c)
			} else {
				line.WriteString(c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Info writes Convox's info blocks: labels padded to the widest label plus
// two spaces; a multi-line value is indented to the value column.
type Info struct{ pairs [][2]string }

func NewInfo() *Info { return &Info{} }

func (i *Info) Add(label, value string) { i.pairs = append(i.pairs, [2]string{label, value}) }

func (i *Info) Print(w io.Writer) error {
	width := 0
	for _, p := range i.pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range i.pairs {
		lines := strings.Split(strings.TrimRight(p[1], "\n"), "\n")
		for n, l := range lines {
			label := ""
			if n == 0 {
				label = p[0]
			}
			b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s  %s", width, label, l), " ") + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Ago says how long ago t was, as Convox prints it ("5 minutes ago").
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanize.RelTime(t, now, "ago", "from now")
}

// Elapsed is a build's duration as Convox prints it ("1m10s").
func Elapsed(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	return end.Sub(start).Round(time.Second).String()
}

// Step prints Convox's "Doing something... OK" progress around fn.
func Step(w io.Writer, msg string, fn func() (string, error)) error {
	fmt.Fprintf(w, "%s... ", msg)
	result, err := fn()
	if err != nil {
		// As Convox: no newline, so on a terminal the ERROR line that
		// follows on stderr completes this one.
		return err
	}
	if result != "" {
		fmt.Fprintf(w, "OK, %s\n", result)
	} else {
		fmt.Fprintln(w, "OK")
	}
	return nil
}
