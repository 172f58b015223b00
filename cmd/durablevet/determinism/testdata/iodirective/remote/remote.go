//durablevet:io every call goes to the remote service
package remote

// Call calls the remote service.
func Call() error { return nil }

// Client is the remote service's client.
type Client struct{}

// Do calls the remote service.
func (Client) Do() error { return nil }
