package determinism

import (
	"fmt"
	"strings"
)

// IODirective marks code of the analysed module as I/O: calling it from
// orchestrator code is reported, whatever its body does. It goes in the
// doc comment of a function, a method, a type (all its methods, or every
// method of an interface), an interface method, or the package clause (the
// whole package).
const IODirective = "//durablevet:io"

// IOPackages are the import paths of well-known network, storage and
// database client libraries. Every function and method of these packages,
// and of the packages below them, is I/O when orchestrator code calls it
// (types, constants and option structs are fine). The standard library's
// clients (net, net/http, database/sql, os) have finer rules of their own.
// The -io-packages flag adds to the list; docs/durablevet.md lists it.
var IOPackages = []string{
	// Azure SDK for Go: storage, tables and Cosmos DB, messaging, Key
	// Vault, identity (token requests), management, monitoring and AI.
	"github.com/Azure/azure-sdk-for-go/sdk/storage",
	"github.com/Azure/azure-sdk-for-go/sdk/data",
	"github.com/Azure/azure-sdk-for-go/sdk/messaging",
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault",
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity",
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager",
	"github.com/Azure/azure-sdk-for-go/sdk/monitor",
	"github.com/Azure/azure-sdk-for-go/sdk/ai",
	"github.com/Azure/azure-sdk-for-go/storage",
	"github.com/Azure/azure-storage-blob-go",
	"github.com/Azure/azure-storage-queue-go",
	"github.com/Azure/azure-storage-file-go",
	// AWS and Google Cloud.
	"github.com/aws/aws-sdk-go-v2/service",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/credentials",
	"github.com/aws/aws-sdk-go-v2/feature",
	"github.com/aws/aws-sdk-go/service",
	"github.com/aws/aws-sdk-go/aws/session",
	"cloud.google.com/go/storage",
	"cloud.google.com/go/pubsub",
	"cloud.google.com/go/firestore",
	"cloud.google.com/go/bigquery",
	"cloud.google.com/go/spanner",
	"cloud.google.com/go/datastore",
	"cloud.google.com/go/bigtable",
	"cloud.google.com/go/secretmanager",
	"google.golang.org/api",
	// RPC and HTTP clients.
	"google.golang.org/grpc",
	"github.com/go-resty/resty",
	"github.com/hashicorp/go-retryablehttp",
	"github.com/valyala/fasthttp",
	// Caches, key-value and search stores.
	"github.com/redis/go-redis",
	"github.com/go-redis/redis",
	"github.com/gomodule/redigo",
	"github.com/redis/rueidis",
	"github.com/bradfitz/gomemcache",
	"go.etcd.io/etcd/client",
	"github.com/hashicorp/consul/api",
	"github.com/hashicorp/vault/api",
	"github.com/elastic/go-elasticsearch",
	"github.com/minio/minio-go",
	// SQL drivers and ORMs, document and wide-column databases.
	"github.com/jackc/pgx",
	"github.com/lib/pq",
	"github.com/go-sql-driver/mysql",
	"github.com/mattn/go-sqlite3",
	"modernc.org/sqlite",
	"github.com/microsoft/go-mssqldb",
	"github.com/denisenkom/go-mssqldb",
	"github.com/jmoiron/sqlx",
	"gorm.io/gorm",
	"github.com/uptrace/bun",
	"go.mongodb.org/mongo-driver",
	"github.com/gocql/gocql",
	// Message brokers.
	"github.com/segmentio/kafka-go",
	"github.com/IBM/sarama",
	"github.com/Shopify/sarama",
	"github.com/confluentinc/confluent-kafka-go",
	"github.com/nats-io/nats.go",
	"github.com/rabbitmq/amqp091-go",
	"github.com/streadway/amqp",
}

// PureSubpackages lie under IOPackages but do no I/O: error
// classification, SAS signing, status codes and metadata.
var PureSubpackages = []string{
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azfile/fileerror",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azfile/sas",
	"google.golang.org/grpc/codes",
	"google.golang.org/grpc/status",
	"google.golang.org/grpc/metadata",
}

// extraIOPackages holds the -io-packages flag: more I/O packages, set once
// before the analysis starts.
var extraIOPackages pathList

func init() {
	Analyzer.Flags.Var(&extraIOPackages, "io-packages",
		"comma-separated import paths (a path covers the packages below it; a trailing /... is allowed) "+
			"whose functions and methods count as I/O, in addition to durablevet's list")
}

// pathList is a flag.Value of comma-separated import paths; repeating the
// flag adds to the list.
type pathList []string

func (l *pathList) String() string { return strings.Join(*l, ",") }

func (l *pathList) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSuffix(strings.TrimSpace(p), "/...")
		if p == "" {
			continue
		}
		if strings.ContainsAny(p, " \t\"") {
			return fmt.Errorf("invalid import path %q", p)
		}
		*l = append(*l, p)
	}
	return nil
}

// isIOPackage reports whether path is an I/O client package: in or under
// an entry of IOPackages or -io-packages, and not a pure sub-package.
func isIOPackage(path string) bool {
	for _, p := range PureSubpackages {
		if underPath(path, p) {
			return false
		}
	}
	for _, list := range [][]string{IOPackages, extraIOPackages} {
		for _, p := range list {
			if underPath(path, p) {
				return true
			}
		}
	}
	return false
}

// underPath reports whether path is prefix or a package below it.
func underPath(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
