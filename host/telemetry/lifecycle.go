package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"unicode/utf16"

	"github.com/google/uuid"

	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// CategoryDurableTask is the category of Durable Functions' lifecycle
// logs; existing queries filter on it.
const CategoryDurableTask = "Host.Triggers.DurableTask"

// LogOptions configure the lifecycle logs (host.json
// extensions.durableTask.tracing).
type LogOptions struct {
	// TraceInputsAndOutputs logs payloads, reasons and failure messages
	// as they are; by default they are "(Redacted n characters)" and a
	// failure is logged by its type (and stack trace).
	TraceInputsAndOutputs bool
	// TraceReplayEvents logs the events an orchestrator re-lives while
	// replaying; by default they are dropped.
	TraceReplayEvents bool
	// AppName and SlotName fill the AppName and SlotName fields
	// (WEBSITE_SITE_NAME, WEBSITE_SLOT_NAME).
	AppName, SlotName string
	// HubName fills the HubName field of the lines the client logs (the
	// engine's events carry their hub).
	HubName string
}

// lifecycleLogs writes the engine's lifecycle events as Durable Functions'
// tracking logs (category Host.Triggers.DurableTask) and orchestrator
// episodes as invocation logs (category Function.<Name>).
type lifecycleLogs struct {
	log  *slog.Logger // the host's
	dt   *slog.Logger // category Host.Triggers.DurableTask
	opts LogOptions
	seq  atomic.Int64
	// episodes maps an instance ID to the invocation ID of its running
	// orchestrator episode (Executing → Executed).
	episodes sync.Map
}

func newLifecycleLogs(log *slog.Logger, o LogOptions) *lifecycleLogs {
	return &lifecycleLogs{log: log, dt: log.With(CategoryKey, CategoryDurableTask), opts: o}
}

// Lifecycle writes one event.
func (l *lifecycleLogs) Lifecycle(ev engine.LifecycleEvent) {
	if ev.Type == engine.Orchestrator {
		l.invocation(ev)
	}
	if ev.Kind == engine.EventSent && ev.Type == engine.Entity {
		ev = entityRequestLine(ev)
	}
	if ev.IsReplay && !l.opts.TraceReplayEvents || !l.dt.Enabled(context.Background(), levelOf(ev.Kind)) {
		return
	}
	level, msg, fields := l.render(ev)
	if msg == "" {
		return
	}
	seq := l.seq.Add(1) - 1
	p := fmt.Sprintf("%s: Function '%s (%s)'", ev.InstanceID, ev.Name, ev.Type)
	tail := fmt.Sprintf(" HubName: %s. AppName: %s. SlotName: %s. ExtensionVersion: %s. SequenceNumber: %d.",
		ev.Hub, l.opts.AppName, l.opts.SlotName, Version, seq)
	text := p + msg + tail
	switch ev.Kind {
	case engine.Suspended, engine.Resumed:
		verb := "Suspending"
		if ev.Kind == engine.Resumed {
			verb = "Resuming"
		}
		text = fmt.Sprintf("%s: %s function '%s (%s)'", ev.InstanceID, verb, ev.Name, ev.Type) + msg + tail
	}
	withTaskID := withTaskEventID(ev.Kind) && ev.Type != engine.Entity
	if withTaskID {
		text += fmt.Sprintf(" TaskEventId: %d", ev.TaskEventID)
	}
	attrs := []slog.Attr{slog.String("instanceId", ev.InstanceID),
		slog.String("functionName", ev.Name), slog.String("functionType", string(ev.Type)), slog.String("state", stateOf(ev.Kind)),
		slog.String("hubName", ev.Hub), slog.String("appName", l.opts.AppName), slog.String("slotName", l.opts.SlotName),
		slog.String("extensionVersion", Version), slog.Int64("sequenceNumber", seq)}
	if ev.ExecutionID != "" {
		attrs = append(attrs, slog.String("executionId", ev.ExecutionID))
	}
	if ev.Version != "" {
		attrs = append(attrs, slog.String("version", ev.Version))
	}
	if withTaskID {
		attrs = append(attrs, slog.Int("taskEventId", ev.TaskEventID))
	}
	l.dt.LogAttrs(context.Background(), level, text, append(attrs, fields...)...)
}

