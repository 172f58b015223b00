package config

import (
	"log/slog"
	"sort"
	"strings"
)

// Logging is host.json's logging section as far as funchost implements it.
type Logging struct {
	// LogLevel maps a category prefix (e.g. "Host.Triggers.DurableTask",
	// "Function.Hello", "default") to the minimum level logged for it. The
	// keys keep host.json's spelling; matching is case-insensitive.
	LogLevel map[string]slog.Level
}

// Tracing is extensions.durableTask.tracing.
type Tracing struct {
	// TraceInputsAndOutputs logs payloads and failure messages in the
	// lifecycle logs instead of "(Redacted n characters)".
	TraceInputsAndOutputs bool
	// TraceReplayEvents logs the lifecycle events an orchestrator re-lives
	// while replaying (logReplayEvents, the Durable Functions 1.x name, is
	// accepted too).
	TraceReplayEvents bool
	// DistributedTracingEnabled turns on OpenTelemetry spans; Version is
	// "V2" (default when enabled), "V1" (treated as V2) or "None" (off).
	DistributedTracingEnabled bool
	Version                   string
}

// LevelNone is the level of the "None" log level: nothing is logged.
const LevelNone = slog.Level(1 << 20)

// LevelCritical is .NET's Critical, above Error.
const LevelCritical = slog.LevelError + 4

// LevelTrace is .NET's Trace, below Debug.
const LevelTrace = slog.LevelDebug - 4

// logLevels are the .NET LogLevel names.
var logLevels = map[string]slog.Level{
	"trace": LevelTrace, "debug": slog.LevelDebug, "information": slog.LevelInfo, "warning": slog.LevelWarn,
	"error": slog.LevelError, "critical": LevelCritical, "none": LevelNone,
}

// ParseLogLevel reads a .NET LogLevel name (Trace, Debug, Information,
// Warning, Error, Critical, None; case-insensitive).
func ParseLogLevel(s string) (slog.Level, bool) {
	l, ok := logLevels[strings.ToLower(strings.TrimSpace(s))]
	return l, ok
}

// readTelemetry reads logging.logLevel and extensions.durableTask.tracing.
func readTelemetry(r *reader, h *Host) {
	if v, ok := r.get("logging.logLevel"); ok {
		obj, isObj := v.(map[string]any)
		if !isObj {
			r.fail("logging.logLevel", "must be an object of category: level")
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.Logging.LogLevel = map[string]slog.Level{}
		for _, k := range keys {
			s, _ := scalarText(obj[k])
			l, ok := ParseLogLevel(s)
			if !ok {
				r.fail("logging.logLevel."+k, "unknown log level %s (want Trace, Debug, Information, Warning, Error, Critical or None)", show(obj[k]))
				continue
			}
			h.Logging.LogLevel[k] = l
		}
	}
	const tr = "extensions.durableTask.tracing."
	t := &h.Durable.Tracing
	t.TraceInputsAndOutputs = r.boolean(tr+"traceInputsAndOutputs", false)
	t.TraceReplayEvents = r.boolean(tr+"logReplayEvents", false)
	t.TraceReplayEvents = r.boolean(tr+"traceReplayEvents", t.TraceReplayEvents)
	t.DistributedTracingEnabled = r.boolean(tr+"distributedTracingEnabled", false)
	t.Version = "V2"
	if v := r.str(tr+"version", "V2"); strings.EqualFold(v, "V1") || strings.EqualFold(v, "V2") {
		t.Version = "V2"
	} else if strings.EqualFold(v, "None") {
		t.Version = "None"
	} else {
		r.fail(tr+"version", "must be V1, V2 or None, got %q", v)
	}
	if t.Version == "None" {
		t.DistributedTracingEnabled = false
	}
}

// loggingKeys is what funchost knows of host.json's logging section.
var loggingKeys = schema{
	"logLevel":            nil,
	"fileLoggingMode":     notImplemented,
	"applicationInsights": notImplemented,
	"console":             notImplemented,
	"*":                   notImplemented,
}

// tracingKeys is what funchost knows of extensions.durableTask.tracing.
var tracingKeys = schema{
	"traceInputsAndOutputs":      nil,
	"traceReplayEvents":          nil,
	"logReplayEvents":            nil,
	"distributedTracingEnabled":  nil,
	"version":                    nil,
	"distributedTracingProtocol": notImplemented,
	"allowVerboseLinuxTelemetry": notImplemented,
}
