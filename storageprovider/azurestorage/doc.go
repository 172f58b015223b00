// Package azurestorage is a storageprovider.TaskHub on Azure Storage
// (tables, queues and blobs) in the Durable Task Framework's layout, so
// that DTFx tools can read a hub it writes. It runs on Azurite and on real
// Azure Storage. docs/storage-layout.md describes the layout, the message
// format, partition ownership and the commit protocol.
//
// Control queues are partitions: a host owns a partition through a blob
// lease, receives its control queue and is the only one that runs the
// orchestrations hashed to it. History is committed in entity-group
// batches guarded by the ETag of the instance's sentinel row, so a worker
// that lost ownership cannot commit over a newer owner.
//
// Files, one job each:
//
//	taskhub.go        TaskHub: composition of the parts below, life cycle, create and delete storage
//	options.go        Options, their defaults and the polling backoff rule
//	names.go          resource names, instance-ID key sanitation, OData quoting
//	connection.go     connection strings and identity-based connections
//	clients.go        SDK clients, retries, raw $batch capture, storage error helpers
//	serviceclients.go queue and blob service clients for host parts outside the task hub
//	counter.go        RequestCounter: storage requests by service and operation
//	batch.go          parsing entity-group transaction replies (sentinel ETags)
//	entities.go       table rows: history events and status rows to and from entities
//	messages.go       queue message bodies (DTFx MessageData JSON)
//	blobs.go          largeStore: offloaded payloads in the large-messages container
//	instances.go      instanceRows and instance creation, status queries, purge
//	history.go        historyRows: reading history, committing rows under the sentinel ETag
//	send.go           sender: every enqueue the provider makes, and SendTaskMessages
//	localsend.go      starts for owned partitions handed to the dispatcher without a dequeue
//	locks.go          received messages (qmsg) and queueOps: renew, release, delete
//	receive.go        receiver: control-queue receive loops and message decoding
//	leases.go         leaseManager: partition lease blobs, renewal and balancing
//	partitions.go     partitionManager: owned partitions, their epochs and wake-ups
//	dispatcher.go     dispatcher: per-instance message grouping and the history cache
//	orchestrations.go orchestration work items: lock, build, renew, abandon
//	commit.go         CompleteOrchestrationWorkItem: the commit protocol
//	activities.go     activityPoller and activity work items, local result delivery
//	parallel.go       bounded parallelism, sleeps, jitter, wake-up signals
//
// The azuritetest subpackage starts private Azurite instances for tests.
package azurestorage
