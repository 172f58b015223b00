// Package failover holds funchost's host-level fail-over and fault tests:
// real processes of the sample app (or of internal/faultapp, the sample
// app plus misbehaving functions) on one task hub on a private Azurite.
//
// In the normal suite, TestTimerOnceAcrossTwoProcesses checks that a timer
// trigger fires once across two processes. Behind the build tag "faults"
// (make test-faults, which make test runs; docs/reliability.md):
// TestFaultKillHostsOfThree SIGKILLs two of three hosts (restarting one)
// under a mixed workload and checks that every orchestration completes
// exactly once with its output, through the management API and the raw
// History table; TestStorageOutageAcrossTwoHosts races 1,000 singleton
// starts and stops Azurite mid-run; TestFaultyCodeBesideGoodOnes runs
// misbehaving orchestrators, activities and entities beside good ones in
// one process; TestFaultTraceAcrossKilledHost SIGKILLs the host running a
// traced orchestration and checks that the spans both processes print
// form the one trace the caller started (docs/observability.md).
//
// The package has no API; everything is in its tests. Run them with
//
//	go test -tags faults ./host/failover -v
//
// The hosts' logs of the kill test are kept in a temporary folder (named
// in the test log) when it fails, or always with
// FUNCHOST_FAILOVER_KEEP_LOGS=1.
package failover
