// Package cli is the command line of every funchost app binary:
// host.Main hands it the process's arguments. Operators of Durable
// Functions apps use Core Tools' `func start` and `func durable …`; an
// app built on funchost is its own tool instead, so that the binary that
// serves an app is also the one that inspects and steers its task hub.
//
// The command tree (docs/cli.md has the operator's view):
//
//   - start (also the root command: no command serves, with the flags the
//     binary always took) calls back into host.Run through Config.Start;
//   - functions list shows what Config.Functions reports;
//   - durable … works on the app's task hub.
//
// The durable commands reach the hub through one interface, Hub, with
// two implementations: storageHub (on storage with the app's
// configuration, through host/durable and the durable client) and httpHub
// (a running host's management API). Other packages add durable
// subcommands with AddDurableCommand.
//
// Files: cli.go (Config, Run, exit codes, the root), start.go, functions.go,
// output.go (tables, colour, JSON), durable.go (the group, Env,
// AddDurableCommand), target.go (Hub, the connection flags, error
// messages), storagehub.go, httphub.go, flags.go (filters, times, JSON
// arguments), instances.go (get-instances, get-runtime-status,
// get-history), control.go (start-new, raise-event, terminate, suspend,
// resume, rewind, restart), purge.go (purge-history, delete-task-hub,
// prompts, progress).
//
// Package host imports this package, never the reverse: what needs the
// app's Go handlers comes in through Config.
package cli
