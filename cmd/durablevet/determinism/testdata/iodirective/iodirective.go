// Package iodirective exercises the //durablevet:io directive on a
// function, a type and a package.
package iodirective

import (
	"example.com/dvtest/iodirective/remote"
	"github.com/funchost/funchost/bindings"
)

// saveReport writes through a client durablevet does not know.
//
//durablevet:io writes to the reporting service
func saveReport(s string) error { return nil }

// Ledger's methods all talk to the ledger service.
//
//durablevet:io
type Ledger struct{}

func (Ledger) Post(n int) error { return nil }

func (Ledger) Balance() int { return 0 }

// pure is not marked.
func pure(s string) string { return s + "!" }

//durablevet:iolike is not the directive
func notMarked() error { return nil }

func report() error { return saveReport("r") }

func Orchestrate(ctx bindings.OrchestrationContext) (any, error) {
	_ = saveReport("x") // want `^Orchestrate → iodirective\.saveReport: orchestrator code must not call code marked //durablevet:io \(it does I/O\); do it in an activity \(ctx\.CallActivity\)$`
	var l Ledger
	_ = l.Post(1)            // want `^Orchestrate → iodirective\.Ledger\.Post: `
	_ = l.Balance()          // want `^Orchestrate → iodirective\.Ledger\.Balance: `
	_ = report()             // want `^Orchestrate → report → iodirective\.saveReport: `
	_ = remote.Call()        // want `^Orchestrate → remote\.Call: `
	_ = remote.Client{}.Do() // want `^Orchestrate → remote\.Client\.Do: `
	_ = pure("x")
	_ = notMarked()
	_ = saveReport("y") //durablevet:ignore the report service is idempotent
	return nil, nil
}

// Activity may do I/O.
func Activity(ctx bindings.ActivityContext) (any, error) {
	return nil, saveReport("a")
}
