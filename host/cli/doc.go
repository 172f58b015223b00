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
// Files: cli.go (Config, Run, exit codes, the root), start.go, functions.go,
// output.go (tables, colour, JSON).
//
// Package host imports this package, never the reverse: what needs the
// app's Go handlers comes in through Config.
package cli
