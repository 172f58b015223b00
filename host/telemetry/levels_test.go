package telemetry

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/funchost/funchost/host/config"
)

func TestLevelsFor(t *testing.T) {
	t.Parallel()
	l := NewLevels(map[string]slog.Level{
		"default": slog.LevelWarn, "Host.Triggers.DurableTask": slog.LevelInfo, "Host": slog.LevelError,
		"function.Hello": slog.LevelDebug, "Function": config.LevelNone,
	}, slog.LevelInfo)
	tests := []struct {
		category string
		want     slog.Level
	}{
		{"", slog.LevelWarn},
		{"Other", slog.LevelWarn},
		{"Host.Triggers.DurableTask", slog.LevelInfo},
		{"host.triggers.durabletask.AzureStorage", slog.LevelInfo},
		{"Host.Startup", slog.LevelError},
		{"Function.Hello", slog.LevelDebug},
		{"Function.Hello.User", slog.LevelDebug},
		{"Function.Other", config.LevelNone},
	}
	for _, tc := range tests {
		if got := l.For(tc.category); got != tc.want {
			t.Errorf("For(%q) = %v, want %v", tc.category, got, tc.want)
		}
	}
	if got := NewLevels(nil, slog.LevelInfo).For("x"); got != slog.LevelInfo {
		t.Errorf("no rules: %v, want the fallback", got)
	}
}

func TestLevelFilter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := NewLevelFilter(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: config.LevelTrace}), nil)
	log := slog.New(f)
	log.Debug("unfiltered debug") // nil levels: everything passes
	f.SetLevels(NewLevels(map[string]slog.Level{"Host.Triggers.DurableTask": slog.LevelWarn, "Function.A": slog.LevelDebug}, slog.LevelInfo))
	dt := log.With(CategoryKey, "Host.Triggers.DurableTask")
	dt.Info("dt info")
	dt.Warn("dt warn")
	log.Debug("a debug", CategoryKey, "Function.A")
	log.Debug("b debug", CategoryKey, "Function.B")
	log.Info("plain info")
	log.Debug("plain debug")
	log.WithGroup("g").With(CategoryKey, "Function.A").Debug("grouped debug") // a grouped attribute is no category
	out := buf.String()
	for msg, want := range map[string]bool{"unfiltered debug": true, "dt info": false, "dt warn": true, "a debug": true, "b debug": false,
		"plain info": true, "plain debug": false, "grouped debug": false} {
		if got := strings.Contains(out, "msg=\""+msg+"\""); got != want {
			t.Errorf("%q logged = %v, want %v; log:\n%s", msg, got, want, out)
		}
	}
	if dt.Enabled(t.Context(), slog.LevelInfo) || !dt.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("Enabled of a categorised logger does not follow its category's level")
	}
}
