// Package mapkeys exercises slices of map keys: collected unsorted they
// carry Go's random map order into the orchestration; sorted, by the
// function or by its caller (interprocedurally), they are fine.
package mapkeys

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"example.com/dvtest/mapkeys/keyutil"
	"github.com/funchost/funchost/bindings"
)

func Unsorted(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	keys := slices.Collect(maps.Keys(m)) // want `^Unsorted → slices\.Collect\(maps\.Keys\): the slice comes in Go's random map order, so a replay may take a different path; sort it \(slices\.Sort, sort\.Strings\) before using it, or collect it sorted: slices\.Sorted\(maps\.Keys\(m\)\)$`
	for _, k := range keys {
		ctx.CallActivity("Work", k)
	}
	vals := slices.Collect(maps.Values(m))                                    // want `^Unsorted → slices\.Collect\(maps\.Values\): `
	more := slices.AppendSeq([]string{}, maps.Keys(m))                        // want `^Unsorted → slices\.AppendSeq\(maps\.Keys\): `
	ctx.CallActivity("Work", strings.Join(slices.Collect(maps.Keys(m)), ",")) // want `^Unsorted → slices\.Collect\(maps\.Keys\): `
	return []any{vals, more}, nil
}

// Sorted sorts what it collects, in the ways people do.
func Sorted(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ctx.CallActivity("Work", k)
	}
	a := slices.Collect(maps.Keys(m))
	slices.Sort(a)
	b := slices.Collect(maps.Keys(m))
	sort.Strings(b)
	c := slices.Collect(maps.Values(m))
	sort.Ints(c)
	var d []string
	d = slices.Collect(maps.Keys(m))
	sort.Sort(sort.StringSlice(d))
	n := len(slices.Collect(maps.Keys(m))) // only the length
	return []any{a, b, c, d, n}, nil
}

// HelperSorts gets keys from helpers that collect them unsorted, and sorts
// them itself: fine, in this package and across packages.
func HelperSorts(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	a := keysOf(m)
	slices.Sort(a)
	b := rangedKeys(m)
	sort.Strings(b)
	c := keyutil.Keys(m)
	slices.Sort(c)
	d := viaTwo(m)
	sort.Strings(d)
	for _, k := range keyutil.Sorted(m) { // sorted by the helper
		ctx.CallActivity("Work", k)
	}
	return []any{a, b, c, d}, nil
}

// HelperUnsorted uses helpers' unsorted keys as they are.
func HelperUnsorted(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	for _, k := range keysOf(m) { // want `^HelperUnsorted → keysOf → slices\.Collect\(maps\.Keys\): the slice comes in Go's random map order`
		ctx.CallActivity("Work", k)
	}
	b := rangedKeys(m)   // want `^HelperUnsorted → rangedKeys → range over map: the slice comes in Go's random map order`
	c := keyutil.Keys(m) // want `^HelperUnsorted → keyutil\.Keys → slices\.Collect\(maps\.Keys\): `
	d := viaTwo(m)       // want `^HelperUnsorted → viaTwo → rangedKeys → range over map: `
	firstKey(m)          // want `^HelperUnsorted → firstKey → keysOf → slices\.Collect\(maps\.Keys\): `
	return []any{b, c, d}, nil
}

func keysOf(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	return keys
}

func rangedKeys(m map[string]int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// viaTwo passes a helper's unsorted keys on to its own caller.
func viaTwo(m map[string]int) []string { return rangedKeys(m) }

// firstKey uses the unsorted keys itself.
func firstKey(m map[string]int) string {
	ks := keysOf(m)
	if len(ks) == 0 {
		return ""
	}
	return ks[0]
}
