package routetemplate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Check is a value constraint: ASP.NET's minlength, maxlength, length, min,
// max, range and regex. chi matches the path first; a value that fails a
// check makes the route not match (404), as in ASP.NET.
type Check struct {
	// Text is the constraint as written, e.g. "range(1,10)".
	Text string
	ok   func(string) bool
}

// Accepts reports whether v satisfies the check.
func (c Check) Accepts(v string) bool { return c.ok(v) }

// valueCheck parses a constraint with arguments; ok=false when c is not one.
func valueCheck(c string) (Check, bool, error) {
	open := strings.IndexByte(c, '(')
	if open < 0 || !strings.HasSuffix(c, ")") {
		return Check{}, false, nil
	}
	name, arg := strings.ToLower(c[:open]), c[open+1:len(c)-1]
	ints := func(n int) ([]int64, error) {
		parts := strings.Split(arg, ",")
		if len(parts) != n {
			return nil, fmt.Errorf("constraint %q takes %d argument(s)", c, n)
		}
		out := make([]int64, n)
		for i, p := range parts {
			v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("constraint %q: %q is not an integer", c, p)
			}
			out[i] = v
		}
		return out, nil
	}
	length := func(v string) int64 { return int64(utf8.RuneCountInString(v)) }
	number := func(v string, test func(int64) bool) bool {
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && test(n)
	}
	var ok func(string) bool
	switch name {
	case "minlength", "maxlength", "min", "max":
		a, err := ints(1)
		if err != nil {
			return Check{}, true, err
		}
		n := a[0]
		ok = map[string]func(string) bool{
			"minlength": func(v string) bool { return length(v) >= n },
			"maxlength": func(v string) bool { return length(v) <= n },
			"min":       func(v string) bool { return number(v, func(x int64) bool { return x >= n }) },
			"max":       func(v string) bool { return number(v, func(x int64) bool { return x <= n }) },
		}[name]
	case "length":
		a, err := ints(strings.Count(arg, ",") + 1)
		if err != nil || len(a) > 2 {
			return Check{}, true, fmt.Errorf("constraint %q takes length(n) or length(min,max)", c)
		}
		lo, hi := a[0], a[len(a)-1]
		ok = func(v string) bool { return length(v) >= lo && length(v) <= hi }
	case "range":
		a, err := ints(2)
		if err != nil {
			return Check{}, true, err
		}
		ok = func(v string) bool { return number(v, func(x int64) bool { return x >= a[0] && x <= a[1] }) }
	case "regex":
		// ASP.NET matches case-insensitively and unanchored; templates
		// double '{' and '}' inside the expression.
		expr := strings.NewReplacer("{{", "{", "}}", "}").Replace(arg)
		re, err := regexp.Compile("(?i)" + expr)
		if err != nil {
			return Check{}, true, fmt.Errorf("constraint %q: %v", c, err)
		}
		ok = re.MatchString
	default:
		return Check{}, false, nil
	}
	return Check{Text: c, ok: ok}, true, nil
}

// indexOutsideParens returns the index of the first b outside
// parentheses, or -1.
func indexOutsideParens(s string, b byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case b:
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitConstraints splits "int:range(1,10):regex(a:b)" at the colons that
// are outside parentheses.
func splitConstraints(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ':':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// Accepts reports whether route values satisfy every value constraint of
// the template (absent optional values are not checked).
func (t *Template) Accepts(values map[string]string) bool {
	for _, p := range t.Params() {
		v, present := values[p.Name]
		if !present {
			continue
		}
		for _, c := range p.Checks {
			if !c.Accepts(v) {
				return false
			}
		}
	}
	return true
}
