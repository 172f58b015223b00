package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/funchost/funchost/internal/version"
)

func TestVersioning(t *testing.T) {
	t.Parallel()
	const override = "AzureFunctionsJobHost__extensions__durableTask__defaultVersion"
	for _, tc := range []struct {
		name    string
		durable string
		env     map[string]string
		want    version.Settings
		errs    []string
	}{
		{name: "defaults", durable: `{}`, want: version.Settings{Match: version.MatchCurrentOrOlder, Failure: version.FailReject}},
		{name: "null is unset", durable: `{"defaultVersion":null}`, want: version.Settings{Match: version.MatchCurrentOrOlder}},
		{name: "all three", durable: `{"defaultVersion":"2.0","versionMatchStrategy":"Strict","versionFailureStrategy":"Fail"}`,
			want: version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailFail}},
		{name: "case-insensitive names", durable: `{"defaultVersion":"v1","versionMatchStrategy":"none","versionFailureStrategy":"REJECT"}`,
			want: version.Settings{Default: "v1", Match: version.MatchNone, Failure: version.FailReject}},
		{name: "number version", durable: `{"defaultVersion":2}`, want: version.Settings{Default: "2", Match: version.MatchCurrentOrOlder}},
		{name: "setting references stay literal", durable: `{"defaultVersion":"%VERSION%"}`, env: map[string]string{"VERSION": "3.0"},
			want: version.Settings{Default: "%VERSION%", Match: version.MatchCurrentOrOlder}},
		{name: "app setting override", durable: `{"defaultVersion":"1.0"}`, env: map[string]string{override: "1.1"},
			want: version.Settings{Default: "1.1", Match: version.MatchCurrentOrOlder}},
		{name: "bad values", durable: `{"defaultVersion":{},"versionMatchStrategy":"Latest","versionFailureStrategy":"Retry"}`,
			errs: []string{`"extensions.durableTask.defaultVersion"`, `"extensions.durableTask.versionMatchStrategy"`, "Strict", `"extensions.durableTask.versionFailureStrategy"`, "Retry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			h, err := LoadHost(writeApp(t, `{"version":"2.0","extensions":{"durableTask":`+tc.durable+`}}`, ""), NewMapEnv(tc.env), slog.New(slog.NewTextHandler(&buf, nil)))
			if tc.errs != nil {
				for _, want := range tc.errs {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v lacks %s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Durable.Versioning != tc.want {
				t.Errorf("Versioning = %+v, want %+v", h.Durable.Versioning, tc.want)
			}
			if strings.Contains(buf.String(), "ersion") {
				t.Errorf("versioning keys warned about: %s", buf.String())
			}
		})
	}
}
