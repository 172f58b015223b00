// Package settingref resolves app-setting references in binding
// properties: "%Name%" is replaced by the value of the setting Name, as the
// Functions host does for schedules, queue names and blob paths.
package settingref

import (
	"fmt"
	"strings"
)

// Resolve replaces every %Name% in s with the setting's value. "%%" is not
// an escape; a lone '%' without a closing one is kept as written. A
// reference to a missing or empty setting is an error with the host's text.
func Resolve(s string, lookup func(key string) (string, bool)) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i+1:], '%')
		if j < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		name := rest[i+1 : i+1+j]
		b.WriteString(rest[:i])
		if name == "" {
			b.WriteString("%%")
		} else {
			v, ok := lookup(name)
			if !ok || v == "" {
				return "", fmt.Errorf("'%%%s%%' does not resolve to a value.", name)
			}
			b.WriteString(v)
		}
		rest = rest[i+j+2:]
	}
}
