package determinism

import (
	"go/types"
	"strings"
)

// category is one kind of non-determinism; its hint names the safe
// alternative the diagnostic recommends.
type category int

const (
	catClockRead category = iota
	catClockWait
	catRandom
	catGUID
	catEnv
	catFile
	catNetwork
	catDatabase
	catIO
	catDeclaredIO
	catDurableClient
	catPrint
	catGoroutine
	catChannel
	catSync
	catGlobal
	catMapRange
	catMapOrder
	catSharedRand
	catLoop
)

// hints holds each category's message: what orchestrator code must not do,
// why when it is not obvious, and what to use instead.
var hints = map[category]string{
	catClockRead:     "orchestrator code must not read the clock; use ctx.CurrentUTCDateTime()",
	catClockWait:     "orchestrator code must not sleep or use Go timers; use a durable timer: ctx.CreateTimer(fireAt).Await(nil)",
	catRandom:        "orchestrator code must not use random numbers; use ctx.NewGUID() or get the value from an activity",
	catGUID:          "orchestrator code must not generate random GUIDs; use ctx.NewGUID()",
	catEnv:           "orchestrator code must not read the process or machine environment (it can differ when the orchestration is replayed); pass the value in the orchestration input or read it in an activity",
	catFile:          "orchestrator code must not do file or process I/O; do it in an activity (ctx.CallActivity)",
	catNetwork:       "orchestrator code must not use the network; do it in an activity (ctx.CallActivity)",
	catDatabase:      "orchestrator code must not use a database; do it in an activity (ctx.CallActivity)",
	catIO:            "orchestrator code must not call network, storage or database clients; do it in an activity (ctx.CallActivity)",
	catDeclaredIO:    "orchestrator code must not call code marked //durablevet:io (it does I/O); do it in an activity (ctx.CallActivity)",
	catDurableClient: "orchestrator code must not use a durable client; use ctx.CallSubOrchestrator or ctx.SendEvent, or do it in an activity",
	catPrint:         "orchestrator code must not print or log to the process output (it repeats on every replay); use ctx.Logger()",
	catGoroutine:     "orchestrator code must not start goroutines; schedule tasks and wait for them with ctx.WhenAll / ctx.WhenAny",
	catChannel:       "orchestrator code must not use channels or select; wait for tasks with ctx.WhenAll / ctx.WhenAny",
	catSync:          "orchestrator code must not use sync or sync/atomic primitives (it runs on one goroutine); combine tasks with ctx.WhenAll / ctx.WhenAny",
	catGlobal:        "orchestrator code must not write package-level variables (they outlive a replay and are shared by all instances); keep state in local variables, the input, or ctx.ContinueAsNew",
	catMapRange:      "Go randomises map iteration order, so a replay may take a different path; range over sorted keys instead (slices.Sorted(maps.Keys(m)))",
	catMapOrder:      "the slice comes in Go's random map order, so a replay may take a different path; sort it (slices.Sort, sort.Strings) before using it, or collect it sorted: slices.Sorted(maps.Keys(m))",
	catSharedRand:    "a package-level random generator is shared by every instance and keeps advancing across replays; seed a local generator from the input or ctx.NewGUID(), or get the value from an activity",
	catLoop:          "unbounded loop schedules work without ctx.ContinueAsNew, so the history grows forever; call ctx.ContinueAsNew(state) and return to restart with an empty history",
}

// all marks a package or type whose every function or method is banned.
const all = "*"

