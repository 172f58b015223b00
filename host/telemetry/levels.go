package telemetry

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
)

// CategoryKey is the log attribute that names a record's category, as the
// Functions host's ILogger category ("Host.Triggers.DurableTask",
// "Function.Hello"). Levels are chosen per category.
const CategoryKey = "category"

// Levels is a set of minimum levels by category prefix, read from host.json
// logging.logLevel: as in .NET's logger filter, the longest rule that the
// category starts with (case-insensitive) wins, then "default", then the
// fallback.
type Levels struct {
	rules    []levelRule
	fallback slog.Level
	// min is the lowest level of any rule: records below it are dropped
	// before their category is known.
	min slog.Level
}

type levelRule struct {
	prefix string // lower-cased
	level  slog.Level
}

// NewLevels builds Levels from logging.logLevel (nil or empty: every
// category at fallback).
func NewLevels(logLevel map[string]slog.Level, fallback slog.Level) *Levels {
	l := &Levels{fallback: fallback, min: fallback}
	for k, v := range logLevel {
		if strings.EqualFold(k, "default") {
			l.fallback = v
			continue
		}
		l.rules = append(l.rules, levelRule{prefix: strings.ToLower(k), level: v})
	}
	l.min = l.fallback
	for _, r := range l.rules {
		l.min = min(l.min, r.level)
	}
	return l
}

// For returns the minimum level of a category.
func (l *Levels) For(category string) slog.Level {
	best, level := -1, l.fallback
	c := strings.ToLower(category)
	for _, r := range l.rules {
		if len(r.prefix) > best && strings.HasPrefix(c, r.prefix) {
			best, level = len(r.prefix), r.level
		}
	}
	return level
}

// LevelFilter is a slog.Handler that drops records below their category's
// level. The levels can be replaced while it is in use (the host creates
// its logger before it has read host.json).
type LevelFilter struct {
	inner    slog.Handler
	levels   *atomic.Pointer[Levels]
	category string
	grouped  bool // a group is open: later attributes are not the category
}

// NewLevelFilter wraps inner with levels (nil: everything passes to
// inner).
func NewLevelFilter(inner slog.Handler, levels *Levels) *LevelFilter {
	f := &LevelFilter{inner: inner, levels: &atomic.Pointer[Levels]{}}
	f.levels.Store(levels)
	return f
}

// SetLevels replaces the levels of f and of every handler derived from it.
func (f *LevelFilter) SetLevels(l *Levels) { f.levels.Store(l) }

// Enabled reports whether a record of level l may pass; for a handler that
// does not know its category yet, whether any category lets l pass.
func (f *LevelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	if lv := f.levels.Load(); lv != nil {
		if f.category != "" && l < lv.For(f.category) || f.category == "" && l < lv.min {
			return false
		}
	}
	return f.inner.Enabled(ctx, l)
}

// Handle passes r on when its level reaches its category's.
func (f *LevelFilter) Handle(ctx context.Context, r slog.Record) error {
	if lv := f.levels.Load(); lv != nil {
		cat := f.category
		if cat == "" && !f.grouped {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == CategoryKey {
					cat = a.Value.String()
					return false
				}
				return true
			})
		}
		if r.Level < lv.For(cat) {
			return nil
		}
	}
	return f.inner.Handle(ctx, r)
}

// WithAttrs remembers a category attribute.
func (f *LevelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	c := *f
	c.inner = f.inner.WithAttrs(as)
	if !f.grouped {
		for _, a := range as {
			if a.Key == CategoryKey {
				c.category = a.Value.String()
			}
		}
	}
	return &c
}

// WithGroup opens a group.
func (f *LevelFilter) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	c := *f
	c.inner, c.grouped = f.inner.WithGroup(name), true
	return &c
}
