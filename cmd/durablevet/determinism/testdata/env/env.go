// Package env exercises the environment rule.
package env

import (
	"os"
	"os/user"
	"runtime"
	"time"

	"github.com/funchost/funchost/bindings"
)

func Env(ctx bindings.OrchestrationContext) (any, error) {
	_ = os.Getenv("HOME")       // want `^Env → os\.Getenv: orchestrator code must not read the process or machine environment \(it can differ when the orchestration is replayed\); pass the value in the orchestration input or read it in an activity$`
	_, _ = os.LookupEnv("HOME") // want `^Env → os\.LookupEnv: `
	_ = os.Environ()            // want `^Env → os\.Environ: `
	_, _ = os.Hostname()        // want `^Env → os\.Hostname: `
	_ = os.ExpandEnv("$HOME")   // want `^Env → os\.ExpandEnv: `
	_ = len(os.Args)            // want `^Env → os\.Args: `

	// The machine and the binary differ between hosts and deployments.
	_ = runtime.NumCPU()              // want `^Env → runtime\.NumCPU: orchestrator code must not read the process or machine environment`
	_ = runtime.GOMAXPROCS(0)         // want `^Env → runtime\.GOMAXPROCS: `
	_ = runtime.NumGoroutine()        // want `^Env → runtime\.NumGoroutine: `
	_ = runtime.Version()             // want `^Env → runtime\.Version: `
	_ = os.Getpid()                   // want `^Env → os\.Getpid: `
	_ = os.Getpagesize()              // want `^Env → os\.Getpagesize: `
	_, _ = user.Current()             // want `^Env → user\.Current: `
	_, _ = time.LoadLocation("Local") // want `^Env → time\.LoadLocation: `
	t := ctx.CurrentUTCDateTime()
	_ = t.In(time.Local) // want `^Env → time\.Local: `
	_ = t.Local()        // want `^Env → time\.Time\.Local: `
	_ = t.In(time.UTC)   // a fixed zone is fine
	_ = runtime.GOOS     // a constant of the build
	var in struct{ Home string }
	if err := ctx.Input(&in); err != nil { // the input is the right place
		return nil, err
	}
	return in.Home, nil
}