// funcRules bans package-level functions: import path → function name (or
// all) → category.
var funcRules = map[string]map[string]category{
	"time": {
		"Now": catClockRead, "Since": catClockRead, "Until": catClockRead,
		"Sleep": catClockWait, "After": catClockWait, "AfterFunc": catClockWait,
		"Tick": catClockWait, "NewTimer": catClockWait, "NewTicker": catClockWait,
		"LoadLocation": catEnv, // reads the host's time-zone database
	},
	// The machine and the running binary: they change between hosts,
	// restarts and deployments, and a replay may run on any of them.
	"runtime": {
		"NumCPU": catEnv, "GOMAXPROCS": catEnv, "NumGoroutine": catEnv, "NumCgoCall": catEnv,
		"ReadMemStats": catEnv, "GOROOT": catEnv, "Version": catEnv,
	},
	"runtime/debug": {"ReadBuildInfo": catEnv, "SetMaxThreads": catEnv, "SetGCPercent": catEnv, "SetMemoryLimit": catEnv},
	"os/user":       {all: catEnv},
	"flag":          {"Arg": catEnv, "Args": catEnv, "NArg": catEnv, "Parse": catEnv},
	"syscall": {
		"Getenv": catEnv, "Environ": catEnv, "Getpid": catEnv, "Getppid": catEnv, "Getuid": catEnv,
		"Geteuid": catEnv, "Getgid": catEnv, "Getegid": catEnv, "Getpagesize": catEnv, "Getwd": catEnv,
		"Gettimeofday": catClockRead, "Time": catClockRead, all: catFile,
	},
	"context": {
		"WithTimeout": catClockWait, "WithTimeoutCause": catClockWait,
		"WithDeadline": catClockWait, "WithDeadlineCause": catClockWait,
	},
	"crypto/rand": {all: catRandom},
	"os": {
		"Getenv": catEnv, "LookupEnv": catEnv, "Environ": catEnv, "ExpandEnv": catEnv,
		"Setenv": catEnv, "Unsetenv": catEnv, "Clearenv": catEnv,
		"Hostname": catEnv, "Getpid": catEnv, "Getppid": catEnv, "Getuid": catEnv,
		"Geteuid": catEnv, "Getgid": catEnv, "Getegid": catEnv, "Getgroups": catEnv,
		"Getwd": catEnv, "Executable": catEnv, "TempDir": catEnv, "UserHomeDir": catEnv,
		"UserCacheDir": catEnv, "UserConfigDir": catEnv, "Getpagesize": catEnv,
		"Open": catFile, "OpenFile": catFile, "Create": catFile, "CreateTemp": catFile,
		"MkdirTemp": catFile, "ReadFile": catFile, "WriteFile": catFile, "ReadDir": catFile,
		"Remove": catFile, "RemoveAll": catFile, "Rename": catFile, "Mkdir": catFile,
		"MkdirAll": catFile, "Stat": catFile, "Lstat": catFile, "Chdir": catFile,
		"Chmod": catFile, "Chown": catFile, "Lchown": catFile, "Chtimes": catFile,
		"Truncate": catFile, "Link": catFile, "Symlink": catFile, "Readlink": catFile,
		"DirFS": catFile, "CopyFS": catFile, "Pipe": catFile, "StartProcess": catFile,
		"FindProcess": catFile, "OpenRoot": catFile, "OpenInRoot": catFile, "Exit": catFile,
	},
	"os/exec":       {all: catFile},
	"os/signal":     {all: catFile},
	"io/ioutil":     {"ReadFile": catFile, "WriteFile": catFile, "ReadDir": catFile, "TempDir": catFile, "TempFile": catFile},
	"path/filepath": {"Walk": catFile, "WalkDir": catFile, "Glob": catFile, "EvalSymlinks": catFile, "Abs": catFile},
	"net": {
		"Dial": catNetwork, "DialTimeout": catNetwork, "DialIP": catNetwork, "DialTCP": catNetwork,
		"DialUDP": catNetwork, "DialUnix": catNetwork, "Listen": catNetwork, "ListenIP": catNetwork,
		"ListenMulticastUDP": catNetwork, "ListenPacket": catNetwork, "ListenTCP": catNetwork,
		"ListenUDP": catNetwork, "ListenUnix": catNetwork, "ListenUnixgram": catNetwork,
		"LookupAddr": catNetwork, "LookupCNAME": catNetwork, "LookupHost": catNetwork,
		"LookupIP": catNetwork, "LookupMX": catNetwork, "LookupNS": catNetwork, "LookupPort": catNetwork,
		"LookupSRV": catNetwork, "LookupTXT": catNetwork, "Interfaces": catNetwork,
		"InterfaceAddrs": catNetwork, "InterfaceByIndex": catNetwork, "InterfaceByName": catNetwork,
		"FileConn": catNetwork, "FileListener": catNetwork, "FilePacketConn": catNetwork,
		"ResolveIPAddr": catNetwork, "ResolveTCPAddr": catNetwork, "ResolveUDPAddr": catNetwork,
		"ResolveUnixAddr": catNetwork, "Pipe": catNetwork,
	},
	"net/http": {
		"Get": catNetwork, "Head": catNetwork, "Post": catNetwork, "PostForm": catNetwork,
		"ListenAndServe": catNetwork, "ListenAndServeTLS": catNetwork, "Serve": catNetwork,
		"ServeTLS": catNetwork, "ServeFile": catNetwork, "ServeFileFS": catNetwork,
	},
	"net/smtp":        {all: catNetwork},
	"net/rpc":         {all: catNetwork},
	"net/rpc/jsonrpc": {all: catNetwork},
	"database/sql":    {"Open": catDatabase, "OpenDB": catDatabase},
	"fmt": {
		"Print": catPrint, "Printf": catPrint, "Println": catPrint,
		"Scan": catFile, "Scanf": catFile, "Scanln": catFile,
	},
	"log": {
		"Print": catPrint, "Printf": catPrint, "Println": catPrint,
		"Fatal": catPrint, "Fatalf": catPrint, "Fatalln": catPrint,
		"Panic": catPrint, "Panicf": catPrint, "Panicln": catPrint, "Output": catPrint,
		"Default": catPrint, "Writer": catPrint,
	},
	"log/slog": {
		"Default": catPrint,
		"Debug":   catPrint, "Info": catPrint, "Warn": catPrint, "Error": catPrint,
		"DebugContext": catPrint, "InfoContext": catPrint, "WarnContext": catPrint,
		"ErrorContext": catPrint, "Log": catPrint, "LogAttrs": catPrint,
	},
	"sync":        {all: catSync},
	"sync/atomic": {all: catSync},

	// Libraries that run functions on goroutines of their own, or block.
	"golang.org/x/sync/errgroup":       {all: catSync},
	"golang.org/x/sync/semaphore":      {all: catSync},
	"golang.org/x/sync/singleflight":   {all: catSync},
	"github.com/sourcegraph/conc":      {all: catSync},
	"github.com/sourcegraph/conc/pool": {all: catSync},
	"github.com/sourcegraph/conc/iter": {all: catGoroutine},
	"github.com/panjf2000/ants/v2":     {"Submit": catGoroutine, all: catSync},
	"github.com/alitto/pond":           {all: catSync},
	"github.com/alitto/pond/v2":        {"Submit": catGoroutine, "SubmitErr": catGoroutine, all: catSync},
	"github.com/gammazero/workerpool":  {all: catSync},
}

