// Package env exercises the environment rule.
package env

import (
	"os"

	"github.com/funchost/funchost/bindings"
)

func Env(ctx bindings.OrchestrationContext) (any, error) {
	_ = os.Getenv("HOME")       // want `^Env → os\.Getenv: orchestrator code must not read the process environment; pass the value in the orchestration input or read it in an activity$`
	_, _ = os.LookupEnv("HOME") // want `^Env → os\.LookupEnv: `
	_ = os.Environ()            // want `^Env → os\.Environ: `
	_, _ = os.Hostname()        // want `^Env → os\.Hostname: `
	_ = os.ExpandEnv("$HOME")   // want `^Env → os\.ExpandEnv: `
	_ = len(os.Args)            // want `^Env → os\.Args: `
	var in struct{ Home string }
	if err := ctx.Input(&in); err != nil { // the input is the right place
		return nil, err
	}
	return in.Home, nil
}
