// Package maprange exercises the map-iteration rule.
package maprange

import (
	"maps"
	"slices"
	"sort"

	"github.com/funchost/funchost/bindings"
)

func MapRange(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	for k := range m { // want `^MapRange → range over map: Go randomises map iteration order, so a replay may take a different path; range over sorted keys instead \(slices\.Sorted\(maps\.Keys\(m\)\)\)$`
		ctx.CallActivity("Work", k)
	}
	var out []string
	for k, v := range m { // want `^MapRange → range over map: `
		if v > 1 {
			out = append(out, k)
		}
	}
	for k := range maps.Keys(m) { // want `^MapRange → range over maps\.Keys: `
		ctx.CallActivity("Work", k)
	}
	for _, v := range maps.All(m) { // want `^MapRange → range over maps\.All: `
		_ = v
	}
	var unsorted []string
	for k := range m { // want `^MapRange → range over map: `
		unsorted = append(unsorted, k)
	}
	tasks := map[string]bindings.Task{}
	for k, v := range m { // want `^MapRange → range over map: `
		tasks[k] = ctx.CallActivity("Work", v)
	}
	ids := map[string]string{}
	for k := range m { // want `^MapRange → range over map: `
		ids[k] = ctx.NewGUID()
	}
	return append(out, unsorted...), nil
}

// Sorted ranges over maps only in ways whose result does not depend on the
// order.
func Sorted(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ctx.CallActivity("Work", k)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var vals []int
	for _, v := range m {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	total := 0
	for _, v := range m {
		total += v
	}
	copied := map[string]int{}
	for k, v := range m {
		copied[k] = v
	}
	counts := map[int]int{}
	for _, v := range m {
		counts[v]++
	}
	return keys, nil
}