// goroutineStarters are the methods that run a function on a new
// goroutine, whatever the type: errgroup.Group.Go, sync.WaitGroup.Go,
// conc and worker-pool Go / Submit. The rest of those types' methods block
// or synchronise (catSync).
var goroutineStarters = map[string]category{
	"Go": catGoroutine, "TryGo": catGoroutine, "Submit": catGoroutine, "SubmitErr": catGoroutine,
	"TrySubmit": catGoroutine, "TrySubmitErr": catGoroutine, "SubmitWait": catGoroutine,
	"Invoke": catGoroutine, all: catSync,
}

// methodRules bans methods: import path → receiver type name → method name
// (or all) → category. Interface methods count: a call through
// bindings.DurableClient is caught whatever implements it.
var methodRules = map[string]map[string]map[string]category{
	"os": {
		"File": {all: catFile}, "Process": {all: catFile}, "Root": {all: catFile},
	},
	"os/exec": {"Cmd": {all: catFile}},
	"net": {
		"Conn": {all: catNetwork}, "PacketConn": {all: catNetwork}, "Listener": {all: catNetwork},
		"Dialer": {all: catNetwork}, "Resolver": {all: catNetwork}, "ListenConfig": {all: catNetwork},
		"TCPConn": {all: catNetwork}, "UDPConn": {all: catNetwork}, "IPConn": {all: catNetwork},
		"UnixConn": {all: catNetwork}, "TCPListener": {all: catNetwork}, "UnixListener": {all: catNetwork},
		"Interface": {all: catNetwork},
	},
	"net/http": {
		"Client": {all: catNetwork}, "Server": {all: catNetwork}, "Transport": {all: catNetwork},
		"RoundTripper": {all: catNetwork},
	},
	"net/smtp":        {all: {all: catNetwork}},
	"net/rpc":         {all: {all: catNetwork}},
	"net/rpc/jsonrpc": {all: {all: catNetwork}},
	"database/sql": {
		"DB": {all: catDatabase}, "Tx": {all: catDatabase}, "Conn": {all: catDatabase},
		"Stmt": {all: catDatabase}, "Rows": {all: catDatabase}, "Row": {all: catDatabase},
	},
	"log": {
		"Logger": {
			"Print": catPrint, "Printf": catPrint, "Println": catPrint,
			"Fatal": catPrint, "Fatalf": catPrint, "Fatalln": catPrint,
			"Panic": catPrint, "Panicf": catPrint, "Panicln": catPrint, "Output": catPrint,
		},
	},
	"sync":        {"WaitGroup": goroutineStarters, all: {all: catSync}},
	"sync/atomic": {all: {all: catSync}},
	"time":        {"Time": {"Local": catEnv}},
	bindingsPath:  {"DurableClient": {all: catDurableClient}},

	"golang.org/x/sync/errgroup":         {all: goroutineStarters},
	"golang.org/x/sync/semaphore":        {all: {all: catSync}},
	"golang.org/x/sync/singleflight":     {all: {all: catSync}},
	"github.com/sourcegraph/conc":        {all: goroutineStarters},
	"github.com/sourcegraph/conc/pool":   {all: goroutineStarters},
	"github.com/sourcegraph/conc/stream": {all: goroutineStarters},
	"github.com/sourcegraph/conc/iter":   {all: {all: catGoroutine}},
	"github.com/panjf2000/ants/v2":       {all: goroutineStarters},
	"github.com/alitto/pond":             {all: goroutineStarters},
	"github.com/alitto/pond/v2":          {all: goroutineStarters},
	"github.com/gammazero/workerpool":    {all: goroutineStarters},

	// Pagers and pollers of the Azure SDK fetch pages over the network.
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime": {
		"Pager": {"NextPage": catIO}, "Poller": {all: catIO},
	},
}

