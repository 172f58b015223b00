// Package functions discovers a function app's definitions
// (functions/<Name>/function.json), validates them, and binds them to the Go
// handlers the app registered.
//
// Both steps report every problem at once, each naming the file and the
// field, so a broken app is fixed in one round.
package functions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/funchost/funchost/internal/jsonpos"
)

// Binding types funchost understands.
const (
	TypeHTTPTrigger          = "httpTrigger"
	TypeHTTP                 = "http"
	TypeOrchestrationClient  = "orchestrationClient"
	TypeDurableClient        = "durableClient"
	TypeOrchestrationTrigger = "orchestrationTrigger"
	TypeActivityTrigger      = "activityTrigger"
)

// Auth levels of an httpTrigger.
const (
	AuthAnonymous = "anonymous"
	AuthFunction  = "function"
	AuthAdmin     = "admin"
)

// Kind is what triggers a function.
type Kind int

// Function kinds.
const (
	KindHTTP Kind = iota + 1
	KindOrchestrator
	KindActivity
)

func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "HTTP"
	case KindOrchestrator:
		return "orchestrator"
	case KindActivity:
		return "activity"
	}
	return "unknown"
}

// Binding is one entry of function.json's "bindings".
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	AuthLevel string   `json:"authLevel,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	Route     string   `json:"route,omitempty"`
	// TaskHub and ConnectionName configure a durable client binding.
	TaskHub        string `json:"taskHub,omitempty"`
	ConnectionName string `json:"connectionName,omitempty"`
	// Orchestration and Activity override the registered name of an
	// orchestrator or activity (default: the function name).
	Orchestration string `json:"orchestration,omitempty"`
	Activity      string `json:"activity,omitempty"`
}

// IsClient reports whether b is a durable client binding.
func (b *Binding) IsClient() bool {
	return strings.EqualFold(b.Type, TypeOrchestrationClient) || strings.EqualFold(b.Type, TypeDurableClient)
}

// Definition is one validated function.json.
type Definition struct {
	// Name is the function name (its folder name).
	Name string
	// Path is the function.json path.
	Path string
	// Disabled is function.json's "disabled".
	Disabled bool
	Bindings []Binding
	// Kind and Trigger describe the one trigger binding.
	Kind    Kind
	Trigger *Binding
}

// Route returns an HTTP function's route template (default: its name).
func (d *Definition) Route() string {
	if d.Trigger == nil || strings.TrimSpace(d.Trigger.Route) == "" {
		return d.Name
	}
	return strings.Trim(strings.TrimSpace(d.Trigger.Route), "/")
}

// Methods returns an HTTP function's upper-case methods; nil means all.
func (d *Definition) Methods() []string {
	if d.Trigger == nil || len(d.Trigger.Methods) == 0 {
		return nil
	}
	out := make([]string, len(d.Trigger.Methods))
	for i, m := range d.Trigger.Methods {
		out[i] = strings.ToUpper(strings.TrimSpace(m))
	}
	return out
}

// AuthLevel returns an HTTP function's auth level, lower case (default
// "function").
func (d *Definition) AuthLevel() string {
	if d.Trigger == nil || d.Trigger.AuthLevel == "" {
		return AuthFunction
	}
	return strings.ToLower(d.Trigger.AuthLevel)
}

// TaskName is the name orchestrations and activities are registered under:
// the trigger's orchestration/activity override, else the function name.
func (d *Definition) TaskName() string {
	if d.Trigger != nil {
		if d.Kind == KindOrchestrator && d.Trigger.Orchestration != "" {
			return d.Trigger.Orchestration
		}
		if d.Kind == KindActivity && d.Trigger.Activity != "" {
			return d.Trigger.Activity
		}
	}
	return d.Name
}

// Clients returns the durable client bindings in declaration order.
func (d *Definition) Clients() []Binding {
	var out []Binding
	for _, b := range d.Bindings {
		if b.IsClient() {
			out = append(out, b)
		}
	}
	return out
}

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

// Error lists every problem found; its message has one line per problem.
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

// Discover reads every <scriptRoot>/functions/<Name>/function.json and
// validates them, returning the definitions sorted by name or an *Error
// listing all problems. A missing functions folder is an error.
func Discover(scriptRoot string) ([]*Definition, error) {
	dir := filepath.Join(scriptRoot, "functions")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no functions folder: %s does not exist (is --script-root the app folder?)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var defs []*Definition
	var problems []Problem
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "function.json")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a folder without function.json is not a function (Functions ignores it too)
		}
		if err != nil {
			problems = append(problems, Problem{Path: path, Message: err.Error()})
			continue
		}
		def, ps := Parse(e.Name(), path, data)
		problems = append(problems, ps...)
		if def != nil {
			defs = append(defs, def)
		}
	}
	problems = append(problems, duplicateNames(defs)...)
	problems = append(problems, routeConflicts(defs)...)
	if len(problems) > 0 {
		return nil, &Error{Stage: "function.json", Problems: problems}
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("no functions found: %s holds no <Name>/function.json", dir)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	return defs, nil
}

// fileShape is function.json as written.
type fileShape struct {
	Bindings []json.RawMessage `json:"bindings"`
	Disabled any               `json:"disabled"`
}

// Parse validates one function.json. It returns the definition (nil when it
// is unusable) and the problems found.
func Parse(name, path string, data []byte) (*Definition, []Problem) {
	var problems []Problem
	add := func(field, format string, args ...any) {
		problems = append(problems, Problem{Path: path, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var f fileShape
	if err := jsonpos.Unmarshal(data, &f); err != nil {
		add("", "%v", err)
		return nil, problems
	}
	def := &Definition{Name: name, Path: path}
	switch d := f.Disabled.(type) {
	case nil:
	case bool:
		def.Disabled = d
	case string:
		def.Disabled = strings.EqualFold(d, "true")
	default:
		add("disabled", "must be true or false")
	}
	if len(f.Bindings) == 0 {
		add("bindings", "must list at least one binding (the trigger)")
		return nil, problems
	}
	var triggers []int
	for i, raw := range f.Bindings {
		field := fmt.Sprintf("bindings[%d]", i)
		var b Binding
		if err := json.Unmarshal(raw, &b); err != nil {
			add(field, "invalid binding: %v", err)
			continue
		}
		if b.Name == "" {
			add(field+".name", "is required")
		}
		dir := strings.ToLower(b.Direction)
		if dir == "" {
			add(field+".direction", "is required")
		} else if dir != "in" && dir != "out" && dir != "inout" {
			add(field+".direction", "must be \"in\" or \"out\", got %q", b.Direction)
		}
		wantDir := ""
		switch {
		case b.Type == "":
			add(field+".type", "is required")
		case strings.EqualFold(b.Type, TypeHTTPTrigger):
			b.Type, wantDir = TypeHTTPTrigger, "in"
			triggers = append(triggers, i)
			checkHTTPTrigger(&b, field, add)
		case strings.EqualFold(b.Type, TypeHTTP):
			b.Type, wantDir = TypeHTTP, "out"
		case strings.EqualFold(b.Type, TypeOrchestrationClient):
			b.Type, wantDir = TypeOrchestrationClient, "in"
		case strings.EqualFold(b.Type, TypeDurableClient):
			b.Type, wantDir = TypeDurableClient, "in"
		case strings.EqualFold(b.Type, TypeOrchestrationTrigger):
			b.Type, wantDir = TypeOrchestrationTrigger, "in"
			triggers = append(triggers, i)
		case strings.EqualFold(b.Type, TypeActivityTrigger):
			b.Type, wantDir = TypeActivityTrigger, "in"
			triggers = append(triggers, i)
		default:
			add(field+".type", "unsupported binding type %q (funchost supports httpTrigger, http, orchestrationClient/durableClient, orchestrationTrigger, activityTrigger)", b.Type)
		}
		if wantDir != "" && dir != "" && dir != wantDir {
			add(field+".direction", "a %s binding must have direction %q, got %q", b.Type, wantDir, b.Direction)
		}
		def.Bindings = append(def.Bindings, b)
	}
	switch len(triggers) {
	case 0:
		add("bindings", "has no trigger binding (want exactly one of httpTrigger, orchestrationTrigger, activityTrigger)")
	case 1:
	default:
		add("bindings", "has %d trigger bindings; a function has exactly one", len(triggers))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	// Bindings failing to unmarshal were skipped above, so find the trigger
	// again among the kept ones.
	for i := range def.Bindings {
		b := &def.Bindings[i]
		switch b.Type {
		case TypeHTTPTrigger:
			def.Kind, def.Trigger = KindHTTP, b
		case TypeOrchestrationTrigger:
			def.Kind, def.Trigger = KindOrchestrator, b
		case TypeActivityTrigger:
			def.Kind, def.Trigger = KindActivity, b
		}
	}
	return def, nil
}

var knownMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true, "TRACE": true,
}

func checkHTTPTrigger(b *Binding, field string, add func(field, format string, args ...any)) {
	switch strings.ToLower(b.AuthLevel) {
	case "", AuthAnonymous, AuthFunction, AuthAdmin:
	default:
		add(field+".authLevel", "must be \"anonymous\", \"function\" or \"admin\", got %q", b.AuthLevel)
	}
	for j, m := range b.Methods {
		if !knownMethods[strings.ToUpper(strings.TrimSpace(m))] {
			add(fmt.Sprintf("%s.methods[%d]", field, j), "unknown HTTP method %q", m)
		}
	}
	route := strings.ToLower(strings.Trim(strings.TrimSpace(b.Route), "/"))
	if strings.HasPrefix(route, "admin") || strings.HasPrefix(route, "runtime") {
		add(field+".route", "%q is reserved: routes may not start with \"admin\" or \"runtime\"", b.Route)
	}
	if err := CheckTemplate(b.Route); err != nil {
		add(field+".route", "%v", err)
	}
}

// routeConflicts reports HTTP functions whose routes are equal (ignoring
// case) and whose method sets intersect, as the Functions host does.
func routeConflicts(defs []*Definition) []Problem {
	var problems []Problem
	for i, a := range defs {
		if a.Kind != KindHTTP {
			continue
		}
		for _, b := range defs[i+1:] {
			if b.Kind != KindHTTP || !strings.EqualFold(a.Route(), b.Route()) {
				continue
			}
			if shared := intersectMethods(a.Methods(), b.Methods()); shared != "" {
				problems = append(problems, Problem{
					Path:    b.Path,
					Field:   "bindings.route",
					Message: fmt.Sprintf("route %q (%s) conflicts with function %s (%s)", b.Route(), shared, a.Name, a.Path),
				})
			}
		}
	}
	return problems
}

// duplicateNames reports function names that differ only in case: the
// Functions host treats names case-insensitively.
func duplicateNames(defs []*Definition) []Problem {
	var problems []Problem
	seen := map[string]*Definition{}
	for _, d := range defs {
		key := strings.ToLower(d.Name)
		if first := seen[key]; first != nil {
			problems = append(problems, Problem{Path: d.Path, Message: fmt.Sprintf(
				"function name %q differs from %q (%s) only in case; function names must be unique", d.Name, first.Name, first.Path)})
			continue
		}
		seen[key] = d
	}
	return problems
}

// intersectMethods describes the methods both sets allow ("" = none).
func intersectMethods(a, b []string) string {
	switch {
	case a == nil && b == nil:
		return "all methods"
	case a == nil:
		return strings.Join(b, ",")
	case b == nil:
		return strings.Join(a, ",")
	}
	var shared []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				shared = append(shared, x)
			}
		}
	}
	return strings.Join(shared, ",")
}
