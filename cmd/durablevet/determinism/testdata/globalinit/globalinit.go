// Package globalinit exercises package-level variables whose initialiser
// is non-deterministic, read by orchestrator code.
package globalinit

import (
	"fmt"
	"log"
	"log/slog"
	"maps"
	"math/rand"
	rand2 "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"example.com/dvtest/globalinit/settings"
	"github.com/funchost/funchost/bindings"
)

var (
	region   = os.Getenv("REGION")
	started  = time.Now()
	cpus     = runtime.NumCPU()
	rng      = rand.New(rand.NewSource(42))
	pcg      = rand2.New(rand2.NewPCG(1, 2))
	config   = sync.OnceValue(func() string { return os.Getenv("CONFIG") })
	settled  = loadSettings()
	derived  = region + "-x"
	keys     = slices.Collect(maps.Keys(map[string]int{"a": 1}))
	stamp    = func() string { return time.Now().String() }
	printer  = func() { fmt.Println("x") }
	once     = sync.OnceValue(func() int { fmt.Println("once per process"); return 1 })
	banner   = fmt.Sprintf("v%d", 1)
	names    = []string{"a"}
	sorted   = slices.Sorted(maps.Keys(map[string]int{"a": 1}))
	local    = func() int { return rand.New(rand.NewSource(1)).Intn(3) } // a generator per call
	logger   = log.New(os.Stderr, "app: ", 0)
	slogger  = slog.Default()
	fromInit string
)

func init() {
	fromInit = os.Getenv("FROM_INIT")
}

func loadSettings() []byte {
	b, _ := os.ReadFile("settings.json")
	fmt.Println("loaded") // printing while initialising happens once
	return b
}

func Orchestrate(ctx bindings.OrchestrationContext) (any, error) {
	_ = region          // want `^Orchestrate → var region → os\.Getenv: orchestrator code must not read the process or machine environment`
	_ = started         // want `^Orchestrate → var started → time\.Now: orchestrator code must not read the clock; use ctx\.CurrentUTCDateTime\(\)$`
	_ = cpus            // want `^Orchestrate → var cpus → runtime\.NumCPU: `
	_ = rng.Intn(3)     // want `^Orchestrate → var rng → rand\.New: a package-level random generator is shared by every instance and keeps advancing across replays; seed a local generator from the input or ctx\.NewGUID\(\), or get the value from an activity$`
	_ = pcg.IntN(3)     // want `^Orchestrate → var pcg → rand\.New: `
	_ = config()        // want `^Orchestrate → var config → os\.Getenv: `
	_ = settled         // want `^Orchestrate → var settled → loadSettings → os\.ReadFile: orchestrator code must not do file or process I/O`
	_ = derived         // want `^Orchestrate → var derived → var region → os\.Getenv: `
	_ = keys            // want `^Orchestrate → var keys → slices\.Collect\(maps\.Keys\): the slice comes in Go's random map order`
	_ = stamp()         // want `^Orchestrate → var stamp → time\.Now: `
	printer()           // want `^Orchestrate → var printer → fmt\.Println: `
	_ = fromInit        // want `^Orchestrate → var fromInit → os\.Getenv: `
	_ = settings.Region // want `^Orchestrate → var settings\.Region → os\.Getenv: `
	_ = regionOf()      // want `^Orchestrate → regionOf → var region → os\.Getenv: `
	_ = once()          // printing once per process does not repeat on replay
	logger.Println("x") // want `^Orchestrate → var logger → os\.Stderr: orchestrator code must not print or log to the process output \(it repeats on every replay\); use ctx\.Logger\(\)$` `^Orchestrate → log\.Logger\.Println: `
	slogger.Info("x")   // want `^Orchestrate → var slogger → slog\.Default: `
	_ = banner + names[0] + sorted[0] + settings.Name
	_ = local()
	region := "a local shadows the variable"
	return region, nil
}

func regionOf() string { return region }

// Writes are reported as writes, not as reads.
func Writes(ctx bindings.OrchestrationContext) (any, error) {
	started = ctx.CurrentUTCDateTime() // want `^Writes → write to package-level variable started: `
	return nil, nil
}

// Activity may read them.
func Activity(ctx bindings.ActivityContext) (any, error) {
	return region + started.String(), nil
}