// varRules bans reading package-level variables that stand for I/O or
// randomness: passing os.Stdout to fmt.Fprintln prints just as fmt.Println
// does.
var varRules = map[string]map[string]category{
	"os":          {"Stdin": catFile, "Stdout": catPrint, "Stderr": catPrint, "Args": catEnv},
	"time":        {"Local": catEnv},
	"crypto/rand": {"Reader": catRandom},
	"net/http":    {"DefaultClient": catNetwork, "DefaultTransport": catNetwork},
}

// seededRandConstructors are the math/rand constructors: a generator with a
// fixed seed is deterministic, so only the seed's source (often time.Now,
// caught on its own) decides. Methods on *rand.Rand are therefore allowed
// too.
var seededRandConstructors = map[string]bool{
	"New": true, "NewSource": true, "NewZipf": true, "NewPCG": true, "NewChaCha8": true,
}

// uuidPackages are the GUID libraries whose New* functions draw random or
// time-based UUIDs.
var uuidPackages = map[string]bool{
	"github.com/google/uuid":       true,
	"github.com/gofrs/uuid":        true,
	"github.com/gofrs/uuid/v5":     true,
	"github.com/satori/go.uuid":    true,
	"github.com/hashicorp/go-uuid": true,
}

// nameBasedUUID are the deterministic (hash-of-a-name) generators.
var nameBasedUUID = map[string]bool{
	"NewMD5": true, "NewSHA1": true, "NewHash": true, "NewV3": true, "NewV5": true,
	"NewGen": true, "NewGenWithOptions": true, "NewGenWithHWAF": true,
}

// classifyFunc reports whether using fn (calling it or taking its value)
// is non-deterministic, with the name to show for it.
func classifyFunc(fn *types.Func) (op string, cat category, banned bool) {
	if fn.Pkg() == nil {
		return "", 0, false
	}
	path, name := fn.Pkg().Path(), fn.Name()
	sig, _ := fn.Type().(*types.Signature)
	if sig != nil && sig.Recv() != nil {
		tn := recvTypeName(sig.Recv().Type())
		if tn == "" {
			return "", 0, false
		}
		byType := methodRules[path]
		methods, ok := byType[tn]
		if !ok {
			methods = byType[all]
		}
		op = fn.Pkg().Name() + "." + tn + "." + name
		if c, ok := ruleFor(methods, name); ok {
			return op, c, true
		}
		if isIOPackage(path) {
			return op, catIO, true
		}
		return "", 0, false
	}
	op = fn.Pkg().Name() + "." + name
	switch {
	case path == "math/rand" || path == "math/rand/v2":
		if seededRandConstructors[name] {
			return "", 0, false
		}
		return op, catRandom, true
	case uuidPackages[path]:
		if strings.HasPrefix(name, "New") && !nameBasedUUID[name] {
			return op, catGUID, true
		}
		if name == "GenerateUUID" || name == "GenerateRandomBytes" { // hashicorp/go-uuid
			return op, catGUID, true
		}
		return "", 0, false
	}
	if c, ok := ruleFor(funcRules[path], name); ok {
		return op, c, true
	}
	if isIOPackage(path) {
		return op, catIO, true
	}
	return "", 0, false
}

// ruleFor returns the category rules give name, or the one they give all.
func ruleFor(rules map[string]category, name string) (category, bool) {
	if c, ok := rules[name]; ok {
		return c, true
	}
	c, ok := rules[all]
	return c, ok
}

// classifyVar reports whether reading the package-level variable v is
// non-deterministic.
func classifyVar(v *types.Var) (op string, cat category, banned bool) {
	if v.Pkg() == nil {
		return "", 0, false
	}
	if c, ok := varRules[v.Pkg().Path()][v.Name()]; ok {
		return v.Pkg().Name() + "." + v.Name(), c, true
	}
	return "", 0, false
}

// recvTypeName returns the name of a method receiver's named type, through
// a pointer and aliases ("" when it has none).
func recvTypeName(t types.Type) string {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}
