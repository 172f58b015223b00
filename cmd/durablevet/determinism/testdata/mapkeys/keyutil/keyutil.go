// Package keyutil collects map keys for callers in another package.
package keyutil

import (
	"maps"
	"slices"
)

// Keys returns m's keys in map order; callers sort them.
func Keys(m map[string]int) []string { return slices.Collect(maps.Keys(m)) } // want Keys:`summary\(unordered result: slices\.Collect\(maps\.Keys\)\)`

// Sorted returns m's keys sorted.
func Sorted(m map[string]int) []string {
	ks := Keys(m)
	slices.Sort(ks)
	return ks
}
