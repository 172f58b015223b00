package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// ProbeResult is the measured rate of one raw storage operation, the
// ceiling the host can at best approach on the same machine.
type ProbeResult struct {
	Probe       string  `json:"probe"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	// Requests counts HTTP requests to the storage service; Ops counts
	// probe iterations (one iteration may be several requests, see Note).
	Requests          int64   `json:"requests"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	OpsPerSecond      float64 `json:"opsPerSecond"`
	MeanLatencyMs     float64 `json:"meanLatencyMs"`
	// AzuriteCPUPerRequestMs is Azurite's CPU time per request, when its
	// pid is known: unlike the rates it barely depends on how busy the
	// machine is.
	AzuriteCPUPerRequestMs float64 `json:"azuriteCPUPerRequestMs,omitempty"`
	Note                   string  `json:"note"`
	Error                  string  `json:"error,omitempty"`
}

// probeOptions control the Azurite ceiling probe.
type probeOptions struct {
	connection  string
	concurrency int
	duration    time.Duration
	batchSize   int
	hubSize     int // instances in the History/Instances-shaped tables (0: 1,000)
	azuritePID  int // > 0: measure Azurite's CPU time per request
}

// probeOp is one iteration of a probe; it returns the number of storage
// requests it made.
type probeOp func(ctx context.Context, worker int, i int64) (int, error)

// probe is one measurement: setup prepares its data, op is one iteration,
// cleanup removes what it left (Azurite's queue operations slow down with
// every message stored in the account, so nothing may linger).
type probe struct {
	name, note string
	setup      func(ctx context.Context) error
	op         probeOp
	cleanup    func(ctx context.Context)
}

// probeAzurite measures Azurite's own request rates with the SDKs the
// provider uses: queue put, queue get (dequeue + delete, backlog held
// constant), table entity-group batch, table point read and upsert — first
// in the cheapest shape, then in the shape a 1,000-instance benchmark gives
// them (1,000 queued messages; Instances-style rows that all have RowKey
// ""). Scratch queues and tables are deleted afterwards.
func probeAzurite(ctx context.Context, o probeOptions, progress io.Writer) ([]*ProbeResult, error) {
	pr, err := newProber(o)
	if err != nil {
		return nil, err
	}
	bg := context.WithoutCancel(ctx)
	var out []*ProbeResult
	for _, p := range append(pr.queueProbes(), pr.tableProbes()...) {
		if p.setup != nil {
			if err := p.setup(ctx); err != nil {
				return out, fmt.Errorf("probe %s: %w", p.name, err)
			}
		}
		r := runProbe(ctx, p.name, p.note, o, p.op)
		if p.cleanup != nil {
			p.cleanup(bg)
		}
		if progress != nil {
			fmt.Fprintf(progress, "probe %s: %.0f requests/s, %.0f ops/s, mean %.2f ms, Azurite CPU %.3f ms/request\n",
				r.Probe, r.RequestsPerSecond, r.OpsPerSecond, r.MeanLatencyMs, r.AzuriteCPUPerRequestMs)
		}
		out = append(out, r)
	}
	return out, nil
}

// Sizes of the probes' data.
const smallBacklog, bigBacklog, readRows = 100, 1000, 200

// prober builds the probes on one account's scratch queues and tables.
type prober struct {
	qsvc      *azqueue.ServiceClient
	tsvc      *aztables.ServiceClient
	suffix    string // makes scratch names unique
	body      string // a small JSON body, the size of a typical control message
	batchSize int
	hubSize   int // instances stored in the History- and Instances-shaped tables
}

func newProber(o probeOptions) (*prober, error) {
	qsvc, err := azqueue.NewServiceClientFromConnectionString(o.connection, nil)
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	tsvc, err := aztables.NewServiceClientFromConnectionString(o.connection, nil)
	if err != nil {
		return nil, fmt.Errorf("table client: %w", err)
	}
	return &prober{qsvc: qsvc, tsvc: tsvc, suffix: randomHex(8),
		body: `{"probe":"` + strings.Repeat("x", 200) + `"}`, batchSize: o.batchSize, hubSize: cmp.Or(o.hubSize, 1000)}, nil
}

// newQueue returns a scratch queue and its setup, which creates it with
// fill messages.
func (pr *prober) newQueue(name string, fill int) (*azqueue.QueueClient, func(ctx context.Context) error) {
	q := pr.qsvc.NewQueueClient(name + "-" + pr.suffix)
	return q, func(ctx context.Context) error {
		if _, err := q.Create(ctx, nil); err != nil {
			return fmt.Errorf("creating probe queue: %w", err)
		}
		for range fill {
			if _, err := q.EnqueueMessage(ctx, pr.body, nil); err != nil {
				return fmt.Errorf("filling probe queue: %w", err)
			}
		}
		return nil
	}
}

