package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/samples/sampleapp"
)

// The entity benchmark (-entities, docs/benchmarks.md): signals per second
// into one Counter entity and spread over 100, the storage requests per
// signal, and the round trip of a critical section (the Transfer
// orchestrator locking two Accounts).

// entityResult is one line of the entity benchmark.
type entityResult struct {
	name        string
	signals     int
	elapsed     time.Duration
	sent        time.Duration // until the last signal was sent
	requests    int64
	perSecond   float64
	perSignal   float64
	latencyP50  time.Duration
	latencyMean time.Duration
}

func runEntityBench(ctx context.Context, cfg *config, stdout, progress io.Writer) error {
	conn := cfg.connection
	if cfg.provider == "azurite" && conn == "" {
		srv, err := startAzurite(progress, "")
		if err != nil {
			return err
		}
		defer stopAzurite(srv, "", progress)
		conn = srv.ConnectionString()
	}
	p, err := newInproc(ctx, inprocConfig{provider: cfg.provider, connection: conn, hubName: "benchent" + randomHex(6), worker: cfg.worker})
	if err != nil {
		return err
	}
	defer p.close(ctx)
	ec := bindings.EntityClientOf(p.rt.Client)
	// Warm up: partitions owned, connections open.
	if _, err := signalAndWait(ctx, p, ec, "warm", 1, 1); err != nil {
		return err
	}
	var results []entityResult
	for _, sc := range []struct {
		name string
		keys int
	}{{"signals into one entity", 1}, {"signals into 100 entities", 100}} {
		r, err := signalAndWait(ctx, p, ec, sc.name, cfg.n, sc.keys)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	r, err := transfers(ctx, p, ec, 20)
	if err != nil {
		return err
	}
	results = append(results, r)
	fmt.Fprintf(stdout, "| provider | scenario | signals | seconds (all sent after) | signals/s | storage requests per signal | latency p50 / mean |\n|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		signals, rate, perSignal, lat := "—", "—", "—", "—"
		if r.signals > 0 {
			signals, rate = fmt.Sprint(r.signals), fmt.Sprintf("%.0f", r.perSecond)
			if p.counter != nil {
				perSignal = fmt.Sprintf("%.2f", r.perSignal)
			}
		}
		if r.latencyMean > 0 {
			lat = fmt.Sprintf("%.1f ms / %.1f ms", float64(r.latencyP50)/float64(time.Millisecond), float64(r.latencyMean)/float64(time.Millisecond))
		}
		secs := fmt.Sprintf("%.2f", r.elapsed.Seconds())
		if r.sent > 0 {
			secs += fmt.Sprintf(" (%.2f)", r.sent.Seconds())
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %s |\n", cfg.provider, r.name, signals, secs, rate, perSignal, lat)
	}
	return nil
}

func (p *inproc) requestTotal() int64 {
	var n int64
	for _, v := range p.requests() {
		n += v
	}
	return n
}

// signalAndWait sends n "add 1" signals spread over keys Counter
// entities (16 senders) and waits until all are applied; the state polls
// (one list query each) are subtracted from the request count.
func signalAndWait(ctx context.Context, p *inproc, ec bindings.EntityClient, name string, n, keys int) (entityResult, error) {
	prefix := fmt.Sprintf("b%s-", randomHex(4))
	before := p.requestTotal()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				id := bindings.NewEntityID("Counter", fmt.Sprintf("%s%d", prefix, i%keys))
				if err := ec.SignalEntity(ctx, id, "add", 1); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	sent := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return entityResult{}, err
	}
	polls := 0
	for {
		total, err := counterTotal(ctx, ec, prefix, &polls)
		if err != nil {
			return entityResult{}, err
		}
		if total >= n {
			break
		}
		select {
		case <-ctx.Done():
			return entityResult{}, fmt.Errorf("%s: %d of %d signals applied: %w", name, total, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	el := time.Since(start)
	req := p.requestTotal() - before - int64(polls)
	r := entityResult{name: name, signals: n, elapsed: el, sent: sent, requests: req, perSecond: float64(n) / el.Seconds()}
	if p.counter != nil {
		r.perSignal = float64(req) / float64(n)
	}
	return r, nil
}

// counterTotal sums the values of the Counter entities with the key
// prefix (one page per list query, counted in polls).
func counterTotal(ctx context.Context, ec bindings.EntityClient, prefix string, polls *int) (int, error) {
	total, token := 0, ""
	for {
		*polls++
		page, err := ec.ListEntities(ctx, bindings.EntityQuery{Name: "Counter", FetchState: true, PageSize: 1000, ContinuationToken: token})
		if err != nil {
			return 0, err
		}
		for _, e := range page.Entities {
			if len(e.ID.Key) >= len(prefix) && e.ID.Key[:len(prefix)] == prefix {
				var c sampleapp.Counter
				if err := json.Unmarshal(e.State, &c); err == nil {
					total += c.Value
				}
			}
		}
		if token = page.ContinuationToken; token == "" {
			return total, nil
		}
	}
}

// transfers runs k Transfer orchestrations one after the other between two
// funded accounts: each is a start, a critical section over both, three
// entity calls, the releases and the completion.
func transfers(ctx context.Context, p *inproc, ec bindings.EntityClient, k int) (entityResult, error) {
	a, b := "ta"+randomHex(4), "tb"+randomHex(4)
	if err := ec.SignalEntity(ctx, bindings.NewEntityID("Account", a), "deposit", 1000000); err != nil {
		return entityResult{}, err
	}
	lat := make([]time.Duration, 0, k)
	start := time.Now()
	for i := 0; i < k; i++ {
		t0 := time.Now()
		o, err := p.run(ctx, "Transfer", sampleapp.TransferRequest{From: a, To: b, Amount: 1})
		if err != nil {
			return entityResult{}, err
		}
		if o.status != "Completed" {
			return entityResult{}, fmt.Errorf("transfer %d ended %s", i, o.status)
		}
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return entityResult{name: fmt.Sprintf("critical section round trip (Transfer, %d in a row)", k), elapsed: el,
		latencyP50: lat[len(lat)/2], latencyMean: el / time.Duration(k)}, nil
}
