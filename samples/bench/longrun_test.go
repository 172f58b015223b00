package main

import (
	"testing"
	"time"
)

func TestTenths(t *testing.T) {
	at := func(gaps ...time.Duration) []time.Time {
		ts := []time.Time{time.Unix(0, 0)}
		for _, g := range gaps {
			ts = append(ts, ts[len(ts)-1].Add(g))
		}
		return ts
	}
	repeat := func(n int, d time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = d
		}
		return out
	}
	tests := []struct {
		name        string
		times       []time.Time
		first, last time.Duration
		ok          bool
	}{
		{"too short", at(repeat(19, time.Millisecond)...), 0, 0, false},
		{"flat", at(repeat(100, 2*time.Millisecond)...), 2 * time.Millisecond, 2 * time.Millisecond, true},
		{"growing", at(append(repeat(90, time.Millisecond), repeat(10, 5*time.Millisecond)...)...), time.Millisecond, 5 * time.Millisecond, true},
		{"one slow outlier per tenth is not the median", at(append(append([]time.Duration{time.Second}, repeat(98, time.Millisecond)...), time.Second)...), time.Millisecond, time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, last, ok := tenths(tt.times)
			if ok != tt.ok || first != tt.first || last != tt.last {
				t.Errorf("tenths = %v, %v, %v; want %v, %v, %v", first, last, ok, tt.first, tt.last, tt.ok)
			}
		})
	}
}