// newTable returns a scratch table and its setup, which creates it with
// rows entities keyed by pk and rk.
func (pr *prober) newTable(name string, rows int, pk, rk func(i int) string) (*aztables.Client, func(ctx context.Context) error) {
	t := pr.tsvc.NewClient(name + pr.suffix)
	return t, func(ctx context.Context) error {
		if _, err := t.CreateTable(ctx, nil); err != nil {
			return fmt.Errorf("creating probe table: %w", err)
		}
		return fillParallel(ctx, rows, func(ctx context.Context, i int) error {
			_, err := t.AddEntity(ctx, entity(pk(i), rk(i)), nil)
			return err
		})
	}
}

// fillParallel runs add for 0..n-1, four at a time: the History- and
// Instances-shaped tables take tens of thousands of writes for large
// -probe-hub sizes.
func fillParallel(ctx context.Context, n int, add func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n && errs[w] == nil; i = int(next.Add(1)) - 1 {
				errs[w] = add(ctx, i)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filling probe table: %w", err)
	}
	return nil
}

func dropQueue(q *azqueue.QueueClient) func(context.Context) {
	return func(ctx context.Context) { _, _ = q.Delete(ctx, nil) }
}

func dropTable(t *aztables.Client) func(context.Context) {
	return func(ctx context.Context) { _, _ = t.Delete(ctx, nil) }
}

// getCycle dequeues and deletes one message and enqueues another, keeping
// the backlog constant.
func (pr *prober) getCycle(q *azqueue.QueueClient) probeOp {
	return func(ctx context.Context, _ int, _ int64) (int, error) {
		r, err := q.DequeueMessage(ctx, nil)
		if err != nil {
			return 1, err
		}
		if len(r.Messages) == 0 {
			return 1, nil
		}
		m := r.Messages[0]
		if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
			return 2, err
		}
		_, err = q.EnqueueMessage(ctx, pr.body, nil)
		return 3, err
	}
}

func (pr *prober) queueProbes() []probe {
	putQ, putSetup := pr.newQueue("probe-put", 0)
	getQ, getSetup := pr.newQueue("probe-get", smallBacklog)
	bigQ, bigSetup := pr.newQueue("probe-big", bigBacklog)
	return []probe{
		{"queue put", "EnqueueMessage of a 212-byte message, empty account", putSetup,
			func(ctx context.Context, _ int, _ int64) (int, error) {
				_, err := putQ.EnqueueMessage(ctx, pr.body, nil)
				return 1, err
			}, dropQueue(putQ)},
		{"queue get", fmt.Sprintf("DequeueMessage + DeleteMessage + EnqueueMessage, backlog held at %d; ops = messages", smallBacklog),
			getSetup, pr.getCycle(getQ), dropQueue(getQ)},
		{"queue get, 1,000 stored", fmt.Sprintf("the same with %d messages stored (a 1,000-instance burst)", bigBacklog),
			bigSetup, pr.getCycle(bigQ), dropQueue(bigQ)},
	}
}

// historyBatch writes one instance's history-shaped batch into partition
// pk. History rows of different instances share their RowKeys (event
// sequence numbers); Azurite looks entities up by RowKey first, so each
// point operation scans one row per stored instance.
func (pr *prober) historyBatch(ctx context.Context, t *aztables.Client, pk string, kind aztables.TransactionType) error {
	acts := make([]aztables.TransactionAction, pr.batchSize)
	for j := range acts {
		acts[j] = aztables.TransactionAction{ActionType: kind, Entity: entity(pk, fmt.Sprintf("%016X", j))}
	}
	_, err := t.SubmitTransaction(ctx, acts, nil)
	return err
}

