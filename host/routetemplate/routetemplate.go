// Package routetemplate translates ASP.NET Core route templates, the syntax
// of function.json's "route", into chi patterns.
//
// Supported: literal segments; parameters {name}; optional parameters
// {name?} and defaults {name=value} (only in trailing segments, as in
// ASP.NET); catch-all {*rest} / {**rest} (last segment, implicitly
// optional); the type constraints int, long, alpha, bool, guid, decimal,
// double and float (one per parameter), required, and the value
// constraints minlength(n), maxlength(n), length(n) / length(min,max),
// min(n), max(n), range(min,max) and regex(expr) (case-insensitive,
// unanchored, braces doubled as in ASP.NET). The datetime constraint and
// segments mixing text and parameters ("{a}.{b}") are rejected with an
// error, so an app never runs with a route that matches differently than
// it would on Azure Functions.
//
// Literal segments match case-insensitively, as in ASP.NET: the HTTP server
// registers FoldedChiPatterns on a second router for lower-cased paths, and
// reads parameter values from the original path with Values.
package routetemplate

import (
	"fmt"
	"net/url"
	"strings"
)

// Segment is one path segment of a template.
type Segment struct {
	// Literal is the text of a literal segment ("" for a parameter).
	Literal string
	// Param is set for a parameter segment.
	Param *Param
}

// Param is a route parameter.
type Param struct {
	Name       string
	Optional   bool
	Default    string
	HasDefault bool
	CatchAll   bool
	// Regexp is the chi regular expression implementing the constraint
	// ("" = any segment).
	Regexp string
	// Constraint is the constraint as written (e.g. "int").
	Constraint string
	// Checks are the value constraints, tested after chi matched.
	Checks []Check
}

// Template is a parsed route template.
type Template struct {
	Text     string
	Segments []Segment
}

// constraintRegexps maps supported type constraints to chi regexps. They
// are matched against one whole path segment.
var constraintRegexps = map[string]string{
	"int":     `-?[0-9]+`,
	"long":    `-?[0-9]+`,
	"alpha":   `[A-Za-z]+`,
	"bool":    `(?i:true|false)`,
	"guid":    `(?:[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12})`,
	"decimal": `-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)`,
	"double":  `-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`,
	"float":   `-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`,
}

// Parse parses an ASP.NET route template (leading/trailing slashes ignored).
func Parse(text string) (*Template, error) {
	t := &Template{Text: text}
	trimmed := strings.Trim(strings.TrimSpace(text), "/")
	if trimmed == "" {
		return t, nil
	}
	seen := map[string]bool{}
	parts := strings.Split(trimmed, "/")
	optionalSeen := false
	for i, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("route %q has an empty segment", text)
		}
		if !strings.Contains(part, "{") && !strings.Contains(part, "}") {
			if strings.ContainsAny(part, "*?") {
				return nil, fmt.Errorf("route %q: literal segment %q may not contain '*' or '?'", text, part)
			}
			if optionalSeen {
				return nil, fmt.Errorf("route %q: segment %q follows an optional parameter; optional parameters must come last", text, part)
			}
			t.Segments = append(t.Segments, Segment{Literal: part})
			continue
		}
		if !isParamSegment(part) {
			return nil, fmt.Errorf("route %q: segment %q mixes text and parameters, which funchost does not support", text, part)
		}
		p, err := parseParam(part[1 : len(part)-1])
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", text, err)
		}
		key := strings.ToLower(p.Name)
		if seen[key] {
			return nil, fmt.Errorf("route %q: parameter %q appears twice", text, p.Name)
		}
		seen[key] = true
		if p.CatchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("route %q: catch-all parameter {*%s} must be the last segment", text, p.Name)
		}
		if optionalSeen && !p.Optional && !p.HasDefault && !p.CatchAll {
			return nil, fmt.Errorf("route %q: parameter %q follows an optional parameter; optional parameters must come last", text, p.Name)
		}
		if p.Optional || p.HasDefault || p.CatchAll {
			optionalSeen = true
		}
		t.Segments = append(t.Segments, Segment{Param: p})
	}
	return t, nil
}

// isParamSegment reports whether a segment is exactly one parameter: it
// starts with '{', ends with '}', and any other braces are the doubled
// ones of a regex constraint.
func isParamSegment(part string) bool {
	if len(part) < 2 || part[0] != '{' || part[len(part)-1] != '}' {
		return false
	}
	inner := strings.NewReplacer("{{", "", "}}", "").Replace(part[1 : len(part)-1])
	return !strings.ContainsAny(inner, "{}")
}

