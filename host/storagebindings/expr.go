// Package storagebindings implements the Azure Storage input and output
// bindings of function.json: queue output (messages sent when the function
// succeeds) and blob input/output (read before the function runs, written
// when it succeeds), with binding expressions in paths ({queueTrigger},
// trigger metadata, route values, {rand-guid}, {DateTime}). The author API
// over them is in package bindings; docs/triggers.md describes them.
package storagebindings

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Data is the binding data of one invocation: trigger metadata
// (QueueTrigger, Id, DequeueCount, …), route values and the top-level
// properties of a JSON trigger payload. Names match case-insensitively.
type Data map[string]string

func (d Data) lookup(name string) (string, bool) {
	if v, ok := d[name]; ok {
		return v, true
	}
	for k, v := range d {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Expand replaces the {name} expressions of a binding path with binding
// data. {rand-guid} is a new GUID and {DateTime} the current UTC time
// ("yyyy-MM-ddTHH-mm-ssZ"), as in the Functions host. A name without a
// value is an error naming it; '{' and '}' must pair up.
func Expand(template string, data Data) (string, error) {
	var b strings.Builder
	rest := template
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		if rest[i] == '}' {
			return "", fmt.Errorf("invalid binding expression %q: '}' without '{'", template)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("invalid binding expression %q: '{' without '}'", template)
		}
		name := strings.TrimSpace(rest[i+1 : i+j])
		b.WriteString(rest[:i])
		switch {
		case name == "":
			return "", fmt.Errorf("invalid binding expression %q: empty {}", template)
		case strings.EqualFold(name, "rand-guid"):
			b.WriteString(uuid.NewString())
		case strings.EqualFold(name, "DateTime"):
			b.WriteString(time.Now().UTC().Format("2006-01-02T15-04-05Z"))
		default:
			v, ok := data.lookup(name)
			if !ok {
				return "", fmt.Errorf("No value for named parameter '%s'.", name)
			}
			b.WriteString(v)
		}
		rest = rest[i+j+1:]
	}
}

// SplitBlobPath splits "container/path/to/blob" and checks the container
// name (3–63 lower-case letters, digits and single hyphens).
func SplitBlobPath(path string) (container, blob string, err error) {
	container, blob, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || blob == "" {
		return "", "", fmt.Errorf("invalid blob path %q: want container/blob", path)
	}
	if err := validContainer(container); err != nil {
		return "", "", err
	}
	return container, blob, nil
}

func validContainer(name string) error {
	if name == "$root" || name == "$web" {
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("invalid container name %q: must be 3 to 63 characters long", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return fmt.Errorf("invalid container name %q: lower-case letters, digits and single inner hyphens only", name)
		}
	}
	return nil
}
