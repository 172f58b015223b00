package azuritetest

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartRestartStop(t *testing.T) {
	s, err := Start(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.BlobPort == 0 || s.QueuePort == 0 || s.TablePort == 0 {
		t.Fatalf("ports not reported: %+v", s)
	}
	cs := s.ConnectionString()
	for _, want := range []string{fmt.Sprintf("QueueEndpoint=http://127.0.0.1:%d/devstoreaccount1", s.QueuePort), "AccountName=devstoreaccount1"} {
		if !strings.Contains(cs, want) {
			t.Errorf("connection string %q lacks %q", cs, want)
		}
	}
	port := s.TablePort
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.TablePort != port {
		t.Errorf("restart moved the table port from %d to %d", port, s.TablePort)
	}
	s.Stop()
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", port)
	}
}

func TestSharedConnectionString(t *testing.T) {
	a := ConnectionString(t)
	b := ConnectionString(t)
	if a != b || !strings.Contains(a, "TableEndpoint=") {
		t.Errorf("shared connection strings differ or are malformed: %q %q", a, b)
	}
}
