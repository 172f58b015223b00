package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Output formats of --output.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// printer writes a command's result: an aligned table (or key: value
// lines) for people, one JSON document for scripts. Colour is used only
// when stdout is a terminal and NO_COLOR is unset.
type printer struct {
	w      io.Writer
	format string
	color  bool
	tty    bool
}

// addOutputFlag declares --output (-o) on cmd.
func addOutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", formatTable, "output format: table (for people) or json (one JSON document, the HTTP API's field names)")
}

func newPrinter(cfg *Config, format string) (*printer, error) {
	switch format {
	case formatTable, formatJSON:
	default:
		return nil, usageErrorf("--output %q: use table or json", format)
	}
	p := &printer{w: cfg.Stdout, format: format}
	if f, ok := cfg.Stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.color = cfg.Getenv("NO_COLOR") == "" && cfg.Getenv("TERM") != "dumb"
	}
	return p, nil
}

func (p *printer) json() bool { return p.format == formatJSON }

// writeJSON writes v indented, followed by a newline. Values that are
// already JSON (json.RawMessage, []byte from dfwire) are re-indented.
func (p *printer) writeJSON(v any) error {
	var b []byte
	var err error
	switch x := v.(type) {
	case []byte:
		b, err = indent(x)
	case json.RawMessage:
		b, err = indent(x)
	default:
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		return fmt.Errorf("writing JSON output: %w", err)
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

func indent(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ANSI colours for statuses and headings.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiGrey   = "\x1b[90m"
)

func (p *printer) paint(code, s string) string {
	if !p.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

// statusColor is the colour of a runtime status in tables.
func statusColor(status string) string {
	switch status {
	case "Completed":
		return ansiGreen
	case "Failed":
		return ansiRed
	case "Terminated", "Canceled":
		return ansiGrey
	case "Running", "ContinuedAsNew":
		return ansiBlue
	case "Pending", "Suspended":
		return ansiYellow
	}
	return ""
}

// table is rows of cells under a header; colours[i], when set, colours
// column i's cells by their text.
type table struct {
	header []string
	rows   [][]string
	colors map[int]func(string) string
}

// write prints t with columns padded to their widest cell (padding is
// computed before colouring, so escapes do not break the alignment).
func (p *printer) writeTable(t *table) error {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			if n := utf8.RuneCountInString(c); i < len(widths) && n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	line := func(cells []string, style func(int, string) string) {
		for i, c := range cells {
			pad := ""
			if i < len(cells)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2)
			}
			b.WriteString(style(i, c) + pad)
		}
		b.WriteString("\n")
	}
	line(t.header, func(_ int, c string) string { return p.paint(ansiBold, c) })
	for _, r := range t.rows {
		line(r, func(i int, c string) string {
			if f := t.colors[i]; f != nil {
				return p.paint(f(c), c)
			}
			return c
		})
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// writeFields prints key: value lines, keys padded to the longest.
func (p *printer) writeFields(fields [][2]string) error {
	w := 0
	for _, f := range fields {
		w = max(w, len(f[0]))
	}
	var b strings.Builder
	for _, f := range fields {
		v := f[1]
		if f[0] == "Status" {
			v = p.paint(statusColor(v), v)
		}
		fmt.Fprintf(&b, "%s%s  %s\n", p.paint(ansiBold, f[0]+":"), strings.Repeat(" ", w-len(f[0])), v)
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// message prints one line for people (table format only: a JSON result
// stays one document).
func (p *printer) message(format string, a ...any) {
	if !p.json() {
		fmt.Fprintf(p.w, format+"\n", a...)
	}
}
