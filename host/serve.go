package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/funchost/funchost/host/httpserver"
)

// serve serves the main listener (and the loopback one when set) until ctx
// ends or a server fails, then drains: in-flight HTTP requests first, then
// the timer and queue invocations, then the durable side's work items, all
// within Options.ShutdownTimeout.
//
// The main listener is already served by boot (since start-up, with the
// real handler since Run swapped it in).
func serve(ctx context.Context, opts Options, log *slog.Logger, ln net.Listener, boot *bootServer, local *localEndpoint, trig *triggerSide, d *durableSide) error {
	hs, errc := boot.hs, boot.errc
	if local != nil {
		go func() { errc <- local.srv.Serve(httpserver.GuardFraming(local.ln)) }()
	}
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("Stopping the host: draining in-flight requests and work items", "timeout", opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := hs.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("draining HTTP requests: %w", err))
	}
	if local != nil {
		if err := local.srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("draining the local management endpoint: %w", err))
		}
	}
	if err := trig.stop(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := d.stop(sctx); err != nil {
		errs = append(errs, err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serving HTTP: %w", serveErr))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	log.Info("Host stopped")
	return nil
}