func parseParam(body string) (*Param, error) {
	p := &Param{}
	switch {
	case strings.HasPrefix(body, "**"):
		p.CatchAll, body = true, body[2:]
	case strings.HasPrefix(body, "*"):
		p.CatchAll, body = true, body[1:]
	}
	if i := indexOutsideParens(body, '='); i >= 0 {
		p.HasDefault, p.Default, body = true, body[i+1:], body[:i]
	}
	if strings.HasSuffix(body, "?") {
		p.Optional, body = true, strings.TrimSuffix(body, "?")
	}
	name, constraints, _ := strings.Cut(body, ":")
	if name == "" || strings.ContainsAny(name, "{}/?*=:") {
		return nil, fmt.Errorf("invalid parameter name %q", name)
	}
	p.Name = name
	if constraints == "" {
		return p, nil
	}
	p.Constraint = constraints
	for _, c := range splitConstraints(constraints) {
		lc := strings.ToLower(c)
		if lc == "required" {
			continue
		}
		if chk, isValue, err := valueCheck(c); isValue {
			if err != nil {
				return nil, fmt.Errorf("parameter %q: %w", name, err)
			}
			if p.CatchAll {
				return nil, fmt.Errorf("parameter %q: a catch-all parameter cannot have a constraint", name)
			}
			p.Checks = append(p.Checks, chk)
			continue
		}
		re, ok := constraintRegexps[lc]
		if !ok {
			return nil, fmt.Errorf("parameter %q: unsupported constraint %q (funchost supports int, long, alpha, bool, guid, decimal, double, float, required, minlength, maxlength, length, min, max, range, regex)", name, c)
		}
		if p.Regexp != "" {
			return nil, fmt.Errorf("parameter %q: only one type constraint per parameter is supported, got %q", name, constraints)
		}
		if p.CatchAll {
			return nil, fmt.Errorf("parameter %q: a catch-all parameter cannot have a constraint", name)
		}
		p.Regexp = re
	}
	return p, nil
}

// Params returns the template's parameters in order.
func (t *Template) Params() []*Param {
	var out []*Param
	for _, s := range t.Segments {
		if s.Param != nil {
			out = append(out, s.Param)
		}
	}
	return out
}

// ChiPatterns returns the chi patterns that together match the template
// below prefix (e.g. "api", "" for none): one for the required part plus
// one more per trailing optional segment. A catch-all parameter is chi's
// "*" (read with chi.URLParam(r, "*")).
func (t *Template) ChiPatterns(prefix string) []string { return t.chiPatterns(prefix, false) }

// FoldedChiPatterns is ChiPatterns with the prefix and literal segments in
// lower case, for matching a lower-cased path: ASP.NET matches literals
// case-insensitively.
func (t *Template) FoldedChiPatterns(prefix string) []string { return t.chiPatterns(prefix, true) }

func (t *Template) chiPatterns(prefix string, fold bool) []string {
	lit := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	base := ""
	if p := strings.Trim(prefix, "/"); p != "" {
		base = "/" + lit(p)
	}
	var out []string
	cur := base
	emitted := false
	for _, s := range t.Segments {
		if s.Param != nil && (s.Param.Optional || s.Param.HasDefault || s.Param.CatchAll) && !emitted {
			out = append(out, orRoot(cur))
			emitted = true
		}
		switch {
		case s.Param == nil:
			cur += "/" + lit(s.Literal)
		case s.Param.CatchAll:
			cur += "/*"
		case s.Param.Regexp != "":
			cur += "/{" + s.Param.Name + ":" + s.Param.Regexp + "}"
		default:
			cur += "/{" + s.Param.Name + "}"
		}
		if emitted {
			out = append(out, cur)
		}
	}
	if !emitted {
		out = append(out, orRoot(cur))
	}
	return out
}

// Values extracts the parameter values from a path the template matched
// (below prefix), by segment position: escapedPath is the request's
// URL.EscapedPath(); values are unescaped. Absent optional parameters are
// missing from the result unless they have a default; an empty catch-all
// is absent.
func (t *Template) Values(prefix, escapedPath string) map[string]string {
	vals := map[string]string{}
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	skip := 0
	if p := strings.Trim(prefix, "/"); p != "" {
		skip = len(strings.Split(p, "/"))
	}
	if skip > len(segs) {
		skip = len(segs)
	}
	segs = segs[skip:]
	for i, s := range t.Segments {
		p := s.Param
		if p == nil {
			continue
		}
		raw := ""
		switch {
		case p.CatchAll && i < len(segs):
			raw = strings.Join(segs[i:], "/")
		case i < len(segs):
			raw = segs[i]
		}
		v := raw
		if un, err := url.PathUnescape(raw); err == nil {
			v = un
		}
		switch {
		case v != "":
			vals[p.Name] = v
		case p.HasDefault:
			vals[p.Name] = p.Default
		}
	}
	return vals
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
