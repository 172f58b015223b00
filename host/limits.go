package host

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
)

// Settings bounding what an orchestration stores. An orchestration whose
// output, or a custom status, is larger than the limit fails with a
// message naming the setting, instead of the host holding and writing an
// unbounded payload. "0" turns a limit off.
const (
	SettingMaxOrchestrationOutput = "FUNCHOST_MAX_ORCHESTRATION_OUTPUT_BYTES"
	SettingMaxCustomStatus        = "FUNCHOST_MAX_CUSTOM_STATUS_BYTES"
)

// Defaults of the limits: outputs well above the 10 MB payloads the
// provider round-trips through blobs, and Durable Functions' documented
// 16 KB of custom status (funchost counts UTF-8 JSON bytes and allows
// four times that, so nothing that works in Azure fails here).
const (
	DefaultMaxOrchestrationOutput = 32 << 20
	DefaultMaxCustomStatus        = 64 << 10
)

// payloadLimits are the resolved limits in bytes of JSON (0 = none).
type payloadLimits struct {
	output, customStatus int
}

// readPayloadLimits reads the limit settings.
func readPayloadLimits(env config.Env) (payloadLimits, error) {
	l := payloadLimits{output: DefaultMaxOrchestrationOutput, customStatus: DefaultMaxCustomStatus}
	for _, s := range []struct {
		name string
		dst  *int
	}{{SettingMaxOrchestrationOutput, &l.output}, {SettingMaxCustomStatus, &l.customStatus}} {
		v, ok := env.LookupEnv(s.name)
		if !ok || v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return l, fmt.Errorf("%s=%q: want a number of bytes (0 = no limit)", s.name, v)
		}
		*s.dst = n
	}
	return l, nil
}

// limitOrchestrator enforces l on one orchestrator: its output when it
// returns, its custom status when set (a panic, which fails the
// orchestration with the message, since SetCustomStatus returns nothing).
func limitOrchestrator(name string, o bindings.Orchestrator, l payloadLimits) bindings.Orchestrator {
	if l.output == 0 && l.customStatus == 0 {
		return o
	}
	return func(ctx bindings.OrchestrationContext) (any, error) {
		out, err := o(limitedContext{OrchestrationContext: ctx, name: name, limit: l.customStatus})
		if err != nil || l.output == 0 {
			return out, err
		}
		if n := jsonSize(out); n > l.output {
			return nil, fmt.Errorf("orchestrator %s, instance %s: its output is %d bytes of JSON; the limit is %d (%s): store large results in a blob and return a reference",
				name, ctx.InstanceID(), n, l.output, SettingMaxOrchestrationOutput)
		}
		return out, nil
	}
}

// limitedContext checks custom statuses against the limit.
type limitedContext struct {
	bindings.OrchestrationContext
	name  string
	limit int
}

func (c limitedContext) SetCustomStatus(v any) {
	if c.limit > 0 {
		if n := jsonSize(v); n > c.limit {
			panic(fmt.Sprintf("orchestrator %s, instance %s: a custom status of %d bytes of JSON is over the limit of %d (%s)",
				c.name, c.InstanceID(), n, c.limit, SettingMaxCustomStatus))
		}
	}
	c.OrchestrationContext.SetCustomStatus(v)
}

// jsonSize is the size of v's JSON (0 when it does not serialise: the
// engine reports that failure itself).
func jsonSize(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case json.RawMessage:
		return len(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}
