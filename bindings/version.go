package bindings

import "github.com/funchost/funchost/internal/version"

// CompareVersions orders two orchestration versions as Durable Functions
// does, returning -1, 0 or +1: empty is older than anything; two .NET
// System.Version strings ("1.0", "2.1.3": 2 to 4 numeric components)
// compare numerically, a missing component counting below zero ("1.0" <
// "1.0.0"); anything else compares as case-insensitive text — including a
// single integer, so CompareVersions("10", "9") is -1. Use versions with a
// dot ("1.0", "2.0") to stay clear of that.
//
// It lets an orchestrator branch on OrchestrationContext.Version:
//
//	if bindings.CompareVersions(ctx.Version(), "2.0") < 0 {
//		// instances started before 2.0: the old path, unchanged
//	} else {
//		// the new path
//	}
func CompareVersions(a, b string) int { return version.Compare(a, b) }
