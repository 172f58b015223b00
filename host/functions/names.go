package functions

import (
	"fmt"
	"regexp"
	"strings"
)

// The Functions host's name rules: a function name starts with a letter and
// holds letters, digits, '_' and '-' (at most 128 characters, any case,
// not "host"); a binding name starts with a letter and holds letters and
// digits (at most 128), or is "$return".
var (
	functionNameRE = regexp.MustCompile(`(?i)^[a-z][a-z0-9_\-]{0,127}$`)
	bindingNameRE  = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$`)
)

// CheckFunctionName returns the host's error for an invalid function name.
func CheckFunctionName(name string) error {
	if !functionNameRE.MatchString(name) || strings.EqualFold(name, "host") {
		return fmt.Errorf("'%s' is not a valid function name.", name)
	}
	return nil
}

// CheckBindingName returns the host's error for an invalid binding name.
func CheckBindingName(name string) error {
	if !bindingNameRE.MatchString(name) {
		return fmt.Errorf("The binding name %s is invalid. Please assign a valid name to the binding.", name)
	}
	return nil
}
