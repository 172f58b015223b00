package telemetry

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// The instruments (OpenTelemetry names; the Prometheus endpoint writes
// them with underscores, counters with _total). DF defines none, so the
// names follow the scale inputs of docs/observability.md.
const (
	metricOrchStarts   = "durabletask.orchestration.starts"
	metricOrchEnds     = "durabletask.orchestration.completions"
	metricOrchDuration = "durabletask.orchestration.duration"
	metricEpisodes     = "durabletask.orchestration.episodes"
	metricActivities   = "durabletask.activity.executions"
	metricActDuration  = "durabletask.activity.duration"
	metricControlLen   = "durabletask.control_queue.length"
	metricControlAge   = "durabletask.control_queue.latency"
	metricWorkLen      = "durabletask.work_item_queue.length"
	metricWorkAge      = "durabletask.work_item_queue.latency"
	metricOwned        = "durabletask.partition.owned"
	metricRequests     = "durabletask.storage.requests"
)

// metrics counts the engine's events.
type metrics struct {
	meter                     metric.Meter
	orchStarts, orchEnds      metric.Int64Counter
	episodes, activities      metric.Int64Counter
	orchDuration, actDuration metric.Float64Histogram
}

func newMetrics(m metric.Meter) (*metrics, error) {
	ms := &metrics{meter: m}
	var err error
	counter := func(name, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = m.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	ms.orchStarts = counter(metricOrchStarts, "Orchestration executions started (first episodes), by name.")
	ms.orchEnds = counter(metricOrchEnds, "Orchestration executions that ended, by name and status (Completed, Failed, Terminated, ContinuedAsNew).")
	ms.episodes = counter(metricEpisodes, "Orchestrator episodes, by name and how the execution was brought up (new, replay: from history, live: session cache or the same work item).")
	ms.activities = counter(metricActivities, "Activity runs, by name, outcome (completed, failed) and mode (in_process, queued).")
	if err != nil {
		return nil, err
	}
	if ms.orchDuration, err = m.Float64Histogram(metricOrchDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from an orchestration's creation to its end, by name and status.")); err != nil {
		return nil, err
	}
	if ms.actDuration, err = m.Float64Histogram(metricActDuration, metric.WithUnit("s"),
		metric.WithDescription("Activity run time, by name and outcome.")); err != nil {
		return nil, err
	}
	return ms, nil
}

// Lifecycle counts one event.
func (m *metrics) Lifecycle(ev engine.LifecycleEvent) {
	ctx := context.Background()
	name := attribute.String("name", ev.Name)
	switch {
	case ev.Type == engine.Orchestrator && ev.Kind == engine.Started:
		how := "new"
		switch {
		case ev.Live:
			how = "live"
		case ev.IsReplay:
			how = "replay"
		default:
			m.orchStarts.Add(ctx, 1, metric.WithAttributes(name))
		}
		m.episodes.Add(ctx, 1, metric.WithAttributes(name, attribute.String("start", how)))
	case ev.Type == engine.Orchestrator && !ev.IsReplay && (ev.Kind == engine.Completed || ev.Kind == engine.Failed || ev.Kind == engine.Terminated):
		status := ev.RuntimeStatus.String()
		attrs := metric.WithAttributes(name, attribute.String("status", status))
		m.orchEnds.Add(ctx, 1, attrs)
		if !ev.ContinuedAsNew && !ev.ScheduledTime.IsZero() {
			m.orchDuration.Record(ctx, time.Since(ev.ScheduledTime).Seconds(), attrs)
		}
	case ev.Type == engine.Activity && (ev.Kind == engine.Completed || ev.Kind == engine.Failed) && ev.Context != nil:
		outcome := "completed"
		if ev.Kind == engine.Failed {
			outcome = "failed"
		}
		mode := "queued"
		if ev.InProcess {
			mode = "in_process"
		}
		m.activities.Add(ctx, 1, metric.WithAttributes(name, attribute.String("outcome", outcome), attribute.String("mode", mode)))
		m.actDuration.Record(ctx, ev.Duration.Seconds(), metric.WithAttributes(name, attribute.String("outcome", outcome)))
	}
}

// observeStorage registers the gauges of a task hub's queues (sampled at
// each collection) and the storage request counter.
func (m *metrics) observeStorage(queues func(context.Context) (*sp.QueueStats, error), requests func() map[string]int64) error {
	var insts []metric.Observable
	var cLen, wLen, owned metric.Int64ObservableGauge
	var cAge, wAge metric.Float64ObservableGauge
	var reqs metric.Int64ObservableCounter
	var err error
	if queues != nil {
		if cLen, err = m.meter.Int64ObservableGauge(metricControlLen, metric.WithDescription("Approximate messages in each control queue, by partition.")); err != nil {
			return err
		}
		if cAge, err = m.meter.Float64ObservableGauge(metricControlAge, metric.WithUnit("ms"),
			metric.WithDescription("Age of the first message of each control queue, by partition.")); err != nil {
			return err
		}
		if wLen, err = m.meter.Int64ObservableGauge(metricWorkLen, metric.WithDescription("Approximate messages in the work-item queue.")); err != nil {
			return err
		}
		if wAge, err = m.meter.Float64ObservableGauge(metricWorkAge, metric.WithUnit("ms"),
			metric.WithDescription("Age of the first message of the work-item queue.")); err != nil {
			return err
		}
		if owned, err = m.meter.Int64ObservableGauge(metricOwned, metric.WithDescription("1 when this host owns the partition, else 0.")); err != nil {
			return err
		}
		insts = append(insts, cLen, cAge, wLen, wAge, owned)
	}
	if requests != nil {
		if reqs, err = m.meter.Int64ObservableCounter(metricRequests, metric.WithDescription("Storage requests sent, by service and operation.")); err != nil {
			return err
		}
		insts = append(insts, reqs)
	}
	if len(insts) == 0 {
		return nil
	}
	_, err = m.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if queues != nil {
			st, err := queues(ctx)
			if err != nil {
				return err
			}
			for i, q := range st.ControlQueues {
				p := metric.WithAttributes(attribute.String("partition", strconv.Itoa(i)), attribute.String("queue", q.Name))
				o.ObserveInt64(cLen, q.Length, p)
				o.ObserveFloat64(cAge, float64(q.OldestAge.Microseconds())/1000, p)
				v := int64(0)
				if q.Owned {
					v = 1
				}
				o.ObserveInt64(owned, v, p)
			}
			q := metric.WithAttributes(attribute.String("queue", st.WorkItems.Name))
			o.ObserveInt64(wLen, st.WorkItems.Length, q)
			o.ObserveFloat64(wAge, float64(st.WorkItems.OldestAge.Microseconds())/1000, q)
		}
		if requests != nil {
			for op, n := range requests() {
				svc, operation, _ := strings.Cut(op, ".")
				o.ObserveInt64(reqs, n, metric.WithAttributes(attribute.String("service", svc), attribute.String("operation", operation)))
			}
		}
		return nil
	}, insts...)
	return err
}
