package azurestorage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Connection says where a task hub's storage account is and how to
// authenticate. Build it with ResolveConnection or ParseConnectionString.
type Connection struct {
	// AccountName is the storage account name (may be empty with explicit
	// endpoints and a SAS).
	AccountName string
	// TableServiceURL, QueueServiceURL and BlobServiceURL are the service
	// endpoints without a trailing slash or query, e.g.
	// https://acct.table.core.windows.net or
	// http://127.0.0.1:10002/devstoreaccount1.
	TableServiceURL string
	QueueServiceURL string
	BlobServiceURL  string
	// AccountKey authenticates with the shared key when set.
	AccountKey string
	// SAS is a shared access signature (query string without '?') used
	// when AccountKey is empty.
	SAS string
	// Credential authenticates with Microsoft Entra ID (identity-based
	// connections) when AccountKey and SAS are empty.
	Credential azcore.TokenCredential
}

// Well-known Azurite development account.
const (
	devAccountName = "devstoreaccount1"
	devAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DefaultConnectionName is the connection name Durable Functions uses when
// none is configured; it resolves the AzureWebJobsStorage setting.
const DefaultConnectionName = "Storage"

// ResolveConnection resolves a connection name from app settings the way
// Azure Functions does. For name X it looks at AzureWebJobsX, then X (a name
// that already starts with AzureWebJobs is looked up as is): a non-empty
// value is a connection string. Otherwise identity-based settings with the
// prefix "<setting>__" are used: accountName, tableServiceUri,
// queueServiceUri, blobServiceUri (or serviceUri), credential
// ("managedidentity", with clientId), tenantId/clientId/clientSecret. An
// empty name means DefaultConnectionName.
func ResolveConnection(name string, lookup func(key string) (string, bool)) (Connection, error) {
	if name == "" {
		name = DefaultConnectionName
	}
	var candidates []string
	if strings.HasPrefix(strings.ToLower(name), "azurewebjobs") {
		candidates = []string{name}
	} else {
		candidates = []string{"AzureWebJobs" + name, name}
	}
	for _, key := range candidates {
		if v, ok := lookup(key); ok && strings.TrimSpace(v) != "" {
			c, err := ParseConnectionString(v)
			if err != nil {
				return Connection{}, fmt.Errorf("azurestorage: connection %q (setting %s): %w", name, key, err)
			}
			return c, nil
		}
	}
	for _, key := range candidates {
		c, ok, err := identityConnection(key, lookup)
		if err != nil {
			return Connection{}, fmt.Errorf("azurestorage: connection %q (settings %s__*): %w", name, key, err)
		}
		if ok {
			return c, nil
		}
	}
	return Connection{}, fmt.Errorf("azurestorage: connection %q is not configured: set %s to a connection string or %s__accountName / %s__*ServiceUri for an identity-based connection",
		name, candidates[0], candidates[0], candidates[0])
}

func identityConnection(prefix string, lookup func(string) (string, bool)) (Connection, bool, error) {
	get := func(k string) string {
		v, _ := lookup(prefix + "__" + k)
		return strings.TrimSpace(v)
	}
	account := get("accountName")
	c := Connection{
		AccountName:     account,
		TableServiceURL: trimURL(get("tableServiceUri")),
		QueueServiceURL: trimURL(get("queueServiceUri")),
		BlobServiceURL:  trimURL(get("blobServiceUri")),
	}
	if c.BlobServiceURL == "" {
		c.BlobServiceURL = trimURL(get("serviceUri"))
	}
	if account == "" && c.TableServiceURL == "" && c.QueueServiceURL == "" && c.BlobServiceURL == "" {
		return Connection{}, false, nil
	}
	if account != "" {
		for _, f := range []struct {
			dst *string
			svc string
		}{{&c.TableServiceURL, "table"}, {&c.QueueServiceURL, "queue"}, {&c.BlobServiceURL, "blob"}} {
			if *f.dst == "" {
				*f.dst = fmt.Sprintf("https://%s.%s.core.windows.net", account, f.svc)
			}
		}
	}
	if c.TableServiceURL == "" || c.QueueServiceURL == "" || c.BlobServiceURL == "" {
		return Connection{}, false, errors.New("identity-based connection needs accountName or all of tableServiceUri, queueServiceUri and blobServiceUri")
	}
	cred, err := identityCredential(get("credential"), get("clientId"), get("tenantId"), get("clientSecret"))
	if err != nil {
		return Connection{}, false, err
	}
	c.Credential = cred
	return c, true, nil
}

func identityCredential(kind, clientID, tenantID, secret string) (azcore.TokenCredential, error) {
	switch {
	case strings.EqualFold(kind, "managedidentity"):
		var opts azidentity.ManagedIdentityCredentialOptions
		if clientID != "" {
			opts.ID = azidentity.ClientID(clientID)
		}
		return azidentity.NewManagedIdentityCredential(&opts)
	case kind != "":
		return nil, fmt.Errorf("unsupported credential %q (only managedidentity)", kind)
	case tenantID != "" && clientID != "" && secret != "":
		return azidentity.NewClientSecretCredential(tenantID, clientID, secret, nil)
	default:
		var opts azidentity.DefaultAzureCredentialOptions
		if tenantID != "" {
			opts.TenantID = tenantID
		}
		return azidentity.NewDefaultAzureCredential(&opts)
	}
}

// ParseConnectionString parses an Azure Storage connection string:
// UseDevelopmentStorage=true, or AccountName/AccountKey (or
// SharedAccessSignature) with DefaultEndpointsProtocol, EndpointSuffix and
// explicit BlobEndpoint/QueueEndpoint/TableEndpoint entries.
func ParseConnectionString(s string) (Connection, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Connection{}, fmt.Errorf("malformed connection string entry %q", redact(part))
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		host := "http://127.0.0.1"
		if p := kv["developmentstorageproxyuri"]; p != "" {
			host = strings.TrimRight(p, "/")
		}
		return Connection{
			AccountName:     devAccountName,
			AccountKey:      devAccountKey,
			BlobServiceURL:  host + ":10000/" + devAccountName,
			QueueServiceURL: host + ":10001/" + devAccountName,
			TableServiceURL: host + ":10002/" + devAccountName,
		}, nil
	}
	c := Connection{
		AccountName:     kv["accountname"],
		AccountKey:      kv["accountkey"],
		SAS:             strings.TrimPrefix(kv["sharedaccesssignature"], "?"),
		BlobServiceURL:  trimURL(kv["blobendpoint"]),
		QueueServiceURL: trimURL(kv["queueendpoint"]),
		TableServiceURL: trimURL(kv["tableendpoint"]),
	}
	proto := kv["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := kv["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	for _, f := range []struct {
		dst *string
		svc string
	}{{&c.TableServiceURL, "table"}, {&c.QueueServiceURL, "queue"}, {&c.BlobServiceURL, "blob"}} {
		if *f.dst == "" {
			if c.AccountName == "" {
				return Connection{}, fmt.Errorf("connection string has neither AccountName nor %sEndpoint", strings.ToUpper(f.svc[:1])+f.svc[1:])
			}
			*f.dst = fmt.Sprintf("%s://%s.%s.%s", proto, c.AccountName, f.svc, suffix)
		}
	}
	if c.AccountKey == "" && c.SAS == "" {
		return Connection{}, errors.New("connection string has neither AccountKey nor SharedAccessSignature")
	}
	if c.AccountKey != "" && c.AccountName == "" {
		return Connection{}, errors.New("connection string has an AccountKey but no AccountName")
	}
	return c, nil
}

func trimURL(u string) string { return strings.TrimRight(u, "/") }

// redact hides secrets in error messages.
func redact(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
