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

// Discover reads every <scriptRoot>/functions/<Name>/function.json. It
// returns the valid definitions sorted by name and, separately, the
// functions in error, each with its problems: as in the Functions host one
// broken function does not stop the others. A missing functions folder is
// an error.
func Discover(scriptRoot string) ([]*Definition, []*Broken, error) {
	dir := filepath.Join(scriptRoot, "functions")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no functions folder: %s does not exist (is --script-root the app folder?)", dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var defs []*Definition
	var broken []*Broken
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
			broken = append(broken, &Broken{Name: e.Name(), Path: path, Problems: []Problem{{Path: path, Message: err.Error()}}})
			continue
		}
		def, b := Parse(e.Name(), path, data)
		if b != nil {
			broken = append(broken, b)
			continue
		}
		defs = append(defs, def)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	defs, broken = dropConflicts(defs, broken)
	if len(defs) == 0 && len(broken) == 0 {
		return nil, nil, fmt.Errorf("no functions found: %s holds no <Name>/function.json", dir)
	}
	sort.Slice(broken, func(i, j int) bool { return broken[i].Name < broken[j].Name })
	return defs, broken, nil
}

// dropConflicts moves functions whose name differs from an earlier one's
// only in case, or whose route conflicts with an earlier one's, to the
// functions in error.
func dropConflicts(defs []*Definition, broken []*Broken) ([]*Definition, []*Broken) {
	bad := map[*Definition][]Problem{}
	for _, p := range append(duplicateNames(defs), routeConflicts(defs)...) {
		for _, d := range defs {
			if d.Path == p.Path {
				bad[d] = append(bad[d], p)
			}
		}
	}
	var kept []*Definition
	for _, d := range defs {
		if ps := bad[d]; ps != nil {
			broken = append(broken, &Broken{Name: d.Name, Path: d.Path, Config: d.Config, Trigger: triggerType(d), Problems: ps})
			continue
		}
		kept = append(kept, d)
	}
	return kept, broken
}

func triggerType(d *Definition) string {
	if d.Trigger == nil {
		return ""
	}
	return d.Trigger.Type
}

// fileShape is function.json as written.
type fileShape struct {
	Bindings []json.RawMessage `json:"bindings"`
	Disabled any               `json:"disabled"`
}

// Parse validates one function.json. It returns the definition, or the
// function in error with every problem found (messages in the Functions
// host's words where it has them, each naming the file and field).
func Parse(name, path string, data []byte) (*Definition, *Broken) {
	broken := &Broken{Name: name, Path: path}
	add := func(field, format string, args ...any) {
		broken.Problems = append(broken.Problems, Problem{Path: path, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if err := CheckFunctionName(name); err != nil {
		add("", "%v", err)
	}
	var f fileShape
	if err := jsonpos.Unmarshal(data, &f); err != nil {
		add("", "%v", err)
		return nil, broken
	}
	var raw any
	_ = jsonpos.Unmarshal(data, &raw)
	broken.Config, _ = json.Marshal(raw)
	def := &Definition{Name: name, Path: path, Config: broken.Config}
	if d, ok := Flag(f.Disabled, false); ok {
		def.LegacyDisabled = d
	} else {
		add("disabled", "must be true or false")
	}
	if len(f.Bindings) == 0 {
		add("bindings", "At least one binding must be declared.")
		return nil, broken
	}
	def.Bindings = parseBindings(f.Bindings, add)
	var triggers []*Binding
	for i := range def.Bindings {
		if bt := lookupBindingType(def.Bindings[i].Type); bt != nil && bt.kind != 0 {
			triggers = append(triggers, &def.Bindings[i])
			def.Kind, def.Trigger = bt.kind, &def.Bindings[i]
		} else if bt == nil && strings.HasSuffix(strings.ToLower(def.Bindings[i].Type), "trigger") {
			triggers = append(triggers, &def.Bindings[i])
			broken.Trigger = def.Bindings[i].Type
		}
	}
	switch len(triggers) {
	case 0:
		add("bindings", "No trigger binding specified. A function must have a trigger input binding.")
	case 1:
		if def.Trigger != nil {
			broken.Trigger = def.Trigger.Type
		}
	default:
		add("bindings", "Multiple trigger bindings defined. A function can only have a single trigger binding.")
	}
	if len(broken.Problems) > 0 {
		return nil, broken
	}
	return def, nil
}

// parseBindings decodes and checks each binding; unknown types are
// reported once, together, as the Functions host does.
func parseBindings(raws []json.RawMessage, add addFunc) []Binding {
	var out []Binding
	var unknown []string
	seen := map[string]bool{}
	for i, raw := range raws {
		field := fmt.Sprintf("bindings[%d]", i)
		var b Binding
		if err := json.Unmarshal(raw, &b); err != nil {
			add(field, "invalid binding: %v", err)
			continue
		}
		switch err := CheckBindingName(b.Name); {
		case b.Name == "":
			add(field+".name", "is required")
		case err != nil:
			add(field+".name", "%v", err)
		case seen[strings.ToLower(b.Name)]:
			add(field+".name", "Multiple bindings with name '%s' discovered. Binding names must be unique.", b.Name)
		}
		seen[strings.ToLower(b.Name)] = true
		dir := strings.ToLower(b.Direction)
		switch dir {
		case "":
			add(field+".direction", "is required")
		case "in", "out", "inout":
		default:
			add(field+".direction", "'%s' is not a valid binding direction.", b.Direction)
		}
		bt := lookupBindingType(b.Type)
		switch {
		case b.Type == "":
			add(field+".type", "Binding '%s' is invalid. Bindings must specify a Type.", b.Name)
		case bt == nil:
			unknown = append(unknown, b.Type)
		default:
			b.Type = bt.name
			if bt.dir != "" && dir != "" && dir != bt.dir {
				add(field+".direction", "a %s binding must have direction %q, got %q", b.Type, bt.dir, b.Direction)
			}
			if bt.check != nil {
				bt.check(&b, field, add)
			}
		}
		out = append(out, b)
	}
	if len(unknown) > 0 {
		add("bindings", "%s", notRegistered(unknown))
	}
	return out
}
