package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/server"
)

// serveCmd runs the service until SIGTERM or SIGINT; SIGHUP reloads the rules.
func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service: webhooks, JSON API, metrics, and the scheduled jobs",
		Long: `Serve runs the HTTP server (webhooks, /api/v1, /metrics, /healthz, /readyz) and the
background jobs on River: source polls, clustering and rules, SLA clocks and
escalations, outbox delivery, ticket status back and the weekly digest. It refuses a
bad config or a schema that is behind. SIGTERM/SIGINT stop it gracefully; SIGHUP
reloads the rules file (a bad file keeps the rules in use).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			p, err := a.pipeline(ctx)
			if err != nil {
				return err
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			svc, err := server.NewService(p, server.Options{Reload: hup})
			if err != nil {
				return err
			}
			return svc.Run(ctx)
		},
	}
}
