package functions

import (
	"strings"
	"testing"
)

func TestNameRules(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"HttpStart": true, "E1_HelloSequence": true, "my-func": true, "a": true, strings.Repeat("a", 128): true,
		"1st": false, "_x": false, "has space": false, "dot.name": false, "host": false, "HOST": false, strings.Repeat("a", 129): false, "": false,
	} {
		if err := CheckFunctionName(name); (err == nil) != ok {
			t.Errorf("CheckFunctionName(%q) = %v", name, err)
		} else if err != nil && err.Error() != "'"+name+"' is not a valid function name." {
			t.Errorf("message %q", err)
		}
	}
	for name, ok := range map[string]bool{
		"req": true, "starter": true, "$return": true, "myTimer2": true,
		"my_timer": false, "2x": false, "$ret": false, "with-dash": false, "": false,
	} {
		if err := CheckBindingName(name); (err == nil) != ok {
			t.Errorf("CheckBindingName(%q) = %v", name, err)
		}
	}
}
