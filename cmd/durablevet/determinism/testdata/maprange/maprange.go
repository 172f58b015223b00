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

// OrderFree folds maps in ways whose result does not depend on the order:
// any, all, count, sum, min, max into local accumulators, and building
// other maps and sets.
func OrderFree(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]int{"a": 1, "b": 2}
	found := false // any
	for _, v := range m {
		if v > 1 {
			found = true
			break
		}
	}
	all := true
	for _, v := range m {
		if v <= 0 {
			all = false
		}
	}
	ok := true
	for _, v := range m {
		ok = ok && v > 0
	}
	count := 0
	for k, v := range m {
		if v > 1 && k != "" {
			count++
		}
	}
	sum, product, mask := 0, 1, 0
	for _, v := range m {
		w := v * 2
		sum += w
		product *= v
		mask |= v
	}
	best, worst := 0, 0
	for _, v := range m {
		best = max(best, v)
		if v < worst {
			worst = v
		}
	}
	longest := ""
	for k := range m {
		if len(k) == 0 {
			continue
		}
		longest = max(longest, k)
	}
	set := map[int]struct{}{}
	seen := map[string]bool{}
	doubled := map[string]int{}
	peak := map[bool]int{}
	for k, v := range m {
		set[v] = struct{}{}
		seen[k] = true
		doubled[k] = v * 2
		peak[v > 1] = max(peak[v > 1], v)
	}
	for k := range maps.Keys(m) {
		delete(doubled, k)
	}
	return []any{found, all, ok, count, sum, product, mask, best, worst, longest, set, seen, peak}, nil
}

// HasLarge returns early with a constant: an "any" in any order.
func HasLarge(ctx bindings.OrchestrationContext) (any, error) {
	for _, v := range map[string]int{"a": 1} {
		if v > 10 {
			return true, nil
		}
	}
	return false, nil
}

// OrderDependent folds maps in ways whose result depends on the order.
func OrderDependent(ctx bindings.OrchestrationContext) (any, error) {
	m := map[string]float64{"a": 1, "b": 2}
	total := 0.0
	for _, v := range m { // want `^OrderDependent → range over map: Go randomises`
		total += v // floating-point addition rounds differently in another order
	}
	var bestKey string
	best := 0.0
	for k, v := range m { // want `^OrderDependent → range over map: `
		if v > best {
			best = v
			bestKey = k // which key wins a tie depends on the order
		}
	}
	inverse := map[float64]string{}
	for k, v := range m { // want `^OrderDependent → range over map: `
		inverse[v] = k // the last key with a value wins
	}
	groups := map[bool][]string{}
	for k, v := range m { // want `^OrderDependent → range over map: `
		groups[v > 1] = append(groups[v > 1], k)
	}
	n := 0
	for _, v := range m { // want `^OrderDependent → range over map: `
		n++
		if v > 1 {
			break // how far it counted depends on the order
		}
	}
	first := ""
	for k := range m { // want `^OrderDependent → range over map: `
		first = k
		break
	}
	for k := range m { // want `^OrderDependent → range over map: `
		if k != "" {
			return k, nil // which key is returned depends on the order
		}
	}
	return []any{total, bestKey, inverse, groups, n, first}, nil
}
