package azurestorage

import (
	"strings"
	"testing"
)

func TestResolveConnection(t *testing.T) {
	const key = "a2V5a2V5a2V5"
	tests := []struct {
		name     string
		conn     string
		settings map[string]string
		wantErr  string
		check    func(t *testing.T, c Connection)
	}{
		{
			name:     "default name reads AzureWebJobsStorage",
			settings: map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
			check: func(t *testing.T, c Connection) {
				if c.AccountName != devAccountName || c.AccountKey != devAccountKey ||
					c.BlobServiceURL != "http://127.0.0.1:10000/devstoreaccount1" ||
					c.QueueServiceURL != "http://127.0.0.1:10001/devstoreaccount1" ||
					c.TableServiceURL != "http://127.0.0.1:10002/devstoreaccount1" {
					t.Errorf("development storage = %+v", c)
				}
			},
		},
		{
			name:     "custom name prefers AzureWebJobs prefix",
			conn:     "MyStorage",
			settings: map[string]string{"AzureWebJobsMyStorage": "AccountName=pref;AccountKey=" + key, "MyStorage": "AccountName=plain;AccountKey=" + key},
			check: func(t *testing.T, c Connection) {
				if c.AccountName != "pref" {
					t.Errorf("account = %q, want pref", c.AccountName)
				}
			},
		},
		{
			name:     "custom name falls back to the bare setting",
			conn:     "MyStorage",
			settings: map[string]string{"MyStorage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.chinacloudapi.cn"},
			check: func(t *testing.T, c Connection) {
				if c.TableServiceURL != "https://acct.table.core.chinacloudapi.cn" || c.QueueServiceURL != "https://acct.queue.core.chinacloudapi.cn" ||
					c.BlobServiceURL != "https://acct.blob.core.chinacloudapi.cn" || c.AccountKey != key {
					t.Errorf("connection = %+v", c)
				}
			},
		},
		{
			name:     "name already starting with AzureWebJobs",
			conn:     "AzureWebJobsStorage",
			settings: map[string]string{"AzureWebJobsStorage": "AccountName=x;AccountKey=" + key},
			check: func(t *testing.T, c Connection) {
				if c.AccountName != "x" {
					t.Errorf("account = %q", c.AccountName)
				}
			},
		},
		{
			name: "explicit endpoints and SAS",
			settings: map[string]string{"AzureWebJobsStorage": "BlobEndpoint=https://b.example/;QueueEndpoint=https://q.example;" +
				"TableEndpoint=https://t.example;SharedAccessSignature=?sv=2022&sig=abc"},
			check: func(t *testing.T, c Connection) {
				if c.BlobServiceURL != "https://b.example" || c.QueueServiceURL != "https://q.example" || c.TableServiceURL != "https://t.example" ||
					c.SAS != "sv=2022&sig=abc" || c.AccountKey != "" {
					t.Errorf("connection = %+v", c)
				}
			},
		},
		{
			name: "Azurite with explicit ports",
			settings: map[string]string{"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + devAccountKey +
				";BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:2/devstoreaccount1;TableEndpoint=http://127.0.0.1:3/devstoreaccount1;"},
			check: func(t *testing.T, c Connection) {
				if c.TableServiceURL != "http://127.0.0.1:3/devstoreaccount1" || c.AccountName != devAccountName {
					t.Errorf("connection = %+v", c)
				}
			},
		},
		{
			name:     "identity: account name with managed identity",
			settings: map[string]string{"AzureWebJobsStorage__accountName": "idacct", "AzureWebJobsStorage__credential": "managedidentity", "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001"},
			check: func(t *testing.T, c Connection) {
				if c.Credential == nil || c.AccountKey != "" || c.QueueServiceURL != "https://idacct.queue.core.windows.net" {
					t.Errorf("connection = %+v", c)
				}
			},
		},
		{
			name: "identity: service URIs with client secret",
			conn: "Custom",
			settings: map[string]string{"Custom__tableServiceUri": "https://t.example/", "Custom__queueServiceUri": "https://q.example",
				"Custom__blobServiceUri": "https://b.example", "Custom__tenantId": "tenant", "Custom__clientId": "client", "Custom__clientSecret": "secret"},
			check: func(t *testing.T, c Connection) {
				if c.Credential == nil || c.TableServiceURL != "https://t.example" || c.BlobServiceURL != "https://b.example" {
					t.Errorf("connection = %+v", c)
				}
			},
		},
		{
			name:     "identity: default credential",
			settings: map[string]string{"AzureWebJobsStorage__accountName": "acct"},
			check: func(t *testing.T, c Connection) {
				if c.Credential == nil {
					t.Error("no credential")
				}
			},
		},
		{name: "missing", settings: map[string]string{}, wantErr: "not configured"},
		{name: "no key", settings: map[string]string{"AzureWebJobsStorage": "AccountName=x"}, wantErr: "neither AccountKey"},
		{name: "malformed", settings: map[string]string{"AzureWebJobsStorage": "garbage"}, wantErr: "malformed"},
		{name: "unknown credential", settings: map[string]string{"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__credential": "magic"}, wantErr: "unsupported credential"},
		{name: "partial service URIs", settings: map[string]string{"AzureWebJobsStorage__queueServiceUri": "https://q"}, wantErr: "needs accountName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ResolveConnection(tt.conn, func(k string) (string, bool) { v, ok := tt.settings[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestValidateTaskHubName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"MyHub", true}, {"abc", true}, {"a" + strings.Repeat("1", 44), true},
		{"ab", false}, {"1hub", false}, {"my-hub", false}, {"my_hub", false}, {"", false},
		{"a" + strings.Repeat("1", 45), false},
	}
	for _, tt := range tests {
		if err := ValidateTaskHubName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateTaskHubName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := New(t.Context(), Options{TaskHubName: "bad-name"}); err == nil || !strings.Contains(err.Error(), "invalid task hub name") {
		t.Errorf("New with a bad name = %v", err)
	}
}

func TestSanitizeKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a/b\\c#d?e^f", "a^0b^1c^2d^3e^^f"},
		{"tab\there", "tab^\u00c9here"},
		{"@counter@key1", "@counter@key1"},
	}
	for _, tt := range tests {
		if got := sanitizeKey(tt.in); got != tt.want {
			t.Errorf("sanitizeKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := unsanitizeKey(sanitizeKey(tt.in)); back != tt.in {
			t.Errorf("unsanitizeKey(sanitizeKey(%q)) = %q", tt.in, back)
		}
	}
}

func TestResourceNames(t *testing.T) {
	n := newResourceNames("MyHub", 3)
	want := []string{"MyHubInstances", "MyHubHistory", "myhub-control-00", "myhub-control-02", "myhub-workitems", "myhub-leases", "myhub-largemessages"}
	got := []string{n.instancesTable, n.historyTable, n.controlQueues[0], n.controlQueues[2], n.workItemQueue, n.leaseContainer, n.largeContainer}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("name %d = %q, want %q", i, got[i], want[i])
		}
	}
}
