// Command feedbackhub turns scattered design-partner feedback into a tracked loop:
// it ingests GitHub, Jira, a support inbox, partner webhooks and file imports,
// clusters and classifies what it gets, keeps SLAs and a decision log, and syncs
// accepted work to tickets. Run `feedbackhub --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