func (pr *prober) tableProbes() []probe {
	batchT, batchSetup := pr.newTable("probebatch", 0, nil, nil)
	readT, readSetup := pr.newTable("probehist", readRows, func(int) string { return "read" }, func(i int) string { return fmt.Sprintf("%08d", i) })
	instanceRows := pr.hubSize
	instT, instSetup := pr.newTable("probeinst", instanceRows, func(i int) string { return fmt.Sprintf("inst%08d", i) }, func(int) string { return "" })
	histT, histCreate := pr.newTable("probehistory", 0, nil, nil)
	histSetup := func(ctx context.Context) error {
		if err := histCreate(ctx); err != nil {
			return err
		}
		return fillParallel(ctx, instanceRows, func(ctx context.Context, i int) error {
			return pr.historyBatch(ctx, histT, fmt.Sprintf("inst%08d", i), aztables.TransactionTypeAdd)
		})
	}
	return []probe{
		{"table batch", fmt.Sprintf("SubmitTransaction of %d inserts in one partition; ops = transactions", pr.batchSize), batchSetup,
			func(ctx context.Context, w int, i int64) (int, error) {
				acts := make([]aztables.TransactionAction, pr.batchSize)
				pk := fmt.Sprintf("b%d-%d", w, i)
				for j := range acts {
					acts[j] = aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: entity(pk, fmt.Sprintf("%04d", j))}
				}
				_, err := batchT.SubmitTransaction(ctx, acts, nil)
				return 1, err
			}, dropTable(batchT)},
		{"table batch, History shape", fmt.Sprintf("the same into a new partition with RowKeys 0..%d, %d instances' history stored", pr.batchSize-1, instanceRows),
			histSetup, func(ctx context.Context, w int, i int64) (int, error) {
				return 1, pr.historyBatch(ctx, histT, fmt.Sprintf("new%d-%d", w, i), aztables.TransactionTypeAdd)
			}, nil},
		{"table batch, History shape, upserts", "the same with InsertReplace actions instead of inserts (Azurite looks each row up twice)",
			nil, func(ctx context.Context, w int, i int64) (int, error) {
				return 1, pr.historyBatch(ctx, histT, fmt.Sprintf("upsert%d-%d", w, i), aztables.TransactionTypeInsertReplace)
			}, dropTable(histT)},
		{"table point read", fmt.Sprintf("GetEntity of one of %d rows with distinct RowKeys in one partition", readRows), readSetup,
			func(ctx context.Context, _ int, i int64) (int, error) {
				_, err := readT.GetEntity(ctx, "read", fmt.Sprintf("%08d", i%readRows), nil)
				return 1, err
			}, nil},
		{"table upsert", "UpsertEntity (merge) of one row per worker, distinct RowKeys", nil,
			func(ctx context.Context, w int, i int64) (int, error) {
				_, err := readT.UpsertEntity(ctx, entity("upsert", fmt.Sprintf("w%d", w)), nil)
				return 1, err
			}, dropTable(readT)},
		{"table point read, Instances shape", fmt.Sprintf("GetEntity of one of %d rows that all have RowKey \"\"", instanceRows), instSetup,
			func(ctx context.Context, _ int, i int64) (int, error) {
				_, err := instT.GetEntity(ctx, fmt.Sprintf("inst%08d", i%int64(instanceRows)), "", nil)
				return 1, err
			}, nil},
		{"table upsert, Instances shape", fmt.Sprintf("UpsertEntity (merge) of one of %d rows that all have RowKey \"\"", instanceRows), nil,
			func(ctx context.Context, _ int, i int64) (int, error) {
				_, err := instT.UpsertEntity(ctx, entity(fmt.Sprintf("inst%08d", i%int64(instanceRows)), ""), nil)
				return 1, err
			}, dropTable(instT)},
	}
}

// runProbe runs op from o.concurrency goroutines for o.duration.
func runProbe(ctx context.Context, name, note string, o probeOptions, op probeOp) *ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var (
		ops, reqs atomic.Int64
		busy      atomic.Int64 // total ns spent inside op
		seq       atomic.Int64
		errOnce   sync.Once
		firstErr  error
		wg        sync.WaitGroup
	)
	az := procUsage{pid: -1}
	if o.azuritePID > 0 {
		az = procUsage{pid: o.azuritePID}
	}
	azCPU0, _ := az.cpu()
	begin := time.Now()
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				n, err := op(ctx, w, seq.Add(1))
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
						errOnce.Do(func() { firstErr = err })
					}
					return
				}
				busy.Add(int64(time.Since(t0)))
				ops.Add(1)
				reqs.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	el := time.Since(begin).Seconds()
	azCPU1, _ := az.cpu()
	r := &ProbeResult{Probe: name, Concurrency: o.concurrency, Seconds: round(el, 2), Requests: reqs.Load(),
		RequestsPerSecond: round(float64(reqs.Load())/el, 0), OpsPerSecond: round(float64(ops.Load())/el, 0), Note: note}
	if n := ops.Load(); n > 0 {
		r.MeanLatencyMs = round(float64(busy.Load())/float64(n)/1e6, 2)
	}
	if n := reqs.Load(); n > 0 && o.azuritePID > 0 {
		r.AzuriteCPUPerRequestMs = round(float64(azCPU1-azCPU0)/float64(n)/1e6, 3)
	}
	if firstErr != nil {
		r.Error = firstErr.Error()
	}
	return r
}

func entity(pk, rk string) []byte {
	b, _ := json.Marshal(map[string]any{"PartitionKey": pk, "RowKey": rk, "Name": "SayHello", "Payload": strings.Repeat("x", 100)})
	return b
}

// writeProbeMarkdown renders probe results as a markdown table.
func writeProbeMarkdown(w io.Writer, rs []*ProbeResult) {
	fmt.Fprintln(w, "| probe | concurrency | requests/s | ops/s | mean latency ms | Azurite CPU ms/request | what |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		note := r.Note
		if r.Error != "" {
			note += " — error: " + r.Error
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %.2f | %.3f | %s |\n", r.Probe, r.Concurrency, r.RequestsPerSecond, r.OpsPerSecond, r.MeanLatencyMs, r.AzuriteCPUPerRequestMs, note)
	}
}
