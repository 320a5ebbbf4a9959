package main

import (
	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/server"
	"github.com/feedbackhub/feedbackhub/triage"
)

// statusCmd prints per-source health, the outbox, SLA risks and unknown partners.
func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show connector health, outbox depth and dead letters, SLA risks and unknown partners",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
			if err != nil {
				return err
			}
			st, err := server.BuildStatus(cmd.Context(), p, engine, a.clock.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.out, st)
			}
			return st.Write(a.out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
