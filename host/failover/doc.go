// Package failover holds funchost's host-level fail-over test: two
// processes of the sample app share one task hub on a private Azurite, one
// of them is killed with SIGKILL in the middle of a run, and every
// orchestration must still complete exactly once on the survivor.
//
// The test builds the sample app (go build ./samples), writes a temporary
// app folder (the repository's functions/, a host.json on a fresh hub and a
// local.settings.json pointing at the Azurite), starts two host processes
// on free ports, waits until they own two partitions each, starts 200
// orchestrations through both, kills one once a few have completed, and
// waits for the survivor to take over the dead host's partitions and finish
// everything. It then checks every instance through the management API and
// the raw History table, and that the survivor still serves every
// partition. Phase timings are logged (-v).
//
// The package has no API; everything is in its tests. Run it with
//
//	go test ./host/failover -v
//
// The hosts' logs are kept in a temporary folder (named in the test log)
// when the test fails, or always with FUNCHOST_FAILOVER_KEEP_LOGS=1.
package failover
