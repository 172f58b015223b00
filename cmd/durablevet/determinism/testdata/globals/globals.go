// Package globals exercises the package-level-variable rule.
package globals

import (
	"net/http"

	"github.com/funchost/funchost/bindings"
)

var (
	counter int
	cache   = map[string]string{}
	config  struct{ N int }
	items   = []string{"a"}
	ptr     = new(int)
	limit   = 10
)

func Globals(ctx bindings.OrchestrationContext) (any, error) {
	counter++                                  // want `^Globals → write to package-level variable counter: orchestrator code must not write package-level variables \(they outlive a replay and are shared by all instances\); keep state in local variables, the input, or ctx\.ContinueAsNew$`
	counter = 5                                // want `^Globals → write to package-level variable counter: `
	counter += 2                               // want `^Globals → write to package-level variable counter: `
	cache["k"] = "v"                           // want `^Globals → write to package-level variable cache: `
	delete(cache, "k")                         // want `^Globals → write to package-level variable cache: `
	config.N = 3                               // want `^Globals → write to package-level variable config: `
	items[0] = "b"                             // want `^Globals → write to package-level variable items: `
	*ptr = 1                                   // want `^Globals → write to package-level variable ptr: `
	if err := ctx.Input(&config); err != nil { // want `^Globals → address of package-level variable config: `
		return nil, err
	}
	http.DefaultServeMux = nil // want `^Globals → write to package-level variable DefaultServeMux: `

	// Reading package-level state and writing locals is fine.
	n := counter + limit
	n++
	local := map[string]string{}
	local["k"] = cache["k"]
	var in struct{ N int }
	if err := ctx.Input(&in); err != nil { // decoding into a local is fine
		return nil, err
	}
	counter := 1 // a local shadowing the global
	counter++
	return n + counter, nil
}
