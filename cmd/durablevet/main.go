// Command durablevet checks funchost orchestrator code for non-determinism:
// the things that make a replayed orchestrator take a different path than
// the one its history records.
//
// Usage, standalone (from the module root):
//
//	go run ./cmd/durablevet ./...
//
// or as a vet tool:
//
//	go build -o /tmp/durablevet ./cmd/durablevet
//	go vet -vettool=/tmp/durablevet ./...
//
// It prints file:line:col: message for each finding and exits with a
// non-zero status (3) when there are findings, 1 when the packages cannot
// be loaded.
//
// Orchestrator code is every function or function literal whose first
// parameter is a bindings.OrchestrationContext (the bindings.Orchestrator
// shape, functions given to bindings.TypedOrchestrator, and the handlers
// registered as orchestrators), plus what it reaches in the same module:
// the helpers it calls (followed across packages), the implementations of
// the module's interfaces it calls through, and the initialisers of the
// package-level variables it reads. Findings are reported at the call (or
// read) inside the orchestrator, with the chain:
//
//	HelloSequence → formatGreeting → time.Now: orchestrator code must not read the clock; use ctx.CurrentUTCDateTime()
//	Service.Run → Store.Save → blobStore.Save → azblob.Client.UploadBuffer: orchestrator code must not call network, storage or database clients; do it in an activity (ctx.CallActivity)
//	Orchestrate → var region → os.Getenv: orchestrator code must not read the process or machine environment ...
//
// What is reported, and the alternative each message names:
//
//   - the clock and Go timers (time.Now, Since, Until, Sleep, After,
//     AfterFunc, Tick, NewTimer, NewTicker, context.WithTimeout and
//     WithDeadline): ctx.CurrentUTCDateTime() and ctx.CreateTimer;
//   - random numbers and GUIDs (math/rand, math/rand/v2 except the seeded
//     constructors, crypto/rand, uuid New* generators), and package-level
//     generators shared by all instances: ctx.NewGUID() or an activity;
//   - the process and machine environment (os.Getenv, LookupEnv, Environ,
//     Hostname, Getpid, runtime.NumCPU, GOMAXPROCS, os/user, time zones,
//     ...): the input or an activity;
//   - I/O: os file and process calls, os/exec, io/ioutil, net, net/http
//     clients and servers, database/sql, bindings.DurableClient methods,
//     every function and method of the well-known client packages (Azure
//     SDK, AWS, Google Cloud, gRPC, Redis, SQL drivers, message brokers;
//     see docs/durablevet.md), of the packages given with -io-packages, and
//     of code marked //durablevet:io: activities (or ctx.CallSubOrchestrator
//     / ctx.SendEvent);
//   - printing: fmt.Print*, log.*, the log/slog package functions (and
//     slog.Default()), os.Stdout, print/println. They are I/O that repeats
//     on every replay; use ctx.Logger(), which is silent while replaying;
//   - concurrency: go statements and the libraries that start goroutines
//     (errgroup.Group.Go, sync.WaitGroup.Go, conc, worker pools), channel
//     sends, receives, close, range over a channel, select, and sync /
//     sync/atomic: ctx.WhenAll / ctx.WhenAny;
//   - writes to package-level variables (and their fields and elements),
//     taking their address (&state), and reads of package-level variables
//     whose initialiser is non-deterministic;
//   - range over a map, or over maps.Keys/Values/All (Go randomises the
//     order), and slices of a map's keys or values (slices.Collect(
//     maps.Keys(m))) used unsorted: range over sorted keys. Bodies whose
//     result does not depend on the order are allowed (counting, integer
//     sums, min/max, any/all, filling maps and sets), and so are slices
//     that the function, or its caller, sorts;
//   - unbounded loops (for {} or for cond {} whose condition is not stepped
//     in the body) that schedule work without calling ctx.ContinueAsNew.
//
// The context's own APIs (ctx.CurrentUTCDateTime, ctx.NewGUID,
// ctx.CreateTimer, bindings.Await, bindings.CallActivity, ...) are never
// reported, nor are activities, HTTP handlers and other ordinary code.
//
// The -io-packages=a,b flag adds import paths (and the packages below them)
// to the I/O list. A //durablevet:io comment in the doc comment of a
// function, a type, an interface method or the package clause marks that
// code as I/O.
//
// # Suppressing a finding
//
// A //durablevet:ignore comment, optionally followed by a reason, silences
// the findings of its own line when it ends the line, or of the next line
// when it stands alone:
//
//	start := time.Now() //durablevet:ignore only logged, never decides anything
//
//	//durablevet:ignore the seed is fixed, so the sequence is too
//	n := r.Intn(10)
//
// In a helper, the comment also stops that finding from reaching the
// orchestrators that call the helper; on a call inside an orchestrator, it
// silences everything reported at that call.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/funchost/funchost/cmd/durablevet/determinism"
)

func main() { singlechecker.Main(determinism.Analyzer) }