// clientScheduled logs the "scheduled" line a durable client writes when
// it starts an instance, raises an event on one or signals an entity.
func (l *lifecycleLogs) clientScheduled(typ engine.FunctionType, instanceID, executionID, name, version, reason string) {
	l.Lifecycle(engine.LifecycleEvent{Kind: engine.Scheduled, Type: typ, InstanceID: instanceID, ExecutionID: executionID,
		Name: name, Version: version, Hub: l.opts.HubName, Reason: reason, TaskEventID: -1, RuntimeStatus: sp.StatusPending})
}

// levelOf is the level of a kind's template.
func levelOf(k engine.LifecycleKind) slog.Level {
	switch k {
	case engine.Failed:
		return slog.LevelError
	case engine.Terminated, engine.Rewound:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// withTaskEventID: the templates that end with TaskEventId.
func withTaskEventID(k engine.LifecycleKind) bool {
	return k == engine.Started || k == engine.Completed || k == engine.Failed
}

// stateOf is the FunctionState of a kind (Resumed logs Scheduled, as
// Durable Functions does).
func stateOf(k engine.LifecycleKind) string {
	if k == engine.Resumed {
		return "Scheduled"
	}
	return k.String()
}

// render returns the level, the template's middle part and its specific
// fields.
func (l *lifecycleLogs) render(ev engine.LifecycleEvent) (slog.Level, string, []slog.Attr) {
	if ev.Type == engine.Entity {
		if level, msg, attrs, ok := l.renderEntity(ev); ok {
			return level, msg, attrs
		}
	}
	rs := ev.RuntimeStatus.String()
	replay := slog.Bool("isReplay", ev.IsReplay)
	st := stateOf(ev.Kind)
	switch ev.Kind {
	case engine.Scheduled:
		return slog.LevelInfo, fmt.Sprintf(" scheduled. Reason: %s. IsReplay: %s. State: %s. RuntimeStatus: %s.", ev.Reason, dotnetBool(ev.IsReplay), st, rs),
			[]slog.Attr{slog.String("reason", ev.Reason), replay, slog.String("runtimeStatus", rs)}
	case engine.Started:
		in := l.payload(ev.Input)
		return slog.LevelInfo, fmt.Sprintf(" started. IsReplay: %s. Input: %s. State: %s. RuntimeStatus: %s.", dotnetBool(ev.IsReplay), in, st, rs),
			[]slog.Attr{replay, slog.String("input", in), slog.String("runtimeStatus", rs)}
	case engine.Awaited:
		return slog.LevelInfo, fmt.Sprintf(" awaited. IsReplay: %s. State: %s.", dotnetBool(ev.IsReplay), st), []slog.Attr{replay}
	case engine.Listening:
		return slog.LevelInfo, fmt.Sprintf(" is waiting for input. Reason: %s. IsReplay: %s. State: %s.", ev.Reason, dotnetBool(ev.IsReplay), st),
			[]slog.Attr{slog.String("reason", ev.Reason), replay}
	case engine.Completed:
		out := l.payload(ev.Output)
		return slog.LevelInfo, fmt.Sprintf(" completed. ContinuedAsNew: %s. IsReplay: %s. Output: %s. State: %s. RuntimeStatus: %s.",
				dotnetBool(ev.ContinuedAsNew), dotnetBool(ev.IsReplay), out, st, rs),
			[]slog.Attr{slog.Bool("continuedAsNew", ev.ContinuedAsNew), replay, slog.String("output", out), slog.String("runtimeStatus", rs)}
	case engine.Failed:
		reason := l.failure(ev.Failure)
		return slog.LevelError, fmt.Sprintf(" failed with an error. Reason: %s. IsReplay: %s. State: %s. RuntimeStatus: %s.", reason, dotnetBool(ev.IsReplay), st, rs),
			[]slog.Attr{slog.String("reason", reason), replay, slog.String("runtimeStatus", rs)}
	case engine.Terminated:
		reason := l.payload(ev.Reason)
		return slog.LevelWarn, fmt.Sprintf(" was terminated. Reason: %s. State: %s. RuntimeStatus: %s.", reason, st, rs),
			[]slog.Attr{slog.String("reason", reason), slog.String("runtimeStatus", rs)}
	case engine.Suspended, engine.Resumed:
		reason := l.payload(ev.Reason)
		return slog.LevelInfo, fmt.Sprintf(". Reason: %s. State: %s. RuntimeStatus: %s.", reason, st, rs),
			[]slog.Attr{slog.String("reason", reason), slog.String("runtimeStatus", rs)}
	case engine.Rewound:
		reason := l.payload(ev.Reason)
		return slog.LevelWarn, fmt.Sprintf(" was rewound. Reason: %s. State: %s.", reason, st), []slog.Attr{slog.String("reason", reason)}
	case engine.EventRaised:
		if ev.OperationID != "" && ev.EventName == "" {
			return slog.LevelInfo, fmt.Sprintf(" received an entity response. OperationId: %s. State: %s.", ev.OperationID, st),
				[]slog.Attr{slog.String("operationId", ev.OperationID)}
		}
		return slog.LevelInfo, fmt.Sprintf(" received a '%s' event. State: %s.", ev.EventName, st), []slog.Attr{slog.String("eventName", ev.EventName)}
	case engine.EventSaved:
		return slog.LevelInfo, fmt.Sprintf(" saved a '%s' event to an in-memory queue. State: %s.", ev.EventName, st), []slog.Attr{slog.String("eventName", ev.EventName)}
	case engine.TimerExpired:
		at := ev.FireAt.UTC().Format("2006-01-02T15:04:05.0000000Z")
		return slog.LevelInfo, fmt.Sprintf(" was resumed by a timer scheduled for '%s'. IsReplay: %s. State: %s.", at, dotnetBool(ev.IsReplay), st),
			[]slog.Attr{slog.String("expirationTime", at), replay}
	}
	return slog.LevelInfo, "", nil
}

// invocation writes an orchestrator episode's Executing/Executed lines:
// every episode is an invocation of the orchestrator function.
func (l *lifecycleLogs) invocation(ev engine.LifecycleEvent) {
	if ev.Type != engine.Orchestrator || ev.Kind == engine.Scheduled {
		return
	}
	name := "Functions." + ev.Name
	cat := "Function." + ev.Name
	switch ev.Kind {
	case engine.Started:
		id := uuid.NewString()
		l.episodes.Store(ev.InstanceID, id)
		l.log.LogAttrs(context.Background(), slog.LevelInfo, fmt.Sprintf("Executing '%s' (Reason='(null)', Id=%s)", name, id),
			slog.String(CategoryKey, cat), slog.String("function", ev.Name), slog.String("invocationId", id), slog.String("instanceId", ev.InstanceID))
	case engine.Awaited, engine.Completed, engine.Failed, engine.Terminated:
		v, ok := l.episodes.LoadAndDelete(ev.InstanceID)
		if !ok {
			return
		}
		id := v.(string)
		ms := float64(ev.Duration.Microseconds()) / 1000
		status, level := "Succeeded", slog.LevelInfo
		if ev.Kind == engine.Failed {
			status, level = "Failed", slog.LevelError
		}
		l.log.LogAttrs(context.Background(), level, fmt.Sprintf("Executed '%s' (%s, Id=%s, Duration=%.0fms)", name, status, id, ms),
			slog.String(CategoryKey, cat), slog.String("function", ev.Name), slog.String("invocationId", id), slog.String("instanceId", ev.InstanceID),
			slog.Float64("durationMs", ms))
	}
}

// payload is a payload or reason as logged: redacted unless
// TraceInputsAndOutputs.
func (l *lifecycleLogs) payload(s string) string {
	if l.opts.TraceInputsAndOutputs {
		return s
	}
	return Redact(s)
}

// failure is a failure's reason as logged: its type (and stack trace) by
// default, the full text with TraceInputsAndOutputs.
func (l *lifecycleLogs) failure(fd *sp.FailureDetails) string {
	if fd == nil {
		return ""
	}
	if l.opts.TraceInputsAndOutputs {
		if fd.ErrorType == "" {
			return fd.ErrorMessage
		}
		return fd.ErrorType + ": " + fd.ErrorMessage
	}
	if fd.StackTrace != "" {
		return fd.ErrorType + "\n" + fd.StackTrace
	}
	return fd.ErrorType
}

// Redact is Durable Functions' redacted form of a payload: its length in
// UTF-16 code units, as .NET counts string length.
func Redact(s string) string {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return fmt.Sprintf("(Redacted %d characters)", n)
}

// dotnetBool renders a bool as .NET does in messages.
func dotnetBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
