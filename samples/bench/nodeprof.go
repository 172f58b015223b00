package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Azurite is a Node program, so the Go profiler cannot see inside it. With
// -azurite-cpuprofile the private Azurite preloads nodeProfilerScript
// (NODE_OPTIONS=--require) and writes a V8 CPU profile when it is stopped;
// summarizeNodeProfile names its dominant functions.

// nodeProfilerScript starts Node's sampling profiler in-process and writes
// the profile synchronously on SIGTERM/SIGINT (how azuritetest stops
// Azurite) or exit.
const nodeProfilerScript = `const inspector = require('inspector');
const fs = require('fs');
const path = require('path');
const dir = process.env.BENCH_NODE_PROFILE_DIR;
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
let written = false;
function write() {
  if (written) return;
  written = true;
  session.post('Profiler.stop', (err, res) => {
    if (!err) fs.writeFileSync(path.join(dir, 'azurite-' + process.pid + '.cpuprofile'), JSON.stringify(res.profile));
  });
}
process.on('SIGTERM', write);
process.on('SIGINT', write);
process.on('exit', write);
`

// nodeProfile is the part of a V8 .cpuprofile the summary reads.
type nodeProfile struct {
	Nodes []struct {
		ID        int `json:"id"`
		CallFrame struct {
			FunctionName string `json:"functionName"`
			URL          string `json:"url"`
			LineNumber   int    `json:"lineNumber"`
		} `json:"callFrame"`
		Children []int `json:"children"`
	} `json:"nodes"`
	Samples    []int   `json:"samples"`
	TimeDeltas []int64 `json:"timeDeltas"`
}

// frameCost is the time attributed to one function.
type frameCost struct {
	Frame     string
	Self      float64 // share of all sampled time, 0..1
	Inclusive float64
}

// analyzeNodeProfile returns per-function self and inclusive shares of
// the sampled time, by descending inclusive share.
func analyzeNodeProfile(p *nodeProfile) []frameCost {
	type info struct {
		key    string
		parent int
	}
	nodes := make(map[int]*info, len(p.Nodes))
	for _, n := range p.Nodes {
		name := n.CallFrame.FunctionName
		if name == "" {
			name = "(anonymous)"
		}
		key := name
		if n.CallFrame.URL != "" {
			key = fmt.Sprintf("%s %s:%d", name, path.Base(n.CallFrame.URL), n.CallFrame.LineNumber)
		}
		nodes[n.ID] = &info{key: key, parent: -1}
	}
	for _, n := range p.Nodes {
		for _, c := range n.Children {
			if ci, ok := nodes[c]; ok {
				ci.parent = n.ID
			}
		}
	}
	self := map[string]int64{}
	incl := map[string]int64{}
	var total int64
	for i, s := range p.Samples {
		if i >= len(p.TimeDeltas) {
			break
		}
		d := p.TimeDeltas[i]
		total += d
		n, ok := nodes[s]
		if !ok {
			continue
		}
		self[n.key] += d
		seen := map[string]bool{}
		for id := s; id >= 0; {
			ni, ok := nodes[id]
			if !ok {
				break
			}
			if !seen[ni.key] {
				incl[ni.key] += d
				seen[ni.key] = true
			}
			id = ni.parent
		}
	}
	if total == 0 {
		return nil
	}
	out := make([]frameCost, 0, len(incl))
	for k, v := range incl {
		out = append(out, frameCost{Frame: k, Self: float64(self[k]) / float64(total), Inclusive: float64(v) / float64(total)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Inclusive != out[j].Inclusive {
			return out[i].Inclusive > out[j].Inclusive
		}
		return out[i].Frame < out[j].Frame
	})
	return out
}

// summarizeNodeProfile writes the newest .cpuprofile in dir as two short
// lists: the functions with the most self time, and Azurite's own
// functions (handlers and stores) with the most inclusive time, which is
// what names the dominant cost.
func summarizeNodeProfile(w io.Writer, dir string) error {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.cpuprofile"))
	if len(matches) == 0 {
		return fmt.Errorf("no .cpuprofile in %s (did Azurite stop gracefully?)", dir)
	}
	newest, newestTime := "", int64(0)
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.ModTime().UnixNano() > newestTime {
			newest, newestTime = m, st.ModTime().UnixNano()
		}
	}
	b, err := os.ReadFile(newest)
	if err != nil {
		return err
	}
	var p nodeProfile
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("%s: %w", newest, err)
	}
	costs := analyzeNodeProfile(&p)
	fmt.Fprintf(w, "Azurite CPU profile %s\n", newest)
	bySelf := append([]frameCost(nil), costs...)
	sort.Slice(bySelf, func(i, j int) bool { return bySelf[i].Self > bySelf[j].Self })
	fmt.Fprintln(w, "top self time:")
	for _, c := range bySelf[:min(12, len(bySelf))] {
		fmt.Fprintf(w, "  %5.1f%%  %s\n", 100*c.Self, c.Frame)
	}
	fmt.Fprintln(w, "Azurite handlers and stores by inclusive time:")
	shown := 0
	for _, c := range costs {
		if shown == 20 {
			break
		}
		if strings.Contains(c.Frame, "Handler") || strings.Contains(c.Frame, "Store") ||
			strings.Contains(c.Frame, "Orchestrator") || strings.Contains(c.Frame, "middleware") ||
			strings.HasPrefix(c.Frame, "logger ") || strings.HasPrefix(c.Frame, "(idle)") ||
			strings.HasPrefix(c.Frame, "(garbage collector)") {
			fmt.Fprintf(w, "  %5.1f%%  %s\n", 100*c.Inclusive, c.Frame)
			shown++
		}
	}
	return nil
}
