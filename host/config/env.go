package config

import (
	"os"
	"sort"
	"strings"
	"sync"
)

// Env is the process environment as configuration sees it. The host uses
// OSEnv; tests use a MapEnv so they can run in parallel.
type Env interface {
	// LookupEnv returns a variable's value and whether it is set.
	LookupEnv(key string) (string, bool)
	// Setenv sets a variable.
	Setenv(key, value string) error
	// Environ returns "key=value" pairs.
	Environ() []string
}

// OSEnv is the real process environment.
type OSEnv struct{}

// LookupEnv implements Env.
func (OSEnv) LookupEnv(key string) (string, bool) { return os.LookupEnv(key) }

// Setenv implements Env.
func (OSEnv) Setenv(key, value string) error { return os.Setenv(key, value) }

// Environ implements Env.
func (OSEnv) Environ() []string { return os.Environ() }

// MapEnv is an in-memory Env, safe for concurrent use.
type MapEnv struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMapEnv returns a MapEnv holding a copy of vars.
func NewMapEnv(vars map[string]string) *MapEnv {
	m := make(map[string]string, len(vars))
	for k, v := range vars {
		m[k] = v
	}
	return &MapEnv{m: m}
}

// LookupEnv implements Env.
func (e *MapEnv) LookupEnv(key string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.m[key]
	return v, ok
}

// Setenv implements Env.
func (e *MapEnv) Setenv(key, value string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = value
	return nil
}

// Environ implements Env.
func (e *MapEnv) Environ() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.m))
	for k, v := range e.m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// jobHostPrefix marks environment variables that override host.json.
const jobHostPrefix = "AzureFunctionsJobHost__"

// override is one AzureFunctionsJobHost__a__b=value variable.
type override struct {
	name  string
	path  []string
	value string
}

// overrides returns the host.json overrides in the environment, sorted by
// variable name so that the result does not depend on map order.
func overrides(env Env) []override {
	var out []override
	for _, kv := range env.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(k) <= len(jobHostPrefix) || !strings.EqualFold(k[:len(jobHostPrefix)], jobHostPrefix) {
			continue
		}
		out = append(out, override{name: k, path: strings.Split(k[len(jobHostPrefix):], "__"), value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
