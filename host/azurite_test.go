package host

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the sample app's command for TestMainCommand.
	if os.Getenv(envRunMain) == "1" {
		os.Args = append([]string{"samples"}, strings.Fields(os.Getenv(envMainArgs))...)
		Main(sampleApp())
		return
	}
	azuritetest.Main(m)
}

// TestSampleAppEndToEndAzurite runs the real sample app on the Azure
// Storage provider against a private Azurite.
func TestSampleAppEndToEndAzurite(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AzureWebJobsStorage": azuritetest.ConnectionString(t),
		// A fresh hub per run keeps reruns against a shared account apart.
		"AzureFunctionsJobHost__extensions__durableTask__hubName": fmt.Sprintf("HostTest%d", time.Now().UnixNano()%1_000_000_000),
		// Short polling keeps the test quick on an idle emulator.
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval": "00:00:01",
	}
	h := start(t, sampleApp(), repoRoot(t), env)
	runHelloSequence(t, h.base)
	if err := h.stop(); err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
}
