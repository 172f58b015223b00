package functions

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Problem is one thing wrong with the app.
type Problem struct {
	// Path is the file concerned ("" for a problem with a Go handler that
	// has no file).
	Path string
	// Field locates the problem inside the file, e.g. "bindings[0].type".
	Field   string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "field %q: ", p.Field)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Broken is a function in error: it is not loaded (no listener, not
// invocable) while the rest of the app runs, as in the Functions host.
type Broken struct {
	// Name is the function name.
	Name string
	// Path is its function.json.
	Path string
	// Config is function.json as standard JSON, nil when it could not be
	// parsed (the admin API then does not list the function).
	Config json.RawMessage
	// Trigger is the trigger binding's type, when known.
	Trigger  string
	Problems []Problem
}

// Messages returns one line per problem.
func (b *Broken) Messages() []string {
	out := make([]string, len(b.Problems))
	for i, p := range b.Problems {
		out[i] = p.String()
	}
	return out
}

// Error is the Functions host's log line for the function.
func (b *Broken) Error() string {
	return fmt.Sprintf("The '%s' function is in error: %s", b.Name, strings.Join(b.Messages(), "\n"))
}

// Error lists every problem found; its message has one line per problem.
// Strict hosts (tests, CI) turn functions in error into one.
type Error struct {
	// Stage is "function.json" or "handler".
	Stage    string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("%d %s problem(s):", len(e.Problems), e.Stage))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// AsError joins the problems of functions in error (and extra problems,
// e.g. orphan handlers) into one *Error, or nil when there are none.
func AsError(stage string, broken []*Broken, extra ...Problem) error {
	var ps []Problem
	for _, b := range broken {
		ps = append(ps, b.Problems...)
	}
	ps = append(ps, extra...)
	if len(ps) == 0 {
		return nil
	}
	return &Error{Stage: stage, Problems: ps}
}
