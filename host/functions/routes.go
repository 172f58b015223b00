package functions

import (
	"fmt"
	"strings"
)

var knownMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true, "TRACE": true,
}

func checkHTTPTrigger(b *Binding, field string, add addFunc) {
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
