package determinism

import (
	"fmt"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

// FactFilter forwards analysistest's complaints except those about the
// summaries and method sets the analyzer exports as facts: they are an
// implementation detail, checked through the diagnostics they produce.
type FactFilter struct{ T *testing.T }

func (f FactFilter) Errorf(format string, args ...any) {
	f.T.Helper()
	if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unexpected fact:") {
		f.T.Error(msg)
	}
}

// fakeFunc builds a function (recv == "") or a method of *recv in a
// package that need not be downloaded: the rules go by import path and
// names only.
func fakeFunc(path, pkgName, recv, name string) *types.Func {
	pkg := types.NewPackage(path, pkgName)
	var rv *types.Var
	if recv != "" {
		tn := types.NewTypeName(token.NoPos, pkg, recv, nil)
		named := types.NewNamed(tn, types.NewStruct(nil, nil), nil)
		rv = types.NewVar(token.NoPos, pkg, "r", types.NewPointer(named))
	}
	return types.NewFunc(token.NoPos, pkg, name, types.NewSignatureType(rv, nil, nil, nil, nil, false))
}

// TestClassifyLibraries checks the rules for libraries the test module
// cannot download (the Azure SDK and x/sync are exercised for real in
// testdata): each well-known client is I/O, their pure sub-packages are
// not, and goroutine-starting libraries are concurrency.
func TestClassifyLibraries(t *testing.T) {
	tests := []struct {
		path, pkg, recv, name string
		wantOp                string // "" for not reported
		wantCat               category
	}{
		{"google.golang.org/grpc", "grpc", "ClientConn", "Invoke", "grpc.ClientConn.Invoke", catIO},
		{"google.golang.org/grpc", "grpc", "", "NewClient", "grpc.NewClient", catIO},
		{"google.golang.org/grpc/status", "status", "", "Code", "", 0},
		{"google.golang.org/grpc/codes", "codes", "Code", "String", "", 0},
		{"github.com/redis/go-redis/v9", "redis", "Client", "Get", "redis.Client.Get", catIO},
		{"github.com/redis/go-redisx", "redisx", "Client", "Get", "", 0}, // a prefix must end at a path element
		{"github.com/aws/aws-sdk-go-v2/service/s3", "s3", "Client", "GetObject", "s3.Client.GetObject", catIO},
		{"github.com/aws/aws-sdk-go-v2/config", "config", "", "LoadDefaultConfig", "config.LoadDefaultConfig", catIO},
		{"github.com/aws/aws-sdk-go-v2/aws", "aws", "", "String", "", 0},
		{"cloud.google.com/go/storage", "storage", "ObjectHandle", "NewReader", "storage.ObjectHandle.NewReader", catIO},
		{"cloud.google.com/go/civil", "civil", "", "DateOf", "", 0},
		{"github.com/jackc/pgx/v5", "pgx", "", "Connect", "pgx.Connect", catIO},
		{"go.mongodb.org/mongo-driver/v2/mongo", "mongo", "Collection", "FindOne", "mongo.Collection.FindOne", catIO},
		{"github.com/segmentio/kafka-go", "kafka", "Writer", "WriteMessages", "kafka.Writer.WriteMessages", catIO},
		{"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus", "azservicebus", "Sender", "SendMessage", "azservicebus.Sender.SendMessage", catIO},
		{"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos", "azcosmos", "ContainerClient", "ReadItem", "azcosmos.ContainerClient.ReadItem", catIO},
		{"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror", "bloberror", "", "HasCode", "", 0},
		{"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas", "sas", "BlobSignatureValues", "SignWithSharedKey", "", 0},
		{"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime", "runtime", "Pager", "NextPage", "runtime.Pager.NextPage", catIO},
		{"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime", "runtime", "Pager", "More", "", 0},
		{"github.com/Azure/azure-sdk-for-go/sdk/azcore/to", "to", "", "Ptr", "", 0},
		{"github.com/sourcegraph/conc", "conc", "WaitGroup", "Go", "conc.WaitGroup.Go", catGoroutine},
		{"github.com/sourcegraph/conc", "conc", "WaitGroup", "Wait", "conc.WaitGroup.Wait", catSync},
		{"github.com/sourcegraph/conc/pool", "pool", "ResultPool", "Go", "pool.ResultPool.Go", catGoroutine},
		{"github.com/sourcegraph/conc/iter", "iter", "", "ForEach", "iter.ForEach", catGoroutine},
		{"github.com/panjf2000/ants/v2", "ants", "Pool", "Submit", "ants.Pool.Submit", catGoroutine},
		{"github.com/panjf2000/ants/v2", "ants", "", "Submit", "ants.Submit", catGoroutine},
		{"github.com/alitto/pond/v2", "pond", "Pool", "Go", "pond.Pool.Go", catGoroutine},
		{"golang.org/x/sync/semaphore", "semaphore", "Weighted", "Acquire", "semaphore.Weighted.Acquire", catSync},
		{"golang.org/x/sync/singleflight", "singleflight", "Group", "Do", "singleflight.Group.Do", catSync},
		{"runtime", "runtime", "", "NumCPU", "runtime.NumCPU", catEnv},
		{"runtime", "runtime", "", "GC", "", 0},
		{"syscall", "syscall", "", "Getpid", "syscall.Getpid", catEnv},
		{"syscall", "syscall", "", "Kill", "syscall.Kill", catFile},
	}
	for _, tt := range tests {
		t.Run(tt.path+"."+tt.recv+"."+tt.name, func(t *testing.T) {
			op, cat, banned := classifyFunc(fakeFunc(tt.path, tt.pkg, tt.recv, tt.name))
			switch {
			case tt.wantOp == "" && banned:
				t.Fatalf("reported as %q (category %d), want not reported", op, cat)
			case tt.wantOp != "" && (!banned || op != tt.wantOp || cat != tt.wantCat):
				t.Fatalf("got %q category %d banned=%v, want %q category %d", op, cat, banned, tt.wantOp, tt.wantCat)
			}
		})
	}
}

// TestIOPackagesFlag checks that -io-packages adds packages to the list:
// testdata/ioflag is clean without it (TestCommand) and has its finding
// with it.
func TestIOPackagesFlag(t *testing.T) {
	t.Cleanup(func() { extraIOPackages = nil })
	if err := Analyzer.Flags.Set("io-packages", " example.com/nowhere , example.com/dvtest/ioflag/kv/..."); err != nil {
		t.Fatal(err)
	}
	if got := extraIOPackages.String(); got != "example.com/nowhere,example.com/dvtest/ioflag/kv" {
		t.Fatalf("flag parsed as %q", got)
	}
	if err := Analyzer.Flags.Set("io-packages", "bad path"); err == nil {
		t.Fatal("a path with a space was accepted")
	}
	analysistest.Run(FactFilter{t}, analysistest.TestData(), Analyzer, "./ioflag")
}

// TestIOPackagesDocumented keeps docs/durablevet.md's I/O package list in
// step with the code.
func TestIOPackagesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "durablevet.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(append([]string(nil), IOPackages...), PureSubpackages...) {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/durablevet.md does not list `%s`", p)
		}
	}
}
