package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// writeApp creates a script root holding the given files (absent when "").
func writeApp(t *testing.T, hostJSON, localJSON string) string {
	t.Helper()
	dir := t.TempDir()
	if hostJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(hostJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if localJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), []byte(localJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHostDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, hostJSON string }{
		{"missing file", ""},
		{"version only", `{"version":"2.0"}`},
		{"empty sections", `{"version":"2.0","extensions":{"http":{},"durableTask":{"storageProvider":{}}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := LoadHost(writeApp(t, tc.hostJSON, ""), NewMapEnv(nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			cpus := runtime.NumCPU()
			checks := []struct {
				field     string
				got, want any
			}{
				{"routePrefix", h.HTTP.RoutePrefix, "api"},
				{"hubName", h.Durable.HubName, "TestHubName"},
				{"type", h.Durable.StorageProvider.Type, ProviderAzureStorage},
				{"connectionName", h.Durable.StorageProvider.ConnectionName, "AzureWebJobsStorage"},
				{"partitionCount", h.Durable.StorageProvider.PartitionCount, 4},
				{"controlQueueBatchSize", h.Durable.StorageProvider.ControlQueueBatchSize, 32},
				{"maxQueuePollingInterval", h.Durable.StorageProvider.MaxQueuePollingInterval, 30 * time.Second},
				{"controlQueueVisibilityTimeout", h.Durable.StorageProvider.ControlQueueVisibilityTimeout, 5 * time.Minute},
				{"maxConcurrentActivityFunctions", h.Durable.MaxConcurrentActivityFunctions, 10 * cpus},
				{"maxConcurrentOrchestratorFunctions", h.Durable.MaxConcurrentOrchestratorFunctions, 10 * cpus},
				{"localActivityExecution", h.Durable.LocalActivityExecution, true},
				{"localRpcEndpointEnabled", h.Durable.LocalRPCEndpointEnabled, true},
				{"functionTimeout", h.FunctionTimeout, 30 * time.Minute},
				{"orchestratorYieldTimeout", h.Durable.OrchestratorYieldTimeout, 5 * time.Second},
				{"maxOrchestrationActions", h.Durable.MaxOrchestrationActions, 100000},
				{"maxOpenActivityCalls", h.Durable.MaxOpenActivityCalls, 0},
				{"maxRequestBodySize", h.HTTP.MaxRequestBodySize, int64(100 << 20)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
				}
			}
		})
	}
}

func TestHostValues(t *testing.T) {
	t.Parallel()
	const hostJSON = `{
  "version": "2.0",
  "functionTimeout": "00:10:30",
  "extensions": {
    "http": { "routePrefix": "", "maxRequestBodySize": 1024 },
    "durableTask": {
      "hubName": "%HubSetting%",
      "storageProvider": {
        "type": "memory",
        "connectionStringName": "OldName",
        "partitionCount": 16,
        "controlQueueBatchSize": 8,
        "maxQueuePollingInterval": "00:00:02",
        "workItemQueueVisibilityTimeout": "00:01:00"
      },
      "maxConcurrentActivityFunctions": 3,
      "maxConcurrentOrchestratorFunctions": 5,
      "extendedSessionsEnabled": true,
      "sessionCacheSize": 50,
      "localActivityExecution": false,
      "localRpcEndpointEnabled": false,
      "httpSettings": { "useForwardedHost": true },
      "maxOrchestrationActions": 50,
      "maxOpenActivityCalls": 7,
      "orchestratorYieldTimeout": "00:00:00",
      "instanceRetention": { "period": "7.00:00:00", "sweepInterval": "00:01:00", "batchSize": 50 }
    }
  }
}`
	env := NewMapEnv(map[string]string{"HubSetting": "MyHub"})
	h, err := LoadHost(writeApp(t, hostJSON, ""), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := h.Durable.StorageProvider
	checks := []struct {
		field     string
		got, want any
	}{
		{"routePrefix", h.HTTP.RoutePrefix, ""},
		{"maxRequestBodySize", h.HTTP.MaxRequestBodySize, int64(1024)},
		{"functionTimeout", h.FunctionTimeout, 10*time.Minute + 30*time.Second},
		{"hubName", h.Durable.HubName, "MyHub"},
		{"type", sp.Type, ProviderMemory},
		{"connectionStringName", sp.ConnectionName, "OldName"},
		{"partitionCount", sp.PartitionCount, 16},
		{"controlQueueBatchSize", sp.ControlQueueBatchSize, 8},
		{"maxQueuePollingInterval", sp.MaxQueuePollingInterval, 2 * time.Second},
		{"workItemQueueVisibilityTimeout", sp.WorkItemQueueVisibilityTimeout, time.Minute},
		{"maxConcurrentActivityFunctions", h.Durable.MaxConcurrentActivityFunctions, 3},
		{"maxConcurrentOrchestratorFunctions", h.Durable.MaxConcurrentOrchestratorFunctions, 5},
		{"extendedSessionsEnabled", h.Durable.ExtendedSessionsEnabled, true},
		{"sessionCacheSize", h.Durable.SessionCacheSize, 50},
		{"localActivityExecution", h.Durable.LocalActivityExecution, false},
		{"maxOrchestrationActions", h.Durable.MaxOrchestrationActions, 50},
		{"maxOpenActivityCalls", h.Durable.MaxOpenActivityCalls, 7},
		{"orchestratorYieldTimeout", h.Durable.OrchestratorYieldTimeout, time.Duration(0)},
		{"localRpcEndpointEnabled", h.Durable.LocalRPCEndpointEnabled, false},
		{"useForwardedHost", h.Durable.UseForwardedHost, true},
		{"instanceRetention.period", h.Durable.Retention.Period, 7 * 24 * time.Hour},
		{"instanceRetention.sweepInterval", h.Durable.Retention.SweepInterval, time.Minute},
		{"instanceRetention.batchSize", h.Durable.Retention.BatchSize, 50},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func TestHubNameFromSiteName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ site, hostJSON, want string }{
		{"my-func-app", `{"version":"2.0"}`, "myfuncapp"},
		{"1app", `{"version":"2.0"}`, "t1app"},
		{"a", `{"version":"2.0"}`, "aHub"},
		{"my-func-app", `{"version":"2.0","extensions":{"durableTask":{"hubName":"Explicit"}}}`, "Explicit"},
	} {
		h, err := LoadHost(writeApp(t, tc.hostJSON, ""), NewMapEnv(map[string]string{"WEBSITE_SITE_NAME": tc.site}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if h.Durable.HubName != tc.want {
			t.Errorf("site %q: hub %q, want %q", tc.site, h.Durable.HubName, tc.want)
		}
	}
}

func TestHostEnvOverrides(t *testing.T) {
	t.Parallel()
	const hostJSON = `{"version":"2.0","extensions":{"durableTask":{"hubName":"FromFile","storageProvider":{"partitionCount":2}}}}`
	env := NewMapEnv(map[string]string{
		"AzureFunctionsJobHost__extensions__durableTask__hubName":                         "FromEnv",
		"azurefunctionsjobhost__Extensions__DurableTask__StorageProvider__PartitionCount": "7",
		"AzureFunctionsJobHost__extensions__http__routePrefix":                            "x",
		"AzureFunctionsJobHost__extensions__durableTask__localActivityExecution":          "false",
	})
	h, err := LoadHost(writeApp(t, hostJSON, ""), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Durable.HubName != "FromEnv" || h.Durable.StorageProvider.PartitionCount != 7 ||
		h.HTTP.RoutePrefix != "x" || h.Durable.LocalActivityExecution {
		t.Errorf("overrides not applied: hub=%q partitions=%d prefix=%q local=%v", h.Durable.HubName,
			h.Durable.StorageProvider.PartitionCount, h.HTTP.RoutePrefix, h.Durable.LocalActivityExecution)
	}
}

func TestHostErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, hostJSON string
		env            map[string]string
		want           []string // substrings of the error
	}{
		{"syntax error", "{\n  \"version\": \"2.0\",\n  \"extensions\": {,\n}", nil, []string{"host.json", "line 3, column"}},
		{"truncated", `{"version": "2.0"`, nil, []string{"host.json", "line 1", "unexpected end"}},
		{"not an object", `[1]`, nil, []string{"host.json", "JSON object"}},
		{"missing version", `{}`, nil, []string{`field "version"`, "required"}},
		{"wrong version", `{"version":"3.0"}`, nil, []string{`field "version"`, `"3.0"`}},
		{"partitionCount high", `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"partitionCount":17}}}}`, nil,
			[]string{"host.json", `"extensions.durableTask.storageProvider.partitionCount"`, "between 1 and 16", "17"}},
		{"partitionCount zero", `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"partitionCount":0}}}}`, nil,
			[]string{`partitionCount"`, "between 1 and 16"}},
		{"partitionCount string", `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"partitionCount":"four"}}}}`, nil,
			[]string{`partitionCount"`, "integer"}},
		{"bad timespan", `{"version":"2.0","functionTimeout":"5 minutes"}`, nil, []string{`"functionTimeout"`, "hh:mm:ss"}},
		{"bad visibility", `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"controlQueueVisibilityTimeout":"02:00:00"}}}}`, nil,
			[]string{"controlQueueVisibilityTimeout", "between 00:01:00 and 01:00:00"}},
		{"zero concurrency", `{"version":"2.0","extensions":{"durableTask":{"maxConcurrentActivityFunctions":0}}}`, nil,
			[]string{"maxConcurrentActivityFunctions", "between 1 and"}},
		{"bad provider", `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"type":"mssql"}}}}`, nil,
			[]string{"storageProvider.type", "mssql"}},
		{"bad hub name", `{"version":"2.0","extensions":{"durableTask":{"hubName":"1-bad"}}}`, nil,
			[]string{"hubName", "1-bad"}},
		{"empty hub setting", `{"version":"2.0","extensions":{"durableTask":{"hubName":"%Missing%"}}}`, nil,
			[]string{"hubName", "empty"}},
		{"bad retention batch", `{"version":"2.0","extensions":{"durableTask":{"instanceRetention":{"period":"1.00:00:00","batchSize":0}}}}`, nil,
			[]string{"instanceRetention.batchSize", "between 1 and"}},
		{"bad bool", `{"version":"2.0","extensions":{"durableTask":{"localActivityExecution":"yes"}}}`, nil,
			[]string{"localActivityExecution", "true or false"}},
		{"bad env override", `{"version":"2.0"}`, map[string]string{"AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount": "99"},
			[]string{"partitionCount", "99"}},
		{"several problems", `{"version":"1.0","extensions":{"durableTask":{"storageProvider":{"partitionCount":40}}}}`, nil,
			[]string{`"version"`, "partitionCount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadHost(writeApp(t, tc.hostJSON, ""), NewMapEnv(tc.env), nil)
			if err == nil {
				t.Fatal("LoadHost succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestHostUnknownKeysWarn(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	const hostJSON = `{"version":"2.0","logging":{"anything":1},"bogus":1,"extensions":{"durableTask":{"hubNmae":"x"}}}`
	if _, err := LoadHost(writeApp(t, hostJSON, ""), NewMapEnv(nil), log); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"field=bogus", "field=extensions.durableTask.hubNmae"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "field=logging.anything") || !strings.Contains(out, "does not implement are ignored: logging.anything") {
		t.Errorf("a key of the open logging section must be reported as not implemented, not unknown: %q", out)
	}
}

func TestLocalSettings(t *testing.T) {
	t.Parallel()
	const local = `{
  "IsEncrypted": false,
  "Values": { "A": "from-file", "B": "from-file", "C": "from-file", "N": 5, "Skip": null },
  "Host": { "LocalHttpPort": 7100, "CORS": "http://a.example,http://b.example/" }
}`
	env := NewMapEnv(map[string]string{"A": "from-env", "B": ""})
	cfg, err := Load(writeApp(t, `{"version":"2.0"}`, local), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, want string }{
		{"A", "from-env"},  // a set, non-empty variable wins
		{"B", "from-file"}, // an empty one does not
		{"C", "from-file"},
		{"N", "5"},
	} {
		if got, _ := env.LookupEnv(c.key); got != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	if _, ok := env.LookupEnv("Skip"); ok {
		t.Error("null value was exported")
	}
	if cfg.Local.LocalHTTPPort != 7100 {
		t.Errorf("port = %d", cfg.Local.LocalHTTPPort)
	}
	if len(cfg.Local.CORS) != 2 || cfg.Local.CORS[1] != "http://b.example" {
		t.Errorf("CORS = %q", cfg.Local.CORS)
	}
}

func TestLocalSettingsFeedHostJSON(t *testing.T) {
	t.Parallel()
	// Values are exported before host.json is read, so overrides and
	// %Setting% references can live in local.settings.json.
	const local = `{"IsEncrypted":false,"Values":{"Hub":"LocalHub","AzureFunctionsJobHost__extensions__http__routePrefix":"v1"}}`
	cfg, err := Load(writeApp(t, `{"version":"2.0","extensions":{"durableTask":{"hubName":"%Hub%"}}}`, local), NewMapEnv(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host.Durable.HubName != "LocalHub" || cfg.Host.HTTP.RoutePrefix != "v1" {
		t.Errorf("hub=%q prefix=%q", cfg.Host.Durable.HubName, cfg.Host.HTTP.RoutePrefix)
	}
}

func TestLocalSettingsDefaults(t *testing.T) {
	t.Parallel()
	ls, err := LoadLocalSettings(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ls.LocalHTTPPort != 7071 || len(ls.Values) != 0 || ls.CORS != nil {
		t.Errorf("defaults = %+v", ls)
	}
}

func TestLocalSettingsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, local string
		want        []string
	}{
		{"syntax", "{\n \"Values\": {\"A\" \"x\"}\n}", []string{"local.settings.json", "line 2, column 17"}},
		{"encrypted", `{"IsEncrypted": true, "Values": {}}`, []string{`"IsEncrypted"`, "not supported"}},
		{"object value", `{"Values": {"A": {"x": 1}}}`, []string{`"Values.A"`, "must be a string"}},
		{"bad port", `{"Host": {"LocalHttpPort": 70000}}`, []string{`"Host.LocalHttpPort"`, "between 1 and 65535"}},
		{"values not object", `{"Values": []}`, []string{`"Values"`, "object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadLocalSettings(writeApp(t, "", tc.local))
			if err == nil {
				t.Fatal("LoadLocalSettings succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:05:00", 5 * time.Minute, true},
		{"01:00:00", time.Hour, true},
		{"1.02:00:00", 26 * time.Hour, true},
		{"00:00:01.5", 1500 * time.Millisecond, true},
		{"5", 5 * 24 * time.Hour, true},
		{"00:61:00", 0, false},
		{"aa:00:00", 0, false},
	} {
		got, err := ParseTimeSpan(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestLenientFiles: the Functions host reads its files with Newtonsoft,
// which accepts a byte-order mark, comments and trailing commas.
func TestLenientFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, host, local string }{
		{"bom", "\xef\xbb\xbf{\"version\":\"2.0\",\"extensions\":{\"durableTask\":{\"hubName\":\"LenientHub\"}}}", "\xef\xbb\xbf{\"Values\":{\"A\":\"1\"}}"},
		{"comments", "{\n // version\n \"version\": \"2.0\", /* hub */ \"extensions\": {\"durableTask\": {\"hubName\": \"LenientHub\"}}\n}",
			"{\n // values\n \"Values\": {\"A\": \"1\" /* one */}\n}"},
		{"trailing commas", "{\"version\":\"2.0\",\"extensions\":{\"durableTask\":{\"hubName\":\"LenientHub\",},},}", "{\"Values\":{\"A\":\"1\",},}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := NewMapEnv(nil)
			cfg, err := Load(writeApp(t, tc.host, tc.local), env, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host.Durable.HubName != "LenientHub" {
				t.Errorf("hubName %q", cfg.Host.Durable.HubName)
			}
			if v, _ := env.LookupEnv("A"); v != "1" {
				t.Errorf("Values.A = %q", v)
			}
		})
	}
	// Errors still name the file, line and column.
	_, err := LoadHost(writeApp(t, "{\n  // ok\n  \"version\": \"2.0\",\n  \"functionTimeout\" \"00:01:00\"\n}", ""), NewMapEnv(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "host.json: invalid JSON at line 4, column 21") {
		t.Fatalf("error %v", err)
	}
}

func TestHostUnimplementedSettingsWarn(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	const hostJSON = `{"version":"2.0","logging":{"logLevel":{"default":"Information"},"applicationInsights":{}},"extensionBundle":{"id":"x"},
		"extensions":{"durableTask":{"tracing":{"traceInputsAndOutputs":true,"distributedTracingProtocol":"W3CTraceContext"},"notifications":{}},"queues":{"batchSize":8}}}`
	h, err := LoadHost(writeApp(t, hostJSON, ""), NewMapEnv(nil), log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "host.json settings funchost does not implement are ignored: extensionBundle, extensions.durableTask.notifications, extensions.durableTask.tracing.distributedTracingProtocol, logging.applicationInsights") {
		t.Errorf("log %q", buf.String())
	}
	if strings.Contains(buf.String(), "queues") || h.Queues.BatchSize != 8 {
		t.Errorf("extensions.queues: %q %+v", buf.String(), h.Queues)
	}
}

func TestQueues(t *testing.T) {
	t.Parallel()
	h, err := LoadHost(writeApp(t, `{"version":"2.0"}`, ""), NewMapEnv(nil), nil)
	if err != nil || h.Queues != DefaultQueues() {
		t.Fatalf("defaults %+v %v", h.Queues, err)
	}
	h, err = LoadHost(writeApp(t, `{"version":"2.0","extensions":{"queues":{"batchSize":4,"newBatchThreshold":0,"maxDequeueCount":2,
		"visibilityTimeout":"00:00:10","maxPollingInterval":"00:00:02","messageEncoding":"None"}}}`, ""), NewMapEnv(nil), nil)
	want := Queues{BatchSize: 4, NewBatchThreshold: 0, MaxDequeueCount: 2, VisibilityTimeout: 10 * time.Second, MaxPollingInterval: 2 * time.Second, MessageEncoding: "none"}
	if err != nil || h.Queues != want {
		t.Fatalf("got %+v %v", h.Queues, err)
	}
	_, err = LoadHost(writeApp(t, `{"version":"2.0","extensions":{"queues":{"batchSize":33,"maxDequeueCount":0,"maxPollingInterval":"00:00:00.050","messageEncoding":"hex"}}}`, ""), NewMapEnv(nil), nil)
	for _, want := range []string{`"extensions.queues.batchSize"`, `"extensions.queues.maxDequeueCount"`, `"extensions.queues.maxPollingInterval"`, `"extensions.queues.messageEncoding"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}

func TestHostTelemetrySettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hostJSON string
		levels   map[string]slog.Level
		tracing  Tracing
		err      string
	}{
		{name: "defaults", hostJSON: `{"version":"2.0"}`, tracing: Tracing{Version: "V2"}},
		{name: "levels", hostJSON: `{"version":"2.0","logging":{"logLevel":{"default":"Warning","Host.Triggers.DurableTask":"information","Function.Hello":"Trace","Function":"None"}}}`,
			levels:  map[string]slog.Level{"default": slog.LevelWarn, "Host.Triggers.DurableTask": slog.LevelInfo, "Function.Hello": LevelTrace, "Function": LevelNone},
			tracing: Tracing{Version: "V2"}},
		{name: "bad level", hostJSON: `{"version":"2.0","logging":{"logLevel":{"default":"Loud"}}}`, err: `"logging.logLevel.default": unknown log level`},
		{name: "tracing", hostJSON: `{"version":"2.0","extensions":{"durableTask":{"tracing":{"traceInputsAndOutputs":true,"TraceReplayEvents":true,"distributedTracingEnabled":true,"version":"V1"}}}}`,
			tracing: Tracing{TraceInputsAndOutputs: true, TraceReplayEvents: true, DistributedTracingEnabled: true, Version: "V2"}},
		{name: "logReplayEvents alias", hostJSON: `{"version":"2.0","extensions":{"durableTask":{"tracing":{"logReplayEvents":true}}}}`,
			tracing: Tracing{TraceReplayEvents: true, Version: "V2"}},
		{name: "version None turns tracing off", hostJSON: `{"version":"2.0","extensions":{"durableTask":{"tracing":{"distributedTracingEnabled":true,"version":"None"}}}}`,
			tracing: Tracing{Version: "None"}},
		{name: "bad version", hostJSON: `{"version":"2.0","extensions":{"durableTask":{"tracing":{"version":"V3"}}}}`, err: "must be V1, V2 or None"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := LoadHost(writeApp(t, tc.hostJSON, ""), NewMapEnv(nil), nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Logging.LogLevel) != len(tc.levels) {
				t.Errorf("levels %v, want %v", h.Logging.LogLevel, tc.levels)
			}
			for k, v := range tc.levels {
				if h.Logging.LogLevel[k] != v {
					t.Errorf("level %s = %v, want %v", k, h.Logging.LogLevel[k], v)
				}
			}
			if h.Durable.Tracing != tc.tracing {
				t.Errorf("tracing %+v, want %+v", h.Durable.Tracing, tc.tracing)
			}
		})
	}
}
